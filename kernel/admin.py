"""Admin building blocks: soft-delete restore, task logs and transitions, platform tasks (run pages: kernel.run_admin)."""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from kernel.models import PlatformTask, TaskLogLine, TaskTransition
from kernel.run_admin import RunTable, TrackedTaskAdmin
from kernel.runner import task_enqueue

__all__ = ["DeletedFilter", "NoCountPaginator", "RunTable", "SoftDeleteAdmin", "TrackedTaskAdmin"]


class DeletedFilter(admin.SimpleListFilter):
    """Live rows by default; deleted rows one click away, where they can be restored."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted"), ("all", "All")]

    def choices(self, changelist):
        value = self.value() or "live"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "live"
        if value == "live":
            return queryset.filter(deleted_at__isnull=True)
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class SoftDeleteAdmin(admin.ModelAdmin):
    """Deletes are soft; deleted rows are shown behind the "deleted" filter with a restore action."""

    actions = ["restore_selected", "soft_delete_selected"]

    def get_queryset(self, request):
        return self.model.all_objects.get_queryset()

    def get_list_filter(self, request):
        return [DeletedFilter, *super().get_list_filter(request)]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # Django's bulk delete would hard-delete
        return actions

    def delete_model(self, request, obj):
        obj.delete(by=request.user)

    def delete_queryset(self, request, queryset):
        queryset.delete(by=request.user)

    @admin.action(description="Restore selected (undo delete)")
    def restore_selected(self, request, queryset):
        restored = 0
        for obj in queryset.filter(deleted_at__isnull=False):
            obj.restore()
            restored += 1
        self.message_user(request, f"Restored {restored} row(s).", messages.SUCCESS)

    @admin.action(description="Delete selected (soft: can be restored)")
    def soft_delete_selected(self, request, queryset):
        count = queryset.filter(deleted_at__isnull=True).delete(by=request.user)
        self.message_user(request, f"Deleted {count} row(s); restore them from the Deleted filter.", messages.SUCCESS)


class NoCountPaginator(Paginator):
    """Log tables are large: skip COUNT(*) and show "next" as long as there is more."""

    @cached_property
    def count(self):
        return 10**9


@admin.register(TaskLogLine)
class TaskLogLineAdmin(admin.ModelAdmin):
    list_display = ["at", "level", "content_type", "task_id", "message"]
    list_filter = ["level", "content_type"]
    search_fields = ["task_id", "message"]
    paginator = NoCountPaginator
    show_full_result_count = False
    list_per_page = 200
    readonly_fields = ["content_type", "task_id", "at", "level", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TaskTransition)
class TaskTransitionAdmin(admin.ModelAdmin):
    """Every status change of every run: what the run pages' timelines are built from."""

    list_display = ["at", "status", "attempt", "content_type", "task_id", "message"]
    list_filter = ["status", "content_type"]
    search_fields = ["task_id", "message"]
    paginator = NoCountPaginator
    show_full_result_count = False
    list_per_page = 200

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PlatformTask)
class PlatformTaskAdmin(TrackedTaskAdmin):
    project_path = None  # the platform's own operations: superusers only (accounts/admin_scoping.py)
    list_display = ["__str__", "kind", "status_badge", "progress_bar", "attempts", "created_at", "finished_at"]
    list_filter = ["kind", "status", "created_at"]
    fields = ["kind", "params", *TrackedTaskAdmin.readonly_fields, "result"]
    readonly_fields = [*TrackedTaskAdmin.readonly_fields, "result"]

    def save_model(self, request, obj, form, change):
        is_new = obj._state.adding
        obj.owner = obj.owner or request.user
        super().save_model(request, obj, form, change)
        if is_new:
            task_enqueue(obj, message=f"queued by {request.user.username}")
