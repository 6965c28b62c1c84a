"""URLs of pipelines, included at the site root by d2d/urls.py (each path is written out in full)."""

from django.urls import path

from pipelines.api import views
from pipelines.models import Destination, Source

P = "api/v1/project/<str:projectid>/"

urlpatterns = [
    path(P + "sources/spec", views.ConnectorSpecView.as_view(kind="source"), name="olake-source-spec"),
    path(P + "sources/test", views.ConnectorTestView.as_view(model=Source), name="olake-source-test"),
    path(P + "sources", views.ConnectorListView.as_view(model=Source), name="olake-sources"),
    path(P + "sources/<int:pk>", views.ConnectorDetailView.as_view(model=Source), name="olake-source"),
    path(P + "destinations/spec", views.ConnectorSpecView.as_view(kind="destination"), name="olake-destination-spec"),
    path(P + "destinations/test", views.ConnectorTestView.as_view(model=Destination), name="olake-destination-test"),
    path(P + "destinations", views.ConnectorListView.as_view(model=Destination), name="olake-destinations"),
    path(P + "destinations/<int:pk>", views.ConnectorDetailView.as_view(model=Destination), name="olake-destination"),
    path(P + "source/streams", views.StreamsView.as_view(), name="olake-source-streams"),
    path(P + "sources/streams", views.StreamsView.as_view(), name="olake-sources-streams"),
    path(P + "jobs", views.JobListView.as_view(), name="olake-jobs"),
    path(P + "jobs/<int:pk>", views.JobDetailView.as_view(), name="olake-job"),
    path(P + "jobs/<int:pk>/sync", views.JobSyncView.as_view(), name="olake-job-sync"),
    path(P + "jobs/<int:pk>/activate", views.JobActivateView.as_view(), name="olake-job-activate"),
    path(P + "jobs/<int:pk>/cancel", views.JobCancelView.as_view(), name="olake-job-cancel"),
    path(P + "jobs/<int:pk>/tasks", views.JobTasksView.as_view(), name="olake-job-tasks"),
    path(P + "jobs/<int:pk>/task/<int:task_id>/logs", views.TaskLogsView.as_view(), name="olake-task-logs"),
    path(P + "jobs/<int:pk>/tasks/<int:task_id>/logs", views.TaskLogsView.as_view()),
    path(P + "jobs/<int:pk>/task/<int:task_id>/logs/download", views.TaskLogsDownloadView.as_view(), name="olake-task-logs-download"),
    path(P + "jobs/<int:pk>/tasks/<int:task_id>/logs/download", views.TaskLogsDownloadView.as_view()),
]
