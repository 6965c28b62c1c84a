"""A run's log: pages by cursor, as OLake does, and downloads."""

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf

from d2d.kernel.logs import task_log_page, task_log_text_chunks
from pipelines.api.views.base import ENVELOPE_RESPONSES, JobView


def _int_param(request, name: str):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise drf.ValidationError({name: ["must be an integer"]}) from exc


class TaskLogsView(JobView):
    """A page of a run's log: newest lines by default; ``cursor`` + ``direction`` (older|newer) pages, as OLake does."""

    @extend_schema(
        tags=["olake"],
        parameters=[
            OpenApiParameter("cursor", int, description="-1 or absent: the newest lines"),
            OpenApiParameter("direction", str, enum=["older", "newer"]),
            OpenApiParameter("limit", int),
            OpenApiParameter("after", int),
            OpenApiParameter("before", int),
        ],
        responses=ENVELOPE_RESPONSES,
    )
    def get(self, request, projectid: str, pk: int, task_id: int):
        job = self.get_job(request, projectid, pk)
        task = get_object_or_404(job.tasks.all(), pk=task_id)
        after, before = _int_param(request, "after"), _int_param(request, "before")
        cursor, limit = _int_param(request, "cursor"), _int_param(request, "limit") or 200
        if cursor is not None and cursor >= 0:
            if request.query_params.get("direction", "older") == "newer":
                after = cursor
            else:
                before = cursor
        page = task_log_page(task, after=after, before=before, limit=limit)
        lines = page.pop("lines")
        return self.ok({"task_logs": lines, "task_status": task.status, **page}, message=f"log of run {task.pk}")


class TaskLogsDownloadView(JobView):
    @extend_schema(tags=["olake"], responses={(200, "text/plain"): str})
    def get(self, request, projectid: str, pk: int, task_id: int):
        job = self.get_job(request, projectid, pk)
        task = get_object_or_404(job.tasks.all(), pk=task_id)
        response = StreamingHttpResponse(task_log_text_chunks(task), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-run-{task.pk}.log"'
        return response
