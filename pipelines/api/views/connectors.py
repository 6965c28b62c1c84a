"""Sources and destinations: spec, versions, test, list, create, update, delete, discover."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema

from accounts.models import Role
from pipelines import services
from pipelines.api import serializers as s
from pipelines.api.views.base import ENVELOPE_RESPONSES, PipelinesView
from pipelines.models import Job, JobTask, Source
from pipelines.secrets import keep_masked_secrets, mask_config

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


