"""A run's log: pages by cursor, as OLake does, and downloads (the log alone, or OLake's archive with the state)."""

from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf

from kernel.logs import task_log_page, task_log_text_chunks
from pipelines import run_archive
from pipelines.api import serializers as s
from pipelines.api.views.base import ENVELOPE_RESPONSES, JobView
from pipelines.models import Job, JobTask

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", int, description="-1 or absent: the newest lines"),
    OpenApiParameter("direction", str, enum=["older", "newer"]),
    OpenApiParameter("limit", int),
    OpenApiParameter("after", int),
    OpenApiParameter("before", int),
]


def _int_param(request, name: str):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise drf.ValidationError({name: ["must be an integer"]}) from exc


def run_of_file_path(job: Job, file_path: str) -> JobTask:
    """The run an OLake file_path (as the run listing gives it: "<kind>-<job>-<run>") names, in this job only."""
    kind, _, rest = (file_path or "").strip().partition("-")
    job_id, _, run_id = rest.partition("-")
    if kind not in JobTask.Kind.values or not job_id.isdigit() or not run_id.isdigit():
        raise drf.ValidationError({"file_path": ["is not a run of this job: use a file_path from the run listing"]})
    if int(job_id) != job.pk:
        raise drf.ValidationError({"file_path": [f"names a run of another job, not of job {job.pk}"]})
    return get_object_or_404(job.tasks.all(), pk=int(run_id), kind=kind)


class FilePathSerializer(drf.Serializer):
    file_path = drf.CharField(max_length=200)


class TaskLogsView(JobView):
    """A page of a run's log: newest lines by default; ``cursor`` + ``direction`` (older|newer) pages, as OLake does.

    OLake's UI POSTs with ``{file_path}`` and a placeholder run id in the path; the body wins.
    """

    @extend_schema(tags=["olake"], parameters=PAGE_PARAMETERS, responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int, task_id: int):
        job = self.get_job(request, projectid, pk)
        return self.page(request, get_object_or_404(job.tasks.all(), pk=task_id))

    @extend_schema(tags=["olake"], parameters=PAGE_PARAMETERS, request=FilePathSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int, task_id: int):
        job = self.get_job(request, projectid, pk)
        file_path = request.data.get("file_path") if isinstance(request.data, dict) else None
        task = run_of_file_path(job, file_path) if file_path else get_object_or_404(job.tasks.all(), pk=task_id)
        return self.page(request, task)

    def page(self, request, task: JobTask):
        after, before = _int_param(request, "after"), _int_param(request, "before")
        cursor, limit = _int_param(request, "cursor"), _int_param(request, "limit") or 200
        if cursor is not None and cursor >= 0:
            if request.query_params.get("direction", "older") == "newer":
                after = cursor
            else:
                before = cursor
        page = task_log_page(task, after=after, before=before, limit=limit)
        lines = page.pop("lines")
        # "task_logs" is 004's; "logs" is the OLake server's (its UI shows no debug lines).
        shown = [{"level": line["level"], "time": line["time"], "message": line["message"]} for line in lines if line["level"] != "debug"]
        return self.ok(
            {"task_logs": lines, "logs": shown, "task_status": task.status, "file_path": s.run_file_path(task), **page},
            message=f"log of run {task.pk}",
        )


class TaskLogsDownloadView(JobView):
    @extend_schema(tags=["olake"], responses={(200, "text/plain"): str})
    def get(self, request, projectid: str, pk: int, task_id: int):
        job = self.get_job(request, projectid, pk)
        task = get_object_or_404(job.tasks.all(), pk=task_id)
        response = StreamingHttpResponse(task_log_text_chunks(task), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-run-{task.pk}.log"'
        return response


class JobLogsArchiveView(JobView):
    """OLake's log download: a tar.gz of the run's log and the job's state, chosen by ``file_path``."""

    @extend_schema(
        tags=["olake"], parameters=[OpenApiParameter("file_path", str, required=True)], responses={(200, "application/gzip"): bytes}
    )
    def get(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        file_path = request.query_params.get("file_path", "")
        if not file_path:
            raise drf.ValidationError({"file_path": ["is required"]})
        task = run_of_file_path(job, file_path)
        archive = run_archive.run_archive(task=task, name=s.run_file_path(task))
        return FileResponse(
            archive, as_attachment=True, filename=f"{s.run_file_path(task)}.tar.gz", content_type="application/gzip"
        )
