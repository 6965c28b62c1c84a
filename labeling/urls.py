"""URLs of labeling, included at the site root by d2d/urls.py (each path is written out in full).

003 writes most paths with a trailing slash, and GET /api/commits and
POST /api/commits/pictures/{commitid} without one; both spellings are served there.
"""

from django.urls import path, re_path

from labeling.api import views

app_name = "labeling"

urlpatterns = [
    path("api/tasks/", views.TasksView.as_view(), name="tasks"),
    path("api/tasks/apply/", views.TaskApplyView.as_view(), name="task-apply"),
    path("api/tasks/<int:task_id>/", views.TaskView.as_view(), name="task"),
    path("api/tasks/<int:task_id>/pictures/", views.TaskPicturesView.as_view(), name="task-pictures"),
    path(
        "api/tasks/<int:task_id>/pictures/<int:picture_id>/<str:filename>",
        views.PictureFileView.as_view(),
        name="picture-file",
    ),
    re_path(r"^api/tasks/(?P<task_id>[0-9]+)/export/(?P<kind>json|coco)/$", views.TaskExportView.as_view(), name="task-export"),
    path("api/commits", views.CommitsAliasView.as_view(), name="commits"),
    path("api/commits/", views.CommitsView.as_view(), name="commits-slash"),
    path("api/commits/pictures/<int:commit_id>", views.CommitPicturesView.as_view(), name="commit-pictures"),
    path("api/commits/pictures/<int:commit_id>/", views.CommitPicturesAliasView.as_view(), name="commit-pictures-slash"),
]
