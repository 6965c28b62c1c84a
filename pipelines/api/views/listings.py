"""The 004 listings (jobs, sources, destinations, run history) as compiled statements, one per query.

Each listing was three or four querysets built and compiled by the ORM on every request (0.3 to
0.6 ms each, most of its time; docs/load.md). Here each is a kernel/statements.py ``Statement``,
compiled once per database and shape (a superuser or not, which filters the request has), and
the related sets are read by subquery of the same scoped listing rather than by the page's ids,
so their SQL does not follow the number of rows: the jobs of the listed connectors, and the
newest run of each listed job.
"""

from django.contrib.auth import get_user_model

from kernel.statements import Statement
from pipelines.api.views.base import newest_run_id
from pipelines.models import Destination, Job, JobTask, Source

User = get_user_model()


def _user(superuser: bool, user_id: int):
    """The caller as for_user reads it: its id and whether it is a superuser."""
    return User(pk=user_id, is_superuser=superuser)


def _jobs(shape, user_id, project_id, source_id, destination_id):
    superuser, by_source, by_destination = shape
    jobs = Job.objects.for_user(_user(superuser, user_id)).filter(project_id=project_id)
    if by_source:
        jobs = jobs.filter(source_id=source_id)
    if by_destination:
        jobs = jobs.filter(destination_id=destination_id)
    return jobs.annotate(newest_run_id=newest_run_id())


_JOB_SLOTS = {"user_id": int, "project_id": str, "source_id": int, "destination_id": int}
_JOBS = Statement(Job, lambda shape, **values: _jobs(shape, **values).select_related(
    "source", "destination", "created_by", "updated_by"), **_JOB_SLOTS)
_JOBS_RUNS = Statement(JobTask, lambda shape, **values: JobTask.objects.filter(
    pk__in=_jobs(shape, **values).values("newest_run_id")), **_JOB_SLOTS)


def project_jobs(user, project, *, source_id: int | None = None, destination_id: int | None = None) -> list:
    """A project's jobs the user sees (by source, by destination), each with ``latest_runs``."""
    shape = (bool(user.is_superuser), source_id is not None, destination_id is not None)
    values = {"user_id": user.pk, "project_id": project.pk, "source_id": source_id or 0,
              "destination_id": destination_id or 0}
    jobs = _JOBS.all(shape=shape, **values)
    runs = {run.pk: run for run in _JOBS_RUNS.all(shape=shape, **values)}
    return _with_runs(jobs, runs)


def _with_runs(jobs: list, runs: dict) -> list:
    for job in jobs:
        job.latest_runs = [runs[job.newest_run_id]] if job.newest_run_id in runs else []
    return jobs


def _connectors(model, superuser: bool, user_id, project_id):
    return model.objects.for_user(_user(superuser, user_id)).filter(project_id=project_id)


def _connector_jobs(model, superuser: bool, user_id, project_id):
    """The live jobs of the connectors listed (Job.objects, as the prefetch of ``jobs`` read them)."""
    field = "source" if model is Source else "destination"
    return Job.objects.filter(**{f"{field}__in": _connectors(model, superuser, user_id, project_id).values("pk")}
                              ).annotate(newest_run_id=newest_run_id())


_CONNECTOR_SLOTS = {"user_id": int, "project_id": str}
_CONNECTORS = {
    model: (
        Statement(model, lambda superuser, model=model, **values: _connectors(model, superuser, **values)
                  .select_related("created_by", "updated_by"), **_CONNECTOR_SLOTS),
        Statement(Job, lambda superuser, model=model, **values: _connector_jobs(model, superuser, **values)
                  .select_related("source", "destination"), **_CONNECTOR_SLOTS),
        Statement(JobTask, lambda superuser, model=model, **values: JobTask.objects.filter(
            pk__in=_connector_jobs(model, superuser, **values).values("newest_run_id")), **_CONNECTOR_SLOTS),
    )
    for model in (Source, Destination)
}


def project_connectors(model, user, project) -> list:
    """A project's sources or destinations the user sees, each with ``live_jobs`` (name order), each
    job with ``latest_runs``: three queries whatever the number of connectors, jobs and runs."""
    connectors, jobs_of, runs_of = _CONNECTORS[model]
    values = {"shape": bool(user.is_superuser), "user_id": user.pk, "project_id": project.pk}
    rows = connectors.all(**values)
    runs = {run.pk: run for run in runs_of.all(**values)}
    by_connector: dict = {row.pk: [] for row in rows}
    field = "source_id" if model is Source else "destination_id"
    for job in _with_runs(jobs_of.all(**values), runs):
        by_connector.setdefault(getattr(job, field), []).append(job)
    for row in rows:
        row.live_jobs = by_connector[row.pk]
    return rows


# A job's run history, newest first: one statement for every job, its page (the newest 500) bound.
_RUNS = Statement(JobTask, lambda shape, job_id: JobTask.objects.filter(job_id=job_id).order_by("-created_at"),
                  job_id=int)
RUN_HISTORY = 500


def job_runs(job) -> list:
    """The job's newest RUN_HISTORY runs, newest first (as ``job.tasks`` ordered and sliced)."""
    return _RUNS.all(page=(RUN_HISTORY, 0), job_id=job.pk)
