"""Admin of jobs: their runs inline, actions that go through the job services and keep schedules in step."""

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin import SoftDeleteAdmin
from kernel.errors import DomainError
from pipelines import services
from pipelines.clearing import job_clear_destination_start
from pipelines.models import Job, JobTask
from pipelines.schedules import job_schedule_sync


class JobTaskInline(admin.TabularInline):
    model = JobTask
    fk_name = "job"
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    fields = ["run", "kind", "status", "trigger", "rows_synced", "bytes_synced", "attempts", "started_at", "finished_at"]
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="run")
    def run(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:pipelines_jobtask_change", args=[obj.pk]), obj.pk)

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Job)
class JobAdmin(SoftDeleteAdmin):
    list_display = ["name", "project", "source", "destination", "frequency", "activate", "last_run", "deleted_at"]
    list_filter = ["activate", "source__type", "destination__type"]
    list_select_related = ["project", "source", "destination"]
    search_fields = ["name", "project__id", "source__name", "destination__name"]
    raw_id_fields = ["project", "source", "destination"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]
    inlines = [JobTaskInline]
    actions = ["sync_now", "clear_destination", "cancel_runs", "activate_jobs", "deactivate_jobs", "restore_selected", "soft_delete_selected"]

    @admin.display(description="last run")
    def last_run(self, obj):
        task = obj.tasks.order_by("-created_at").first()
        return f"{task.status} {task.created_at:%Y-%m-%d %H:%M}" if task else "-"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        job_schedule_sync(obj)

    def delete_model(self, request, obj):
        services.job_delete(job=obj, user=request.user)

    @admin.action(description="Delete selected (soft: can be restored)")
    def soft_delete_selected(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=True):
            services.job_delete(job=job, user=request.user)
        self.message_user(request, "Deleted; their schedules are removed.", messages.SUCCESS)

    @admin.action(description="Restore selected (undo delete)")
    def restore_selected(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=False):
            job.restore()
            job_schedule_sync(job)
        self.message_user(request, "Restored; active ones are scheduled again.", messages.SUCCESS)

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=True):
            try:
                with transaction.atomic():
                    task = services.job_sync_start(job=job, user=request.user)
                self.message_user(request, f"{job.name}: run {task.pk} queued.", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{job.name}: {exc.message}", messages.WARNING)

    @admin.action(description="Clear destination (remove what the selected streams wrote; the next sync is a full load)")
    def clear_destination(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=True):
            try:
                with transaction.atomic():
                    task = job_clear_destination_start(job=job, user=request.user)
                self.message_user(request, f"{job.name}: clear run {task.pk} queued.", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{job.name}: {exc.message}", messages.WARNING)

    @admin.action(description="Cancel running syncs and clears")
    def cancel_runs(self, request, queryset):
        for job in queryset:
            try:
                services.job_cancel(job=job, user=request.user)
                self.message_user(request, f"{job.name}: cancel requested.", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{job.name}: {exc.message}", messages.INFO)

    @admin.action(description="Activate (schedule)")
    def activate_jobs(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=True):
            services.job_set_active(job=job, user=request.user, activate=True)
        self.message_user(request, "Activated.", messages.SUCCESS)

    @admin.action(description="Deactivate (unschedule)")
    def deactivate_jobs(self, request, queryset):
        for job in queryset.filter(deleted_at__isnull=True):
            services.job_set_active(job=job, user=request.user, activate=False)
        self.message_user(request, "Deactivated.", messages.SUCCESS)
