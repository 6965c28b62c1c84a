"""What every OLake view shares: the envelope, project scoping (aliases included), the dialect, bodies."""

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.http import Http404

from accounts.scoping import project_for_user, role_for_method
from kernel.api.contracts import ENVELOPE
from kernel.api.serializers import EnvelopeSerializer
from kernel.api.views import ContractView
from pipelines.api import compat
from kernel.statements import Statement
from pipelines.models import Job, JobTask

User = get_user_model()

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


def newest_run_id() -> Subquery:
    """The id of a job's newest run, for ``annotate`` on a job listing (see listings.py).

    A listing shows only the newest run of each job: one query for those runs, not every run each
    job ever had (a prefetch of ``tasks`` loaded the whole history on every listing, growing with
    the job's age), nor a sliced prefetch (a window function costlier than the listing; docs/load.md).
    """
    return Subquery(JobTask.objects.filter(job=OuterRef("pk")).order_by("-created_at").values("pk")[:1])


# A project's job by id with its connectors and users, compiled once per database and kind of user (kernel/statements.py):
# every path under a job (detail, run history, sync, logs, ...) starts with it.
_JOB = Statement(
    Job,
    lambda superuser, user_id, project_id, job_id: Job.objects.for_user(User(pk=user_id, is_superuser=superuser))
    .filter(project_id=project_id, pk=job_id)
    .select_related("source", "destination", "created_by", "updated_by"),
    user_id=int,
    project_id=str,
    job_id=int,
)


class JobView(PipelinesView):
    def get_job(self, request, projectid: str, pk: int, role: str | None = None) -> Job:
        project = self.project(request, projectid, role)
        user = request.user
        job = _JOB.first(shape=bool(user.is_superuser), user_id=user.pk, project_id=project.pk, job_id=pk)
        if job is None:
            raise Http404(f"job {pk} not found")
        return job


