"""The run page every tracked task shares: read-only, with progress, timeline, error, tables and a live log."""

from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from kernel.errors import TaskAlreadyQueued
from kernel.logs import LEVEL_ORDER, levels_from, task_log_page, task_log_text_chunks
from kernel.models import ACTIVE_STATUSES, TaskStatus
from kernel.notify import task_snapshot
from kernel.run_history import task_history
from kernel.runner import task_cancel, task_enqueue

LOG_PAGE_LINES = 500
STATUS_COLOURS = {
    TaskStatus.CREATED: "#777",
    TaskStatus.QUEUED: "#6b7280",
    TaskStatus.RUNNING: "#2563eb",
    TaskStatus.RETRYING: "#d97706",
    TaskStatus.SUCCEEDED: "#16a34a",
    TaskStatus.FAILED: "#dc2626",
    TaskStatus.CANCELLED: "#9ca3af",
}


@dataclass
class RunTable:
    """A table on a run's page (a pipeline run's streams, a conversion's files): cells may be safe HTML."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    empty: str = "(none)"


def status_badge(status: str) -> str:
    label = TaskStatus(status).label if status in TaskStatus.values else status
    colour = STATUS_COLOURS.get(status, "#777")
    return format_html('<span class="d2d-badge" style="background:{}">{}</span>', colour, label)


def progress_bar(progress: int) -> str:
    return format_html('<progress value="{}" max="100" title="{}%"></progress> {}%', progress, progress, progress)


def size_text(value) -> str:
    return filesizeformat(value) if value else "-"


class TrackedTaskAdmin(admin.ModelAdmin):
    """Runs are records, not forms: no save button; cancel and run-again actions; the run page of kernel's template."""

    change_form_template = "admin/kernel/trackedtask/change_form.html"
    list_display = ["__str__", "project", "owner", "status_badge", "progress_bar", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["project", "owner"]
    raw_id_fields = ["project", "owner"]
    search_fields = ["status_text", "error", "owner__username", "project__id"]
    date_hierarchy = "created_at"
    actions = ["cancel_selected", "run_again_selected"]
    readonly_fields = [
        "status",
        "progress",
        "status_text",
        "created_at",
        "queued_at",
        "started_at",
        "finished_at",
        "attempts",
        "error",
        "cancel_requested",
        "lease_expires_at",
    ]

    def has_change_permission(self, request, obj=None):
        return False  # a run changes through its actions (services), never through a form

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, obj):
        return progress_bar(obj.progress)

    # --- the run page ---------------------------------------------------------------------

    def run_tables(self, request, obj) -> list[RunTable]:
        """What an app adds to its run page (streams, input and result files); none by default."""
        return []

    def _url(self, name: str, obj) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[obj.pk])

    def run_context(self, request, obj) -> dict:
        page = task_log_page(obj, limit=LOG_PAGE_LINES)
        for line in page["lines"]:
            line["shown_time"] = line["time"][:19].replace("T", " ")  # as the page's script shows the lines it adds
        return {
            "task": obj,
            "snapshot": task_snapshot(obj),
            "badge": status_badge(obj.status),
            "history": task_history(obj),
            "tables": self.run_tables(request, obj),
            "log_lines": page["lines"],
            "log_cursor": page["newer_cursor"] or 0,
            "log_truncated": page["has_more_older"],
            "log_url": self._url("log", obj),
            "log_download_url": self._url("log_download", obj),
            "levels": [str(level) for level in LEVEL_ORDER],
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj):
            extra_context = {**(extra_context or {}), "run": self.run_context(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/log/", view(self.log_view), name="%s_%s_log" % info),
            path("<path:object_id>/log/download/", view(self.log_download_view), name="%s_%s_log_download" % info),
            *super().get_urls(),
        ]

    def _viewable(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("no such run")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def log_view(self, request, object_id):
        """Lines after a cursor (for the page's tail), filtered by minimum level, with the run's state."""
        obj = self._viewable(request, object_id)
        try:
            after = int(request.GET.get("after", "")) if request.GET.get("after") else None
        except ValueError:
            return JsonResponse({"error": "after must be an integer line id"}, status=400)
        page = task_log_page(obj, after=after, limit=LOG_PAGE_LINES, levels=levels_from(request.GET.get("level")))
        history = [row.as_json() for row in task_history(obj)]
        return JsonResponse({**page, "task": task_snapshot(obj), "badge": status_badge(obj.status), "history": history})

    def log_download_view(self, request, object_id):
        obj = self._viewable(request, object_id)
        levels = levels_from(request.GET.get("level"))
        response = StreamingHttpResponse(task_log_text_chunks(obj, levels=levels), content_type="text/plain; charset=utf-8")
        name = f"{self.opts.model_name}-{obj.pk}.log"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # --- actions --------------------------------------------------------------------------

    @admin.action(description="Cancel selected")
    def cancel_selected(self, request, queryset):
        for task in queryset:
            task_cancel(task, reason=f"cancelled by {request.user.username} in the admin")
        self.message_user(request, "Cancel requested; running tasks stop at their next check.", messages.SUCCESS)

    @admin.action(description="Run selected again")
    def run_again_selected(self, request, queryset):
        queued, refused = 0, 0
        for task in queryset:
            if task.status in ACTIVE_STATUSES:
                refused += 1
                continue
            try:
                with transaction.atomic():
                    task_enqueue(task, message=f"queued again by {request.user.username}")
                queued += 1
            except TaskAlreadyQueued:
                refused += 1
        self.message_user(request, f"Queued {queued}; {refused} were already queued or running.", messages.INFO)
