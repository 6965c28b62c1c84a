"""The admin index's dashboard: apps register their sections here (kernel names no app), kernel renders them.

Each app calls ``dashboard_register`` from its AppConfig.ready() with a builder that takes the
request and the time and returns a Section of figures, bar charts and tables, every figure a link
to the filtered changelist behind it. ``tracked_task_section`` builds the figures every kind of run
shares in a fixed number of queries, whatever the number of runs.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import Count, Min, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from django_q.status import Stat

from kernel.models import ACTIVE_STATUSES, PlatformTask, TaskStatus, TrackedTask
from kernel.run_admin import STATUS_COLOURS, RunTable, progress_bar
from kernel.run_history import duration_text


@dataclass
class Figure:
    label: str
    value: object
    url: str | None = None
    note: str = ""


@dataclass
class Bar:
    label: str
    value: int
    url: str | None = None
    colour: str = "#2563eb"
    text: str = ""  # shown beside the bar; the value when empty
    width: float = 0.0  # percent of the chart's largest bar, set by Chart


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    stacked: bool = False  # one line of segments (a total split by status) instead of one bar per row

    def __post_init__(self):
        top = max([bar.value for bar in self.bars] or [0])
        total = sum(bar.value for bar in self.bars)
        for bar in self.bars:
            base = total if self.stacked else top
            bar.width = round(100 * bar.value / base, 1) if base else 0.0
            bar.text = bar.text or f"{bar.value:,}"


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[RunTable] = field(default_factory=list)


Builder = Callable[[object, datetime], Section | None]
_sections: dict[str, tuple[int, Builder]] = {}


def dashboard_register(key: str, builder: Builder, *, order: int = 100) -> None:
    """Add (or replace, when an app's ready() runs twice) a section of the dashboard."""
    _sections[key] = (order, builder)


def dashboard_build(request, now: datetime | None = None) -> list[Section]:
    """Every registered section the user may see, in order; a builder returns None to hide its section."""
    now = now or timezone.now()
    built = [builder(request, now) for _, builder in sorted(_sections.values(), key=lambda item: item[0])]
    return [section for section in built if section is not None]


def changelist_url(model, **filters) -> str | None:
    """The admin changelist of ``model`` filtered by field lookups (None when the model has no admin)."""
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return None
    query = {key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in filters.items()}
    return f"{url}?{urlencode(query)}" if query else url


def change_url(obj) -> str | None:
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def admin_rows(request, model):
    """The live rows the model's admin shows this user (its get_queryset, so any project scoping of
    the admin applies here too), so a figure never counts what its link would not list."""
    try:
        rows = admin.site.get_model_admin(model).get_queryset(request)
    except NotRegistered:
        rows = model._default_manager.all()
    if any(field.name == "deleted_at" for field in model._meta.concrete_fields):
        rows = rows.filter(deleted_at__isnull=True)
    return rows.order_by()


def can_view(request, model) -> bool:
    return request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


def _link(obj) -> str:
    url = change_url(obj)
    return format_html('<a href="{}">{}</a>', url, obj) if url else str(obj)


def tracked_task_section(
    request,
    now: datetime,
    *,
    model: type[TrackedTask],
    title: str,
    queryset=None,
    select_related: tuple[str, ...] = (),
    rows: int = 5,
) -> Section | None:
    """The figures every kind of run shares, in five queries: by status (24 h, 7 days), the queue and
    what runs, running runs with their progress, the last failures, runs whose lease expired."""
    if not can_view(request, model):
        return None
    runs = (queryset if queryset is not None else admin_rows(request, model)).order_by()
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    by_status = {
        row["status"]: row
        for row in runs.filter(created_at__gte=week)
        .values("status")
        .annotate(day=Count("pk", filter=Q(created_at__gte=day)), week=Count("pk"))
    }
    active = runs.filter(status__in=ACTIVE_STATUSES).aggregate(
        queued=Count("pk", filter=Q(status__in=[TaskStatus.QUEUED, TaskStatus.RETRYING])),
        running=Count("pk", filter=Q(status=TaskStatus.RUNNING)),
        expired=Count("pk", filter=Q(status=TaskStatus.RUNNING, lease_expires_at__lt=now)),
        oldest=Min("queued_at", filter=Q(status__in=[TaskStatus.QUEUED, TaskStatus.RETRYING])),
    )
    related = runs.select_related(*select_related) if select_related else runs
    running = list(related.filter(status=TaskStatus.RUNNING).order_by("-started_at")[:rows])
    failures = list(related.filter(status=TaskStatus.FAILED).order_by("-finished_at")[:rows])
    expired = list(related.filter(status=TaskStatus.RUNNING, lease_expires_at__lt=now).order_by("lease_expires_at")[:rows])

    section = Section(title)
    oldest = active["oldest"]
    section.figures = [
        Figure("queued", active["queued"], changelist_url(model, status__in="queued,retrying")),
        Figure("oldest queued", duration_text(now - oldest) if oldest else "-", changelist_url(model, status__in="queued,retrying") if oldest else None, "waiting"),
        Figure("running", active["running"], changelist_url(model, status__exact=TaskStatus.RUNNING)),
        Figure("lease expired", active["expired"], changelist_url(model, status__exact=TaskStatus.RUNNING, lease_expires_at__lt=now)),
        Figure("failed, 24 h", by_status.get(TaskStatus.FAILED, {}).get("day", 0), changelist_url(model, status__exact=TaskStatus.FAILED, created_at__gte=day)),
    ]
    for label, key, since in (("Runs of the last 24 h by status", "day", day), ("Runs of the last 7 days by status", "week", week)):
        bars = [
            Bar(
                str(status.label),
                by_status.get(status, {}).get(key, 0),
                changelist_url(model, status__exact=status, created_at__gte=since),
                STATUS_COLOURS[status],
            )
            for status in TaskStatus
            if by_status.get(status, {}).get(key, 0)
        ]
        section.charts.append(Chart(label, bars, stacked=True))
    section.tables = [
        RunTable("Running", ["run", "progress", "status", "started"], [
            [_link(task), progress_bar(task.progress), task.status_text, duration_text(now - task.started_at) + " ago" if task.started_at else "-"]
            for task in running
        ], empty="nothing is running"),
        RunTable("Last failures", ["run", "finished", "error"], [
            [_link(task), f"{task.finished_at:%Y-%m-%d %H:%M}" if task.finished_at else "-", _short(task.error)]
            for task in failures
        ], empty="no failure"),
    ]
    if expired:
        section.tables.append(RunTable("Lease expired (worker gone; recovery requeues them)", ["run", "attempts", "lease expired"], [
            [_link(task), task.attempts, duration_text(now - task.lease_expires_at) + " ago"] for task in expired
        ]))
    return section


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def workers_section(request, now: datetime) -> Section | None:
    """django-q2's clusters as they report themselves (every few seconds, into the broker or cache)."""
    if not request.user.is_staff:
        return None
    section = Section("Workers")
    try:
        clusters = Stat.get_all()
    except Exception as exc:  # noqa: BLE001 - a broker that does not answer is itself the figure to show
        section.figures = [Figure("clusters", "unknown", note=f"{type(exc).__name__}: {_short(str(exc), 80)}")]
        return section
    alive = [stat for stat in clusters if str(stat.status) != "Stopped"]
    section.figures = [
        Figure("clusters alive", len(alive)),
        Figure("workers alive", sum(len(stat.workers) for stat in alive)),
    ]
    section.tables = [RunTable("Clusters", ["host", "cluster", "status", "workers", "up", "task queue", "reported"], [
        [
            stat.host,
            str(stat.cluster_id)[:8],
            str(stat.status),
            len(stat.workers),
            duration_text(timedelta(seconds=stat.uptime())) if stat.tob else "-",
            stat.task_q_size,
            duration_text(now - stat.timestamp) + " ago",
        ]
        for stat in clusters
    ], empty="no cluster reports: start one with manage.py qcluster")]
    return section


def platform_section(request, now: datetime) -> Section | None:
    return tracked_task_section(request, now, model=PlatformTask, title="Platform tasks", rows=3)


def register_kernel_sections() -> None:
    dashboard_register("kernel.workers", workers_section, order=10)
    dashboard_register("kernel.platform", platform_section, order=90)
