"""Admin: sources and destinations (configs masked), jobs with their runs inline, runs with their log, chunked loads, project settings."""

import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin import SoftDeleteAdmin, TrackedTaskAdmin
from kernel.errors import DomainError
from kernel.history import HistoryAdmin
from kernel.runner import task_cancel
from pipelines import chunked, services
from pipelines.clearing import job_clear_destination_start
from pipelines.connectors import DESTINATION_TYPES, SOURCE_TYPES, connector_class
from pipelines.models import (
    ChangeCapture,
    ChunkedLoad,
    Destination,
    Job,
    JobTask,
    LoadChunk,
    ProjectSettings,
    Source,
    StreamState,
)
from pipelines.schedules import job_schedule_sync
from pipelines.secrets import keep_masked_secrets, mask_config
from pipelines.webhooks import url_shown, webhook_url_check


class ConnectorForm(forms.ModelForm):
    """The config is edited masked: a secret left as the mask keeps its stored value."""

    config = forms.JSONField(help_text="Secrets show as ******** and are kept unless you type a new value.")

    class Meta:
        fields = ["project", "name", "type", "version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = "source" if self._meta.model is Source else "destination"
        self.kind = kind
        types = SOURCE_TYPES if kind == "source" else DESTINATION_TYPES
        self.fields["type"] = forms.ChoiceField(choices=[(t, t) for t in types])
        if self.instance.pk:
            spec = connector_class(kind, self.instance.type).spec
            self.initial["config"] = mask_config(spec, self.instance.config)
        else:
            self.initial.setdefault("version", "latest")
            self.initial.setdefault("config", {})

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            spec = connector_class(self.kind, cleaned["type"], cleaned.get("version")).spec
            stored = self.instance.config if self.instance.pk and self.instance.type == cleaned["type"] else {}
            config = keep_masked_secrets(spec, cleaned["config"], stored)
            self.clean_config_value = services.connector_config_clean(
                kind=self.kind, type=cleaned["type"], version=cleaned.get("version"), config=config
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned

    def save(self, commit=True):
        self.instance.config = self.clean_config_value
        return super().save(commit=commit)


class ConnectorAdmin(HistoryAdmin, SoftDeleteAdmin):
    form = ConnectorForm
    history_list_display = ["config_changes"]  # key names only: the config itself is not in the history
    list_display = ["name", "type", "version", "project", "job_count", "updated_at", "deleted_at"]
    list_filter = ["type", "version"]
    list_select_related = ["project"]
    search_fields = ["name", "type", "project__id", "project__name"]
    raw_id_fields = ["project"]
    readonly_fields = ["masked_config", "created_at", "created_by", "updated_at", "updated_by"]

    @admin.display(description="jobs")
    def job_count(self, obj):
        return obj.jobs.filter(deleted_at__isnull=True).count()

    @admin.display(description="stored config (masked)")
    def masked_config(self, obj):
        if not obj.pk:
            return ""
        kind = "source" if isinstance(obj, Source) else "destination"
        spec = connector_class(kind, obj.type).spec
        return format_html("<pre>{}</pre>", json.dumps(mask_config(spec, obj.config), indent=2))

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        try:
            services.connector_delete(obj=obj, user=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="Delete selected (soft: can be restored)")
    def soft_delete_selected(self, request, queryset):
        for obj in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, obj)


admin.site.register(Source, ConnectorAdmin)
admin.site.register(Destination, ConnectorAdmin)


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


@admin.register(StreamState)
class StreamStateAdmin(admin.ModelAdmin):
    """Where each incremental stream stands; staff reset a stream to have it synced from scratch."""

    list_display = ["job", "stream", "cursor_field", "cursor_value", "generation", "updated_at"]
    list_filter = ["job__project", "updated_at"]
    list_select_related = ["job"]
    search_fields = ["stream", "cursor_field", "job__name", "job__project__id"]
    raw_id_fields = ["job"]
    readonly_fields = ["job", "stream", "cursor_field", "cursor_value", "generation", "updated_at"]
    actions = ["reset_selected"]

    def has_add_permission(self, request):
        return False  # state is written by syncs only

    @admin.action(description="Reset selected streams (the next run reads them from the start)")
    def reset_selected(self, request, queryset):
        try:
            count = services.stream_states_reset(states=queryset)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Reset {count} stream(s).", messages.SUCCESS)


@admin.register(ChangeCapture)
class ChangeCaptureAdmin(admin.ModelAdmin):
    """Each CDC job's replication slot and the position published through; staff drop a slot a job no longer needs."""

    list_display = ["job", "slot_name", "position_shown", "job_deleted", "created_at", "updated_at"]
    list_filter = ["job__project", "job__source__type", "updated_at"]
    list_select_related = ["job", "job__source"]
    search_fields = ["slot_name", "job__name", "job__project__id"]
    readonly_fields = ["job", "slot_name", "position_shown", "created_at", "updated_at"]
    exclude = ["position"]
    actions = ["drop_slots"]

    def get_queryset(self, request):
        return ChangeCapture.objects.select_related("job", "job__source")

    def has_add_permission(self, request):
        return False  # a CDC job's first run creates its slot

    @admin.display(description="position (LSN)", ordering="position")
    def position_shown(self, capture):
        return capture.position_lsn

    @admin.display(description="job deleted", boolean=True)
    def job_deleted(self, capture):
        return capture.job.is_deleted

    @admin.action(description="Drop the replication slots (the job's next CDC run loads its streams again)")
    def drop_slots(self, request, queryset):
        dropped = sum(services.job_capture_stop(job=capture.job) for capture in queryset)
        left = queryset.all().count()  # a fresh count: the loop above cached the rows it read
        level = messages.SUCCESS if not left else messages.WARNING
        self.message_user(request, f"Dropped {dropped} slot(s)" + (f"; {left} could not be dropped, see the log." if left else "."), level)


class LoadChunkInline(admin.TabularInline):
    model = LoadChunk
    extra = 0
    can_delete = False
    fields = ["index", "bounds", "done", "rows", "bytes", "loaded_by", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChunkedLoad)
class ChunkedLoadAdmin(admin.ModelAdmin):
    """Big full loads in progress (or cut short): how many chunks are done, and who is reading them."""

    list_display = ["__str__", "job", "task", "chunks_done", "rows_loaded", "reading", "created_at", "updated_at"]
    list_filter = ["job__project", "created_at"]
    list_select_related = ["job", "task"]
    search_fields = ["stream", "job__name", "job__project__id"]
    readonly_fields = ["job", "task", "stream", "stream_spec", "generation", "parts_key", "reading", "created_at", "updated_at"]
    exclude = ["snapshot"]
    inlines = [LoadChunkInline]
    actions = ["discard_loads"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            done_count=Count("chunks", filter=Q(chunks__done=True)), chunk_count=Count("chunks"), loaded_rows=Sum("chunks__rows")
        )

    def has_add_permission(self, request):
        return False  # a run plans its load

    @admin.display(description="chunks done", ordering="done_count")
    def chunks_done(self, load):
        return f"{load.done_count} / {load.chunk_count}"

    @admin.display(description="rows loaded", ordering="loaded_rows")
    def rows_loaded(self, load):
        return f"{load.loaded_rows or 0:,}"

    @admin.display(description="being read", boolean=True)
    def reading(self, load):
        return bool(load.snapshot)

    @admin.action(description="Discard the loads and their parts (the stream's next run loads it from the start)")
    def discard_loads(self, request, queryset):
        busy = queryset.exclude(snapshot="").count()
        discarded = sum(chunked.discard_load(load) for load in queryset.filter(snapshot=""))
        message = f"Discarded {discarded} load(s)" + (f"; {busy} being read now were left alone." if busy else ".")
        self.message_user(request, message, messages.WARNING if busy else messages.SUCCESS)


@admin.register(LoadChunk)
class LoadChunkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "load", "index", "done", "rows", "bytes", "loaded_by", "finished_at"]
    list_filter = ["done", "finished_at"]
    list_select_related = ["load"]
    search_fields = ["load__stream", "load__job__name", "loaded_by"]
    readonly_fields = ["load", "index", "bounds", "done", "rows", "bytes", "cursor_max", "loaded_by", "finished_at"]

    def has_add_permission(self, request):
        return False


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = ProjectSettings
        fields = ["project", "webhook_alert_url"]

    def clean_webhook_alert_url(self):
        # Staff saves pass the same SSRF guard as the UI's: d2d POSTs to this URL from its workers.
        url = self.cleaned_data["webhook_alert_url"].strip()
        if url:
            try:
                webhook_url_check(url)
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return url


@admin.register(ProjectSettings)
class ProjectSettingsAdmin(admin.ModelAdmin):
    """Each project's OLake settings: the webhook that hears about failed runs."""

    form = ProjectSettingsForm
    list_display = ["project", "webhook_target", "updated_at", "updated_by"]
    list_select_related = ["project", "updated_by"]
    search_fields = ["project__id", "project__name", "webhook_alert_url"]
    raw_id_fields = ["project"]
    readonly_fields = ["updated_at", "updated_by"]

    @admin.display(description="webhook (without its query)")
    def webhook_target(self, obj):
        # The query string of a webhook URL is often its secret (Slack, Teams): lists leave it out.
        return url_shown(obj.webhook_alert_url) if obj.webhook_alert_url else "—"

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "project"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
