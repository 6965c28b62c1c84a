"""Dashboard selectors of pipelines: runs, rows and bytes moved per day, CDC captures with their lag and slot size."""

from datetime import datetime, timedelta

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html

from kernel.dashboard import Bar, Chart, Section, admin_rows, can_view, change_url, changelist_url, dashboard_register, tracked_task_section
from kernel.run_admin import RunTable
from kernel.run_history import duration_text
from pipelines.models import ChangeCapture, JobTask

DAYS = 7
CAPTURES_SHOWN = 10


def runs_section(request, now: datetime) -> Section | None:
    section = tracked_task_section(request, now, model=JobTask, title="Pipeline runs", select_related=("job",))
    if section is None:
        return None
    section.charts += moved_per_day_charts(request, now)
    section.tables.append(captures_table(request, now))
    return section


def moved_per_day_charts(request, now: datetime) -> list[Chart]:
    """Rows and bytes the syncs that finished on each of the last seven days moved (one query)."""
    today = timezone.localdate(now)
    first = today - timedelta(days=DAYS - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    moved = {
        row["day"]: row
        for row in admin_rows(request, JobTask)
        .filter(kind=JobTask.Kind.SYNC, finished_at__gte=start)
        .annotate(day=TruncDate("finished_at"))
        .values("day")
        .annotate(rows=Sum("rows_synced"), bytes=Sum("bytes_synced"), runs=Count("pk"))
    }
    days = [first + timedelta(days=offset) for offset in range(DAYS)]

    def bar(day, key, text):
        value = (moved.get(day) or {}).get(key) or 0
        url = changelist_url(JobTask, kind__exact=JobTask.Kind.SYNC, finished_at__date=day.isoformat())
        return Bar(f"{day:%a %d %b}", int(value), url, "#0d9488", text(value))

    return [
        Chart("Rows moved per day", [bar(day, "rows", lambda value: f"{value:,}") for day in days]),
        Chart("Bytes moved per day", [bar(day, "bytes", lambda value: filesizeformat(value or 0)) for day in days]),
    ]


def captures_table(request, now: datetime) -> RunTable:
    """Each CDC job's slot: position, lag in bytes and in time since the position last moved, slot size (one query)."""
    table = RunTable("CDC captures", ["job", "slot", "published through", "lag", "last published", "slot size", "measured"], empty="no CDC job")
    if not can_view(request, ChangeCapture):
        return table
    captures = admin_rows(request, ChangeCapture).select_related("job").order_by(F("lag_bytes").desc(nulls_last=True), "job_id")[:CAPTURES_SHOWN]
    for capture in captures:
        url = change_url(capture)
        table.rows.append([
            format_html('<a href="{}">{}</a>', url, capture.job.name) if url else capture.job.name,
            capture.slot_name,
            capture.position_lsn,
            filesizeformat(capture.lag_bytes) if capture.lag_bytes is not None else "-",
            duration_text(now - capture.updated_at) + " ago",
            filesizeformat(capture.slot_bytes) if capture.slot_bytes is not None else "-",
            duration_text(now - capture.measured_at) + " ago" if capture.measured_at else "never",
        ])
    return table


def register() -> None:
    dashboard_register("pipelines.runs", runs_section, order=20)

