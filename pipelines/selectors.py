"""Reads that span relations: a job, source or destination by id or name (the command line); jobs with their run figures (the admin)."""

from django.core.management.base import CommandError
from django.db.models import CharField, Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django_q.models import Schedule

from kernel.models import FINISHED_STATUSES, TaskStatus
from pipelines.models import JobTask


def by_ref(model, ref: str, project: str | None = None):
    """The live row whose id is ``ref``, or whose name is ``ref`` (in ``project`` when names repeat)."""
    rows = model.objects.all()
    if project:
        rows = rows.filter(project_id=project)
    if ref.isdigit() and rows.filter(pk=int(ref)).exists():
        return rows.get(pk=int(ref))
    matches = list(rows.filter(name=ref)[:2])
    if not matches:
        raise CommandError(f"no {model._meta.verbose_name} {ref!r}" + (f" in project {project}" if project else ""))
    if len(matches) > 1:
        raise CommandError(f"several {model._meta.verbose_name_plural} are named {ref!r}: add --project")
    return matches[0]


def jobs_with_run_figures(jobs):
    """Jobs annotated with their last run (status, rows, time), next scheduled run and the success of their last 20 finished syncs.

    Subqueries, not per-row reads: a page of the job list costs the same queries for 3 jobs or 300.
    """
    last = JobTask.objects.filter(job=OuterRef("pk")).order_by("-created_at", "-pk")
    last_syncs = (
        JobTask.objects.filter(job=OuterRef(OuterRef("pk")), kind=JobTask.Kind.SYNC, status__in=FINISHED_STATUSES)
        .order_by("-created_at", "-pk")
        .values("pk")[:20]
    )

    def count_of(rows):
        counted = rows.order_by().values("job").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    finished = JobTask.objects.filter(pk__in=Subquery(last_syncs))
    return jobs.annotate(
        last_run_id=Subquery(last.values("pk")[:1]),
        last_run_status=Subquery(last.values("status")[:1]),
        last_run_rows=Subquery(last.values("rows_synced")[:1]),
        last_run_at=Subquery(last.values("created_at")[:1]),
        next_run=Subquery(
            Schedule.objects.filter(name=Concat(Value("pipelines job "), Cast(OuterRef("pk"), CharField()))).values("next_run")[:1]
        ),
        runs_finished=count_of(finished),
        runs_succeeded=count_of(finished.filter(status=TaskStatus.SUCCEEDED)),
    )
