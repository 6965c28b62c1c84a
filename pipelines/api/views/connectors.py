"""Sources and destinations: spec, versions, test, list, create, update, delete, discover, name checks."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf

from accounts.models import Role
from pipelines import catalog, services
from pipelines.api import compat
from pipelines.api import serializers as s
from pipelines.api.views.base import ENVELOPE_RESPONSES, PipelinesView
from pipelines.api.views.listings import project_connectors
from pipelines.models import Destination, Job, Source
from pipelines.secrets import mask_config


class ConnectorSpecView(PipelinesView):
    kind = "source"
    role = Role.VIEWER

    @extend_schema(tags=["olake"], request=s.ConnectorTypeSerializer, responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str):
        self.project(request, projectid)
        body = self.body(request, s.ConnectorTypeSerializer)
        spec = services.connector_spec(kind=self.kind, type=body["type"], version=body["version"] or None)
        if self.dialect(request) == compat.SERVER:
            spec = {"jsonschema": spec, "uischema": compat.json_field(compat.ui_schema(spec), compat.SERVER)}
        data = {"type": body["type"], "version": body["version"], "spec": spec}
        if self.kind == "destination":
            data["catalog"] = body["catalog"]
        return self.ok(data, message=f"{self.kind} spec")

    post = get


class ConnectorVersionsView(PipelinesView):
    """The versions a type implements, newest first (OLake's UI picks the first)."""

    kind = "source"
    role = Role.VIEWER

    @extend_schema(tags=["olake"], parameters=[OpenApiParameter("type", str, required=True)], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str):
        self.project(request, projectid)
        type_name = request.query_params.get("type", "").strip()
        if not type_name:
            raise drf.ValidationError({"type": ["is required"]})
        return self.ok({"version": services.connector_versions(kind=self.kind, type=type_name)}, message=f"{type_name} versions")


class ConnectorTestView(PipelinesView):
    model = Source
    role = Role.EDITOR

    @extend_schema(tags=["olake"], request=s.ConnectorTestSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.ConnectorTestSerializer)
        kind = services.KIND_OF_MODEL[self.model]
        stored = services.connector_stored_config(
            model=self.model, project=project, type=body["type"], config=body["config"], pk=body.get("id")
        )
        if self.dialect(request) == compat.SERVER:
            # The OLake server answers a failed test with 200 and FAILED, which its UI shows with the logs.
            result = services.connector_test_report(
                kind=kind, type=body["type"], version=body["version"] or None, config=body["config"], stored=stored,
                project_id=project.pk,
            )
            return self.ok(result, message=f"{kind} {body['type']} connection tested")
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
        rows = project_connectors(self.model, request.user, project)
        dialect = self.dialect(request)
        return self.ok([s.connector_listing(obj, obj.live_jobs, dialect) for obj in rows], message=f"{len(rows)} found")

    @extend_schema(tags=["olake"], request=s.ConnectorSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.ConnectorSerializer)
        obj = services.connector_create(model=self.model, project=project, user=request.user, **body)
        return self.ok(s.connector_body(obj, self.dialect(request)), message=f"{obj._meta.verbose_name} {obj.name} created")


class ConnectorDetailView(PipelinesView):
    model = Source

    def get_object(self, request, projectid: str, pk: int):
        project = self.project(request, projectid)
        return get_object_or_404(self.model.objects.for_user(request.user).filter(project=project), pk=pk)

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        jobs = obj.jobs.select_related("source", "destination")
        return self.ok(s.connector_listing(obj, jobs, self.dialect(request)))

    @extend_schema(tags=["olake"], request=s.ConnectorUpdateSerializer, responses=ENVELOPE_RESPONSES)
    def put(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        body = self.body(request, s.ConnectorUpdateSerializer)
        obj = services.connector_update(obj=obj, user=request.user, **body)
        return self.ok(s.connector_body(obj, self.dialect(request)), message=f"{obj._meta.verbose_name} {obj.name} updated")

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def delete(self, request, projectid: str, pk: int):
        obj = self.get_object(request, projectid, pk)
        services.connector_delete(obj=obj, user=request.user)
        return self.ok({"name": obj.name}, message=f"{obj._meta.verbose_name} {obj.name} deleted")


class CheckUniqueView(PipelinesView):
    """Whether a name is free in the project, before a create (the OLake UI asks first)."""

    role = Role.VIEWER
    MODELS = {"source": Source, "destination": Destination, "job": Job}

    @extend_schema(tags=["olake"], request=s.CheckUniqueSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.CheckUniqueSerializer)
        unique = services.name_is_free(self.MODELS[body["entity_type"]], project, body["name"])
        message = f"{body['entity_type']} name {body['name']!r} is {'free' if unique else 'taken'}"
        return self.ok({"unique": unique}, message=message)


# --- discover ----------------------------------------------------------------------------------


class StreamsView(PipelinesView):
    role = Role.EDITOR  # discovery connects to what the body names

    @extend_schema(tags=["olake"], request=s.StreamsSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.StreamsSerializer)
        saved, stored, threads = None, None, body.get("max_discover_threads")
        if body.get("job_id") and body["job_id"] > 0:  # OLake's UI sends -1 for a job not yet created
            job = get_object_or_404(Job.objects.filter(project=project), pk=body["job_id"])
            saved, stored = job.streams_config, job.source.config
            threads = threads or job.discover_threads
        else:
            stored = services.connector_stored_config(
                model=Source, project=project, type=body["type"], config=body["config"], pk=body.get("id")
            )
        found = services.source_discover(
            type=body["type"], version=body["version"] or None, config=body["config"], stored=stored,
            saved_catalog=saved, project_id=project.pk, threads=threads,
        )
        message = f"{len(found['streams'])} stream(s) discovered"
        if self.dialect(request) == compat.SERVER:
            return self.ok(catalog.to_olake(found), message=message)
        return self.ok({"streams_config": found}, message=message)

    get = post

