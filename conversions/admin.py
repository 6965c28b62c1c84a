"""Admin for conversion tasks (start one from an upload; inputs and results inline, progress, the log,
cancel/retry/delete/restore), and for input assets and result files on their own (download, retry failed downloads)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from conversions import lifecycle
from accounts.models import Project
from conversions.api.responses import stored_file_response
from conversions.converters import all_services
from conversions.models import ConversionTask, InputAsset, ResultFile, Stage
from kernel.admin import DeletedFilter, TrackedTaskAdmin
from kernel.errors import DomainError, TaskAlreadyQueued
from kernel.models import ACTIVE_STATUSES
from kernel.runner import task_enqueue


def _task_link(task_id, label) -> str:
    url = reverse("admin:conversions_conversiontask_change", args=[task_id])
    return format_html('<a href="{}">{}</a>', url, label)


def _download_link(obj, model_name: str) -> str:
    """A staff download through the admin (the API's download endpoints need project membership and a finished task)."""
    if not obj.pk or not obj.file:
        return "-"
    url = reverse(f"admin:conversions_{model_name}_download", args=[obj.pk])
    return format_html('<a href="{}">download</a>', url)


class StoredFileAdmin(admin.ModelAdmin):
    """Rows that point at a stored file: read-only records with a download view; rows come and go with their task."""

    list_select_related = ["task"]
    raw_id_fields = ["task"]
    date_hierarchy = "created_at"
    search_fields = ["task__id", "task__service", "task__project__id", "task__owner__username"]

    def has_add_permission(self, request):
        return False  # inputs and results come from the APIs and the worker

    def has_delete_permission(self, request, obj=None):
        return False  # deleting the task (its admin or the API) purges its files; a lone row would orphan one

    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        download = path("<path:object_id>/download/", self.admin_site.admin_view(self.download_view), name="%s_%s_download" % info)
        return [download, *super().get_urls()]

    def download_view(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj) or not obj.file:
            raise Http404("no such file")
        response = stored_file_response(request, obj.file.name, filename=self.download_name(obj), content_type=self.download_content_type(obj))
        response["X-Content-Type-Options"] = "nosniff"  # an attachment, never rendered as the admin's own page
        return response

    def download_name(self, obj) -> str:
        raise NotImplementedError

    def download_content_type(self, obj) -> str:
        return "application/octet-stream"

    @admin.display(description="task", ordering="task__created_at")
    def task_link(self, obj):
        return _task_link(obj.task_id, obj.task)

    @admin.display(description="size", ordering="size")
    def size_display(self, obj):
        return filesizeformat(obj.size) if obj.size else "-"

    @admin.display(description="download")
    def download(self, obj):
        return _download_link(obj, self.opts.model_name)


class InputAssetInline(admin.TabularInline):
    model = InputAsset
    extra = 0
    can_delete = False
    fields = ["position", "file_name", "status", "size", "download_url", "failure_reason", "attributes", "download"]
    readonly_fields = fields

    @admin.display(description="download")
    def download(self, obj):
        return _download_link(obj, "inputasset") if obj.pk else ""

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
        return _download_link(obj, "resultfile") if obj.pk else ""


class StartConversionForm(forms.Form):
    """What a conversion needs from staff: a project, a service, its parameters and the file to convert."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), help_text="The task belongs to this project.")
    service = forms.ChoiceField()
    params = forms.JSONField(required=False, initial=dict, help_text="The service's parameters as JSON, e.g. {\"to\": \"parquet\"}.")
    file = forms.FileField(help_text="Converted as if uploaded through the API; a ZIP of several files is expanded.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.for_user(user).order_by("pk")
        self.fields["service"].choices = [(name, name) for name in sorted(all_services())]


@admin.register(ConversionTask)
class ConversionTaskAdmin(TrackedTaskAdmin):
    list_display = ["__str__", "service", "project", "owner", "status_badge", "stage", "progress_bar", "attempts", "created_at", "finished_at", "deleted_at"]
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

    change_list_template = "admin/conversions/conversiontask/change_list.html"

    def has_add_permission(self, request):
        return False  # Django's add form would skip the service: the start page below goes through it

    def get_urls(self):
        start = path("start/", self.admin_site.admin_view(self.start_view), name="conversions_conversiontask_start")
        return [start, *super().get_urls()]

    def start_view(self, request):
        """Register, upload and submit through the conversions service, as the API's three steps do."""
        if not request.user.has_perm("conversions.add_conversiontask"):
            raise PermissionDenied
        form = StartConversionForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    task = lifecycle.task_register(
                        user=request.user, service=data["service"], params=data["params"] or {}, project_id=data["project"].pk
                    )
                    lifecycle.files_upload(task=task, uploads=[data["file"]])
                    lifecycle.task_submit(task=task)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.message_user(request, f"Conversion {task} started.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:conversions_conversiontask_change", args=[task.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "title": "Start a conversion"}
        return TemplateResponse(request, "admin/conversions/conversiontask/start.html", context)

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


class InputSourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return [("upload", "Uploaded"), ("url", "Downloaded from a URL")]

    def queryset(self, request, queryset):
        if self.value() == "upload":
            return queryset.filter(download_url="")
        if self.value() == "url":
            return queryset.exclude(download_url="")
        return queryset


@admin.register(InputAsset)
class InputAssetAdmin(StoredFileAdmin):
    list_display = ["file_name", "task_link", "status", "size_display", "source", "failure_reason_short", "created_at", "download"]
    list_filter = ["status", InputSourceFilter, "task__service", "task__status", "created_at"]
    search_fields = ["file_name", "download_url", "failure_reason", *StoredFileAdmin.search_fields]
    actions = ["retry_failed_downloads"]
    fields = [
        "task", "position", "file_name", "status", "failure_reason", "download_url", "attributes",
        "size", "downloaded_bytes", "created_at", "download",
    ]
    # The client's file name and the attributes a service reads (geojson's longitude/latitude) may be corrected
    # before running the task again; the stored file, its source and its state are the worker's.
    readonly_fields = [
        "task", "position", "status", "failure_reason", "download_url", "size", "downloaded_bytes", "created_at", "download",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.task.status in ACTIVE_STATUSES:
            return [*self.readonly_fields, "file_name", "attributes"]  # the worker is using it
        return self.readonly_fields

    def download_name(self, obj) -> str:
        return obj.file_name or obj.file.name.rsplit("/", 1)[-1]

    @admin.display(description="source")
    def source(self, obj):
        if not obj.download_url:
            return "upload"
        return format_html('<a href="{}" rel="noreferrer noopener">URL</a>', obj.download_url)

    @admin.display(description="failure reason", ordering="failure_reason")
    def failure_reason_short(self, obj):
        reason = obj.failure_reason
        return (reason[:80] + "…") if len(reason) > 80 else (reason or "-")

    @admin.action(description="Retry the download of selected failed assets (runs their tasks again)")
    def retry_failed_downloads(self, request, queryset):
        """Failed URL assets go back to pending and their task runs again, which fetches them before converting."""
        failed = queryset.filter(status=InputAsset.Status.FAILED).exclude(download_url="").select_related("task")
        by_task: dict = {}
        for asset in failed:
            by_task.setdefault(asset.task_id, (asset.task, []))[1].append(asset.pk)
        retried, queued, skipped = 0, 0, []
        for task, asset_ids in by_task.values():
            if task.is_deleted or task.files_purged_at:
                skipped.append(f"{task} (deleted)")
                continue
            try:
                with transaction.atomic():
                    locked = ConversionTask._base_manager.select_for_update().get(pk=task.pk)
                    if locked.status in ACTIVE_STATUSES:
                        raise TaskAlreadyQueued(str(task))
                    retried += InputAsset.objects.filter(pk__in=asset_ids).update(status=InputAsset.Status.PENDING, failure_reason="")
                    ConversionTask._base_manager.filter(pk=task.pk).update(stage=Stage.DOWNLOADING)
                    task_enqueue(locked, message=f"queued again by {request.user.username}: retrying {len(asset_ids)} failed asset(s)")
                queued += 1
            except TaskAlreadyQueued:
                skipped.append(f"{task} (queued or running; cancel it first)")
        text = f"Retrying {retried} asset(s) in {queued} task(s)."
        if skipped:
            text += " Skipped: " + ", ".join(skipped) + "."
        nothing = queryset.count() - failed.count()
        if nothing:
            text += f" {nothing} selected asset(s) had not failed or were uploads, and were left alone."
        self.message_user(request, text, messages.WARNING if skipped else messages.SUCCESS)


@admin.register(ResultFile)
class ResultFileAdmin(StoredFileAdmin):
    list_display = ["name", "task_link", "content_type", "size_display", "is_archive", "created_at", "download"]
    list_filter = ["is_archive", "content_type", "task__service", "created_at"]
    search_fields = ["name", "content_type", *StoredFileAdmin.search_fields]
    fields = ["task", "name", "content_type", "size", "is_archive", "created_at", "download"]
    readonly_fields = fields  # a result is the worker's output: replaced by running the task again, never edited

    def download_name(self, obj) -> str:
        return obj.name.rsplit("/", 1)[-1]

    def download_content_type(self, obj) -> str:
        return obj.content_type or "application/octet-stream"
