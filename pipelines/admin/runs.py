"""Admin of runs (JobTask): read-only records with their log and a cancel action."""

from django.contrib import admin, messages

from kernel.admin import TrackedTaskAdmin
from kernel.runner import task_cancel
from pipelines.models import JobTask


@admin.register(JobTask)
class JobTaskAdmin(TrackedTaskAdmin):
    list_display = ["__str__", "job", "project", "kind", "status", "trigger", "rows_synced", "bytes_synced", "attempts", "created_at", "finished_at"]
    list_filter = ["kind", "status", "trigger", "created_at"]
    list_select_related = ["job", "project", "owner"]
    search_fields = ["job__name", "project__id", "error", "status_text"]
    raw_id_fields = ["project", "owner", "job"]
    fields = ["job", "project", "owner", "kind", "trigger", "rows_synced", "bytes_synced", "stream_stats", *TrackedTaskAdmin.readonly_fields]
    readonly_fields = ["job", "project", "owner", "kind", "trigger", "rows_synced", "bytes_synced", "stream_stats", *TrackedTaskAdmin.readonly_fields]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected")
    def cancel_selected(self, request, queryset):
        for task in queryset:
            task_cancel(task, reason=f"cancelled by {request.user.username} in the admin")
        self.message_user(request, "Cancel requested; running syncs stop at their next batch.", messages.SUCCESS)
