"""The OLake server API (004) under /api/v1/project/<projectid>/: thin views over pipelines.services."""

from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf

from accounts.models import Role
from accounts.scoping import project_for_user, role_for_method
from d2d.kernel.api.contracts import ENVELOPE
from d2d.kernel.api.serializers import EnvelopeSerializer
from d2d.kernel.api.views import ContractView
from d2d.kernel.logs import task_log_page, task_log_text_chunks
from pipelines import services
from pipelines.api import serializers as s
from pipelines.models import Job, JobTask, Source
from pipelines.secrets import keep_masked_secrets, mask_config

ENVELOPE_RESPONSES = {code: EnvelopeSerializer for code in (200, 400, 401, 403, 404, 409)}


class PipelinesView(ContractView):
    contract = ENVELOPE
    # The role a method needs; viewers read, editors write. Views override per path.
    role: str | None = None

    def project(self, request, projectid: str, role: str | None = None):
        return project_for_user(request.user, projectid, role=role or self.role or role_for_method(request.method))

    def body(self, request, serializer_class, **kwargs):
        """The request's JSON body, or its query parameters: 004 documents GETs that carry a body."""
        data = request.data if isinstance(request.data, dict) and request.data else request.query_params.dict()
        payload = serializer_class(data=data, **kwargs)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


# --- sources and destinations --------------------------------------------------------------


class ConnectorSpecView(PipelinesView):
    kind = "source"
    role = Role.VIEWER

    @extend_schema(tags=["olake"], request=s.ConnectorTypeSerializer, responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str):
        self.project(request, projectid)
        body = self.body(request, s.ConnectorTypeSerializer)
        spec = services.connector_spec(kind=self.kind, type=body["type"], version=body["version"] or None)
        data = {"type": body["type"], "version": body["version"], "spec": spec}
        if self.kind == "destination":
            data["catalog"] = body["catalog"]
        return self.ok(data, message=f"{self.kind} spec")

    post = get


class ConnectorTestView(PipelinesView):
    model = Source
    role = Role.EDITOR

    @extend_schema(tags=["olake"], request=s.ConnectorTestSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.ConnectorTestSerializer)
        stored = None
        if body.get("id"):
            stored = get_object_or_404(self.model.objects.filter(project=project), pk=body["id"]).config
        kind = services.KIND_OF_MODEL[self.model]
        config = services.connector_test(
            kind=kind, type=body["type"], version=body["version"] or None, config=body["config"], stored=stored,
            project_id=project.pk,
        )
        spec = services.connector_spec(kind=kind, type=body["type"], version=None)
        return self.ok(
            {"type": body["type"], "version": body["version"], "config": mask_config(spec, config)},
            message="connection test succeeded",
        )

    get = post


class ConnectorListView(PipelinesView):
    model = Source

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str):
        project = self.project(request, projectid)
        jobs = Job.objects.select_related("source", "destination").prefetch_related(
            Prefetch("tasks", queryset=JobTask.objects.order_by("-created_at"), to_attr="latest_runs")
        )
        rows = (
            self.model.objects.for_user(request.user)
            .filter(project=project)
            .select_related("created_by", "updated_by")
            .prefetch_related(Prefetch("jobs", queryset=jobs, to_attr="live_jobs"))
        )
        return self.ok([s.connector_listing(obj, obj.live_jobs) for obj in rows], message=f"{len(rows)} found")

    @extend_schema(tags=["olake"], request=s.ConnectorSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.ConnectorSerializer)
        obj = services.connector_create(model=self.model, project=project, user=request.user, **body)
        return self.ok(s.connector_body(obj), message=f"{obj._meta.verbose_name} {obj.name} created")


