"""What every OLake view shares: the envelope, project scoping (aliases included), the dialect, bodies."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from accounts.scoping import project_for_user, role_for_method
from kernel.api.contracts import ENVELOPE
from kernel.api.serializers import EnvelopeSerializer
from kernel.api.views import ContractView
from pipelines.api import compat
from pipelines.models import Job, JobTask

ENVELOPE_RESPONSES = {code: EnvelopeSerializer for code in (200, 400, 401, 403, 404, 409)}


class PipelinesView(ContractView):
    contract = ENVELOPE
    # The role a method needs; viewers read, editors write. Views override per path.
    role: str | None = None

    def project(self, request, projectid: str, role: str | None = None):
        role = role or self.role or role_for_method(request.method)
        return project_for_user(request.user, compat.resolve_project_id(projectid), role=role)

    def dialect(self, request, projectid: str | None = None) -> str:
        return compat.request_dialect(request, projectid if projectid is not None else self.kwargs.get("projectid"))

    def body(self, request, serializer_class, **kwargs):
        """The request's JSON body, or its query parameters: 004 documents GETs that carry a body."""
        data = request.data if isinstance(request.data, dict) and request.data else request.query_params.dict()
        payload = serializer_class(data=data, **kwargs)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


def latest_run() -> Prefetch:
    """Each job's newest run as ``latest_runs`` (what a listing shows of its history): one query with
    a window function (a sliced prefetch), not every run the job ever had, which grew every listing
    with the job's age."""
    return Prefetch("tasks", queryset=JobTask.objects.order_by("-created_at")[:1], to_attr="latest_runs")


def job_queryset(request, project):
    return (
        Job.objects.for_user(request.user)
        .filter(project=project)
        .select_related("source", "destination", "created_by", "updated_by")
        .prefetch_related(latest_run())
    )


class JobView(PipelinesView):
    def get_job(self, request, projectid: str, pk: int, role: str | None = None) -> Job:
        project = self.project(request, projectid, role)
        return get_object_or_404(job_queryset(request, project), pk=pk)


