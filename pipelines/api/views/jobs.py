"""Jobs: list, create, update, delete, sync, activate, cancel, run history."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf

from accounts.models import Role
from pipelines import clearing, services, streams_diff
from pipelines.api import compat
from pipelines.api import serializers as s
from pipelines.api.views.base import ENVELOPE_RESPONSES, JobView, PipelinesView
from pipelines.api.views.listings import job_runs, project_jobs


class JobListView(PipelinesView):
    @extend_schema(
        tags=["olake"],
        parameters=[OpenApiParameter("source_id", int), OpenApiParameter("dest_id", int)],
        responses=ENVELOPE_RESPONSES,
    )
    def get(self, request, projectid: str):
        project = self.project(request, projectid)
        filters = {}
        for param, field in (("source_id", "source_id"), ("dest_id", "destination_id")):
            value = request.query_params.get(param)
            if value:
                if not value.isdigit():
                    raise drf.ValidationError({param: ["must be an integer id"]})
                filters[field] = int(value)
        dialect = self.dialect(request)
        jobs = project_jobs(request.user, project, **filters)
        return self.ok([s.job_listing(job, dialect) for job in jobs], message=f"{len(jobs)} job(s)")

    @extend_schema(tags=["olake"], request=s.JobSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str):
        project = self.project(request, projectid)
        body = self.body(request, s.JobSerializer)
        job = services.job_create(project=project, user=request.user, **body)
        return self.ok({"id": job.id, **s.job_body(job, self.dialect(request))}, message=f"job {job.name} created")


class JobDetailView(JobView):
    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        return self.ok(s.job_listing(self.get_job(request, projectid, pk), self.dialect(request)))

    @extend_schema(tags=["olake"], request=s.JobUpdateSerializer, responses=ENVELOPE_RESPONSES)
    def put(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        body = self.body(request, s.JobUpdateSerializer)
        job = clearing.job_update_with_clear(job=job, user=request.user, **body)
        return self.ok(s.job_body(job, self.dialect(request)), message=f"job {job.name} updated")

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
        message = f"sync of job {job.name} queued as run {task.pk}"
        # 004 answers data null; the OLake server's UI reads data.message.
        return self.ok({"message": message} if self.dialect(request) == compat.SERVER else None, message=message)


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
        message = f"cancel of job {job.name} requested"
        dialect = self.dialect(request)
        return self.ok({"message": message, "tasks": [s.task_listing(task, dialect) for task in tasks]}, message=message)

    get = post


class JobTasksView(JobView):
    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        tasks = job_runs(job)
        dialect = self.dialect(request)
        return self.ok([s.task_listing(task, dialect) for task in tasks], message=f"runs of job {job.name}")


class JobClearDestinationView(JobView):
    """POST starts a run that removes what the job wrote to its destination and resets its state; GET says if one runs."""

    @extend_schema(tags=["olake"], responses=ENVELOPE_RESPONSES)
    def get(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        running = clearing.job_clear_destination_running(job=job)
        return self.ok({"running": running}, message=f"clear of job {job.name} is {'running' if running else 'not running'}")

    @extend_schema(tags=["olake"], request=s.ClearDestinationSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk, role=Role.EDITOR)
        body = self.body(request, s.ClearDestinationSerializer)
        task = clearing.job_clear_destination_start(job=job, user=request.user, streams=body.get("streams"))
        message = f"clear of job {job.name}'s destination queued as run {task.pk}"
        return self.ok({"message": message, "task": s.task_listing(task, self.dialect(request))}, message=message)


class JobStreamDifferenceView(JobView):
    """Which streams an edit would change in the destination (the UI asks before saving, then clears those)."""

    role = Role.VIEWER

    @extend_schema(tags=["olake"], request=s.StreamDifferenceSerializer, responses=ENVELOPE_RESPONSES)
    def post(self, request, projectid: str, pk: int):
        job = self.get_job(request, projectid, pk)
        body = self.body(request, s.StreamDifferenceSerializer)
        difference = streams_diff.streams_difference(job=job, updated_streams_config=body["updated_streams_config"])
        count = len(difference["streams"])
        return self.ok({"difference_streams": difference}, message=f"{count} stream(s) would change")