class ConnectorDetailView(PipelinesView):
    model = Source

    def get_object(self, request, projectid: str, pk: int):
        project = self.project(request, projectid)
        return get_object_or_404(self.model.objects.for_user(request.user).filter(project=project), pk=pk)

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        jobs = obj.jobs.select_related("source", "destination")
        return self.ok(s.connector_listing(obj, jobs))

    @extend_schema(tags=["olake"], request=s.ConnectorUpdateSerializer, responses=ENVELOPE_RESPONSES)
    def put(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        body = self.body(request, s.ConnectorUpdateSerializer)
        obj = services.connector_update(obj=obj, user=request.user, **body)
        return self.ok(s.connector_body(obj), message=f"{obj._meta.verbose_name} {obj.name} updated")

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def delete(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        services.connector_delete(obj=obj, user=request.user)
        return self.ok({"name": obj.name}, message=f"{obj._meta.verbose_name} {obj.name} deleted")


# --- discover ----------------------------------------------------------------------------------


class StreamsView(PipelinesView):
    role = Role.EDITOR  # discovery connects to what the body names

    @extend_schema(tags=["olake"], request=s.StreamsSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.StreamsSerializer)
        saved, config = None, body["config"]
        if body.get("job_id"):
            job = get_object_or_404(Job.objects.filter(project=project), pk=body["job_id"])
            saved = job.streams_config
            config = keep_masked_secrets(services.connector_spec(kind="source", type=body["type"], version=None), config, job.source.config)
        elif body.get("id"):
            source = get_object_or_404(Source.objects.filter(project=project), pk=body["id"])
            config = keep_masked_secrets(services.connector_spec(kind="source", type=body["type"], version=None), config, source.config)
        catalog = services.source_discover(
            type=body["type"], version=body["version"] or None, config=config, saved_catalog=saved, project_id=project.pk
        )
        return self.ok({"streams_config": catalog}, message=f"{len(catalog['streams'])} stream(s) discovered")

    get = post


# --- jobs --------------------------------------------------------------------------------------


def job_queryset(request, project):
    return (
        Job.objects.for_user(request.user)
        .filter(project=project)
        .select_related("source", "destination", "created_by", "updated_by")
        .prefetch_related(Prefetch("tasks", queryset=JobTask.objects.order_by("-created_at"), to_attr="latest_runs"))
    )


class JobListView(PipelinesView):
    @extend_schema(
        tags=["olake"],
        parameters=[OpenApiParameter("source_id", int), OpenApiParameter("dest_id", int)],
        responses=ENVELOPE_RESPONSES,
    )
    def get(self, request, projectid: str):
        project = self.project(request, projectid)
        jobs = job_queryset(request, project)
        for param, field in (("source_id", "source_id"), ("dest_id", "destination_id")):
            value = request.query_params.get(param)
            if value:
                if not value.isdigit():
                    raise drf.ValidationError({param: ["must be an integer id"]})
                jobs = jobs.filter(**{field: int(value)})
        return self.ok([s.job_listing(job) for job in jobs], message=f"{len(jobs)} job(s)")

    @extend_schema(tags=["olake"], request=s.JobSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.JobSerializer)
        job = services.job_create(project=project, user=request.user, **body)
        return self.ok({"id": job.id, **s.job_body(job)}, message=f"job {job.name} created")


class JobView(PipelinesView):
    def get_job(self, request, projectid: str, pk: int, role: str | None = None) -> Job:
        project = self.project(request, projectid, role)
        return get_object_or_404(job_queryset(request, project), pk=pk)


class JobDetailView(JobView):
    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        return self.ok(s.job_listing(self.get_job(request, projectid, pk)))

    @extend_schema(tags=["olake"], request=s.JobUpdateSerializer, responses=ENVELOPE_RESPONSES)
    def put(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        body = self.body(request, s.JobUpdateSerializer)
        job = services.job_update(job=job, user=request.user, **body)
        return self.ok(s.job_body(job), message=f"job {job.name} updated")

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def delete(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        services.job_delete(job=job, user=request.user)
        return self.ok({"name": job.name}, message=f"job {job.name} deleted")


class JobSyncView(JobView):
    @extend_schema(tags=["olake"], request=None, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        task = services.job_sync_start(job=job, user=request.user)
        return self.ok(None, message=f"sync of job {job.name} queued as run {task.pk}")


class JobActivateView(JobView):
    @extend_schema(tags=["olake"], request=s.ActivateSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        body = self.body(request, s.ActivateSerializer)
        job = services.job_set_active(job=job, user=request.user, activate=body["activate"])
        return self.ok({"activate": job.activate}, message=f"job {job.name} {'activated' if job.activate else 'deactivated'}")


class JobCancelView(JobView):
    role = Role.EDITOR  # OLake's own server cancels with a GET

    @extend_schema(tags=["olake"], request=None, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        tasks = services.job_cancel(job=job, user=request.user)
        return self.ok(
            {"tasks": [s.task_listing(task) for task in tasks]}, message=f"cancel of job {job.name} requested"
        )

    get = post


class JobTasksView(JobView):
    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        tasks = job.tasks.order_by("-created_at")[:500]
        return self.ok([s.task_listing(task) for task in tasks], message=f"runs of job {job.name}")


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
