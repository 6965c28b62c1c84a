"""URLs of pipelines, included at the site root by d2d/urls.py (each path is written out in full)."""

from django.urls import path

from pipelines.api.views import connectors, iceberg_rest, jobs, logs
from pipelines.models import Destination, Source

P = "api/v1/project/<str:projectid>/"
# The project's Iceberg catalog over the Iceberg REST protocol: a client's URI is P + "iceberg".
I = P + "iceberg/v1/"

urlpatterns = [
    path(P + "sources/spec", connectors.ConnectorSpecView.as_view(kind="source"), name="olake-source-spec"),
    path(P + "sources/test", connectors.ConnectorTestView.as_view(model=Source), name="olake-source-test"),
    path(P + "sources/versions", connectors.ConnectorVersionsView.as_view(kind="source"), name="olake-source-versions"),
    path(P + "sources", connectors.ConnectorListView.as_view(model=Source), name="olake-sources"),
    path(P + "sources/<int:pk>", connectors.ConnectorDetailView.as_view(model=Source), name="olake-source"),
    path(P + "destinations/spec", connectors.ConnectorSpecView.as_view(kind="destination"), name="olake-destination-spec"),
    path(P + "destinations/test", connectors.ConnectorTestView.as_view(model=Destination), name="olake-destination-test"),
    path(
        P + "destinations/versions", connectors.ConnectorVersionsView.as_view(kind="destination"), name="olake-destination-versions"
    ),
    path(P + "destinations", connectors.ConnectorListView.as_view(model=Destination), name="olake-destinations"),
    path(P + "destinations/<int:pk>", connectors.ConnectorDetailView.as_view(model=Destination), name="olake-destination"),
    path(P + "source/streams", connectors.StreamsView.as_view(), name="olake-source-streams"),
    path(P + "sources/streams", connectors.StreamsView.as_view(), name="olake-sources-streams"),
    path(P + "check-unique", connectors.CheckUniqueView.as_view(), name="olake-check-unique"),
    path(P + "jobs", jobs.JobListView.as_view(), name="olake-jobs"),
    path(P + "jobs/<int:pk>", jobs.JobDetailView.as_view(), name="olake-job"),
    path(P + "jobs/<int:pk>/sync", jobs.JobSyncView.as_view(), name="olake-job-sync"),
    path(P + "jobs/<int:pk>/activate", jobs.JobActivateView.as_view(), name="olake-job-activate"),
    path(P + "jobs/<int:pk>/cancel", jobs.JobCancelView.as_view(), name="olake-job-cancel"),
    path(P + "jobs/<int:pk>/tasks", jobs.JobTasksView.as_view(), name="olake-job-tasks"),
    path(P + "jobs/<int:pk>/clear-destination", jobs.JobClearDestinationView.as_view(), name="olake-job-clear-destination"),
    path(P + "jobs/<int:pk>/stream-difference", jobs.JobStreamDifferenceView.as_view(), name="olake-job-stream-difference"),
    path(P + "jobs/<int:pk>/task/<int:task_id>/logs", logs.TaskLogsView.as_view(), name="olake-task-logs"),
    path(P + "jobs/<int:pk>/tasks/<int:task_id>/logs", logs.TaskLogsView.as_view()),
    path(P + "jobs/<int:pk>/task/<int:task_id>/logs/download", logs.TaskLogsDownloadView.as_view(), name="olake-task-logs-download"),
    path(P + "jobs/<int:pk>/tasks/<int:task_id>/logs/download", logs.TaskLogsDownloadView.as_view()),
    path(P + "jobs/<int:pk>/logs/download", logs.JobLogsArchiveView.as_view(), name="olake-job-logs-download"),
    path(I + "config", iceberg_rest.ConfigView.as_view(), name="iceberg-config"),
    path(I + "<str:prefix>/namespaces", iceberg_rest.NamespacesView.as_view(), name="iceberg-namespaces"),
    path(I + "<str:prefix>/namespaces/<str:namespace>", iceberg_rest.NamespaceView.as_view(), name="iceberg-namespace"),
    path(I + "<str:prefix>/namespaces/<str:namespace>/tables", iceberg_rest.TablesView.as_view(), name="iceberg-tables"),
    path(I + "<str:prefix>/namespaces/<str:namespace>/tables/<str:table>", iceberg_rest.TableView.as_view(), name="iceberg-table"),
    path(I + "<str:prefix>/tables/rename", iceberg_rest.RenameView.as_view(), name="iceberg-rename"),
]
