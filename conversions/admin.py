"""Admin for conversion tasks: inputs and results inline, progress, the log, cancel/retry/delete/restore."""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.urls import reverse
from django.utils.html import format_html

from conversions import lifecycle
from conversions.models import ConversionTask, InputAsset, ResultFile
from d2d.kernel.admin import DeletedFilter, TrackedTaskAdmin


class InputAssetInline(admin.TabularInline):
    model = InputAsset
    extra = 0
    can_delete = False
    fields = ["position", "file_name", "status", "size", "download_url", "failure_reason", "attributes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ResultFileInline(admin.TabularInline):
    model = ResultFile
    extra = 0
    can_delete = False
    fields = ["name", "content_type", "size", "is_archive", "download"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="download")
    def download(self, obj):
        if not obj.pk:
            return ""
        return format_html('<a href="/api/v1/downloads/{}/files/{}">download</a>', obj.task_id, obj.pk)


@admin.register(ConversionTask)
class ConversionTaskAdmin(TrackedTaskAdmin):
    list_display = ["__str__", "service", "project", "owner", "status", "stage", "progress_bar", "attempts", "created_at", "finished_at", "deleted_at"]
    list_filter = [DeletedFilter, "status", "service", "stage", "created_at"]
    search_fields = [*TrackedTaskAdmin.search_fields, "id", "service"]
    inlines = [InputAssetInline, ResultFileInline]
    actions = ["cancel_selected", "run_again_selected", "delete_selected_tasks", "restore_selected_tasks"]
    fields = ["project", "owner", "service", "params", "stage", "result_type", "last_batch", "download", *TrackedTaskAdmin.readonly_fields]
    readonly_fields = [*TrackedTaskAdmin.readonly_fields, "service", "params", "stage", "result_type", "last_batch", "download"]

    def get_queryset(self, request):
        return ConversionTask.all_objects.select_related("project", "owner")

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # Django's bulk delete would skip the storage purge
        return actions

    def has_add_permission(self, request):
        return False  # tasks come from the APIs and manage.py convert

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, obj):
        return format_html('<progress value="{}" max="100" title="{}%"></progress> {}%', obj.progress, obj.progress, obj.progress)

    @admin.display(description="result")
    def download(self, obj):
        if not obj.pk or obj.status != ConversionTask.Status.SUCCEEDED:
            return "-"
        if obj.result_type == "WEBSITE":
            url = reverse("conversion-site", args=[obj.site_token])
            return format_html('<a href="{}">open the website</a>', url)
        return format_html('<a href="/api/v1/downloads/{}">download</a>', obj.pk)

    def delete_model(self, request, obj):
        lifecycle.task_delete(task=obj, user=request.user)

    @admin.action(description="Delete selected (stop, remove files, hide the row)")
    def delete_selected_tasks(self, request, queryset):
        count = 0
        for task in queryset.filter(deleted_at__isnull=True):
            lifecycle.task_delete(task=task, user=request.user)
            count += 1
        self.message_user(request, f"Deleted {count} task(s); their rows can be restored, their files cannot.", messages.SUCCESS)

    @admin.action(description="Restore selected (undo delete of the row)")
    def restore_selected_tasks(self, request, queryset):
        count = 0
        for task in queryset.filter(deleted_at__isnull=False):
            task.restore()
            count += 1
        self.message_user(request, f"Restored {count} task(s).", messages.SUCCESS)
