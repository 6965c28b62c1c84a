"""URLs of conversions, included at the site root by d2d/urls.py (each path is written out in full)."""

from django.urls import path

from conversions.api import common, data2data, sites

urlpatterns = [
    # Common application API (001)
    path("api/v1/task", common.TaskView.as_view(), name="common-task"),
    path("api/v1/assets", common.AssetsView.as_view(), name="common-assets"),
    path("api/v1/result", common.ResultView.as_view(), name="common-result"),
    path("api/v1/status", common.status_view, name="common-status"),
    # Data 2 Data (000)
    path("api/v1/uploads/services", data2data.ServiceListView.as_view(), name="uploads-services"),
    path("api/v1/uploads/tasks", data2data.UploadTaskView.as_view(), name="uploads-tasks"),
    path("api/v1/uploads/tasks/<uuid:task_id>/files", data2data.UploadFilesView.as_view(), name="uploads-files"),
    path("api/v1/uploads/tasks/<uuid:task_id>/urls", data2data.UploadUrlsView.as_view(), name="uploads-urls"),
    path("api/v1/uploads/tasks/<uuid:task_id>/submit", data2data.UploadSubmitView.as_view(), name="uploads-submit"),
    path("api/v1/tasks/", data2data.TaskListView.as_view(), name="tasks-list"),
    path("api/v1/tasks/<uuid:task_id>", data2data.TaskDetailView.as_view(), name="tasks-detail"),
    path("api/v1/tasks/<uuid:task_id>/cancel", data2data.TaskCancelView.as_view(), name="tasks-cancel"),
    path("api/v1/tasks/<uuid:task_id>/log", data2data.TaskLogView.as_view(), name="tasks-log"),
    path("api/v1/downloads/<uuid:task_id>", data2data.DownloadView.as_view(), name="downloads-result"),
    path("api/v1/downloads/<uuid:task_id>/files", data2data.DownloadListView.as_view(), name="downloads-files"),
    path("api/v1/downloads/<uuid:task_id>/files/<int:file_id>", data2data.DownloadFileView.as_view(), name="downloads-file"),
    path("api/v1/ocr/service", data2data.OcrServiceView.as_view(), name="ocr-service"),
    path("api/v1/ocr/tasks", data2data.OcrTaskView.as_view(), name="ocr-tasks"),
    # Result websites
    path("conversions/sites/<str:token>/", sites.site_file, name="conversion-site"),
    path("conversions/sites/<str:token>/<path:name>", sites.site_file, name="conversion-site-file"),
]
