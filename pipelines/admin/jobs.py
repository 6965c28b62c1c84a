"""Admin of jobs: a streams table, buttons and actions that go through the job services, run figures in the list."""

from cron_descriptor import get_description
from croniter import croniter
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from kernel.admin import SoftDeleteAdmin
from kernel.history import HistoryAdmin
from kernel.errors import DomainError
from kernel.models import TaskStatus
from pipelines import selectors, services
from pipelines.admin.job_forms import JobForm
from pipelines.clearing import job_clear_destination_start
from pipelines.models import Job, JobTask
from pipelines.schedules import frequency_to_cron, job_schedule_sync

BADGE_COLOURS = {
    TaskStatus.SUCCEEDED: "#2e7d32", TaskStatus.FAILED: "#c62828", TaskStatus.CANCELLED: "#6d6d6d",
    TaskStatus.RUNNING: "#1565c0", TaskStatus.QUEUED: "#8e6c00", TaskStatus.RETRYING: "#8e6c00", TaskStatus.CREATED: "#6d6d6d",
}


def status_badge(status: str):
    colour = BADGE_COLOURS.get(status, "#6d6d6d")
    return format_html(
        '<span class="run-badge run-{}" style="background:{};color:#fff;padding:1px 7px;border-radius:8px">{}</span>',
        status, colour, status,
    )


def schedule_in_words(frequency: str, *, now=None, count: int = 3) -> tuple[str, list]:
    """The frequency in words and its next ``count`` run times (UTC), as the scheduler computes them."""
    cron = frequency_to_cron(frequency)
    start = now or timezone.now()
    runs = croniter(cron, start)
    return get_description(cron), [runs.get_next(type(start)) for _ in range(count)]


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
class JobAdmin(HistoryAdmin, SoftDeleteAdmin):
    form = JobForm
    change_form_template = "admin/pipelines/job_change_form.html"
    list_display = ["name", "project", "source", "destination", "schedule_short", "activate", "last_run", "next_run",
                    "last_run_rows", "success_rate", "deleted_at"]
    list_filter = ["activate", "source__type", "destination__type"]
    list_select_related = ["project", "source", "destination"]
    search_fields = ["name", "project__id", "source__name", "destination__name"]
    raw_id_fields = ["project", "source", "destination"]
    readonly_fields = ["schedule", "created_at", "created_by", "updated_at", "updated_by"]
    inlines = [JobTaskInline]
    actions = ["sync_now", "clear_destination", "cancel_runs", "activate_jobs", "deactivate_jobs", "restore_selected", "soft_delete_selected"]

    def get_queryset(self, request):
        return selectors.jobs_with_run_figures(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        # job_update moves no job between projects, so the form does not offer it.
        return [*self.readonly_fields, "project"] if obj is not None else self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f not in self.readonly_fields]  # nothing to show yet

    @admin.display(description="schedule", ordering="frequency")
    def schedule_short(self, obj):
        return obj.frequency or "on demand"

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, obj):
        if not obj.last_run_id:
            return "—"
        link = reverse("admin:pipelines_jobtask_change", args=[obj.last_run_id])
        return format_html('<a href="{}">{}</a> {}', link, status_badge(obj.last_run_status), f"{obj.last_run_at:%Y-%m-%d %H:%M}")

    @admin.display(description="next run", ordering="next_run")
    def next_run(self, obj):
        return f"{obj.next_run:%Y-%m-%d %H:%M}" if obj.next_run and obj.activate and not obj.deleted_at else "—"

    @admin.display(description="rows of the last run", ordering="last_run_rows")
    def last_run_rows(self, obj):
        return f"{obj.last_run_rows:,}" if obj.last_run_id else "—"

    @admin.display(description="success (last 20)")
    def success_rate(self, obj):
        if not obj.runs_finished:
            return "—"
        return f"{round(100 * obj.runs_succeeded / obj.runs_finished)}% of {obj.runs_finished}"

    @admin.display(description="schedule")
    def schedule(self, obj):
        if not obj.frequency:
            return "On demand only (no schedule)."
        words, runs = schedule_in_words(obj.frequency)
        state = "" if obj.activate and not obj.deleted_at else format_html(" <strong>{}</strong>", "Paused: these runs will not happen.")
        times = format_html_join("", "<li>{}</li>", ((f"{run:%Y-%m-%d %H:%M %Z}",) for run in runs))
        return format_html("{} ({}){}<br>Next runs:<ul class=\"next-runs\">{}</ul>", words, obj.frequency, state, times)

    def save_model(self, request, obj, form, change):
        saved = form.save_through_services(request.user)
        obj.__dict__.update(saved.__dict__)  # the admin logs the change, saves the inlines and redirects with obj

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context.update(streams=form.streams, discovery_error=form.discovery_error, clear_keys=form.clear_keys,
                       confirm_value=",".join(form.clear_keys))
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- buttons on the change page ---------------------------------------------------------

    BUTTONS = {"sync": "Sync now", "cancel": "Cancel", "clear": "Clear destination", "pause": "Pause", "resume": "Resume"}

    def get_urls(self):
        return [
            path("<path:object_id>/do/<str:button>/", self.admin_site.admin_view(self.button_view), name="pipelines_job_button"),
            *super().get_urls(),
        ]

    def button_view(self, request, object_id, button):
        """One of the page's buttons, through the service the API's endpoint of the same name calls."""
        if request.method != "POST" or button not in self.BUTTONS:
            raise Http404("use a button on the job's page")
        job = self.get_object(request, object_id)
        if job is None or job.is_deleted:
            raise Http404(f"no live job {object_id}")
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        try:
            with transaction.atomic():
                message = self.press(button, job, request.user)
        except DomainError as exc:
            self.message_user(request, f"{self.BUTTONS[button]}: {exc.message}", messages.WARNING)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return redirect(reverse("admin:pipelines_job_change", args=[job.pk]))

    def press(self, button: str, job: Job, user) -> str:
        if button == "sync":
            return f"Sync queued as run {services.job_sync_start(job=job, user=user).pk}."
        if button == "clear":
            return f"Clear of the destination queued as run {job_clear_destination_start(job=job, user=user).pk}."
        if button == "cancel":
            return f"Cancel requested for {len(services.job_cancel(job=job, user=user))} run(s)."
        job = services.job_set_active(job=job, user=user, activate=button == "resume")
        return "Resumed: the schedule runs again." if job.activate else "Paused: no scheduled runs until resumed."

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
