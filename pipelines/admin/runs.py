"""Admin of runs (JobTask): the kernel's read-only run page with a per-stream table, a live log and a cancel action."""

from django.contrib import admin, messages

from kernel.admin import RunTable, TrackedTaskAdmin
from kernel.models import TaskStatus
from kernel.run_admin import size_text, status_badge
from kernel.runner import task_cancel
from pipelines.models import JobTask


@admin.register(JobTask)
class JobTaskAdmin(TrackedTaskAdmin):
    list_display = ["__str__", "job", "project", "kind", "status_badge", "progress_bar", "trigger", "rows_synced", "bytes_synced", "attempts", "created_at", "finished_at"]
    list_filter = ["kind", "status", "trigger", "created_at"]
    list_select_related = ["job", "project", "owner"]
    search_fields = ["job__name", "project__id", "error", "status_text"]
    raw_id_fields = ["project", "owner", "job"]
    fields = ["job", "project", "owner", "kind", "trigger", "rows_synced", "bytes_synced", *TrackedTaskAdmin.readonly_fields]
    readonly_fields = ["job", "project", "owner", "kind", "trigger", "rows_synced", "bytes_synced", *TrackedTaskAdmin.readonly_fields]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False

    def run_tables(self, request, obj):
        """The per-stream figures the run recorded (a clear run records what it cleared)."""
        rows = [
            [
                key,
                f"{stats.get('rows', 0):,}" if "rows" in stats else "-",
                size_text(stats.get("bytes")),
                f"{stats['seconds']:.1f} s" if isinstance(stats.get("seconds"), (int, float)) else "-",
                stats.get("mode") or stats.get("destination_name") or "-",
                status_badge(stats["status"]) if stats.get("status") in TaskStatus.values else stats.get("status", "-"),
                stats.get("error", ""),
            ]
            for key, stats in (obj.stream_stats or {}).items()
            if isinstance(stats, dict)
        ]
        columns = ["stream", "rows", "bytes", "seconds", "mode" if obj.kind == JobTask.Kind.SYNC else "table", "status", "error"]
        return [RunTable("Streams", columns, rows, empty="(no stream has reported yet)")]

    @admin.action(description="Cancel selected")
    def cancel_selected(self, request, queryset):
        for task in queryset:
            task_cancel(task, reason=f"cancelled by {request.user.username} in the admin")
        self.message_user(request, "Cancel requested; running syncs stop at their next batch.", messages.SUCCESS)
