"""Kernel URLs: health check and the staff API for platform tasks."""

from django.urls import path

from kernel import views
from kernel.api import platform

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/platform/tasks", platform.PlatformTaskListView.as_view(), name="platform-tasks"),
    path("api/v1/platform/tasks/<uuid:task_id>", platform.PlatformTaskDetailView.as_view(), name="platform-task"),
    path("api/v1/platform/tasks/<uuid:task_id>/logs", platform.PlatformTaskLogView.as_view(), name="platform-task-logs"),
]
