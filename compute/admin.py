"""Admin for datasets (file URLs write-only, services shown), algorithms, orders (mark paid), nonces and
compute jobs (their inputs, results to download, the algorithm's log)."""

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from compute.datasets import dataset_set_files, services_clean
from compute.jobs import job_result_file, job_results_remove, job_stop
from compute.models import Algorithm, ComputeJob, Dataset, Nonce, Order
from compute.orders import OrderNotPaid, order_mark_paid
from kernel.admin import RunTable, SoftDeleteAdmin, TrackedTaskAdmin
from kernel.errors import DomainError
from kernel.run_admin import size_text

ALGORITHM_LOG_PREVIEW = 20_000


class DatasetForm(forms.ModelForm):
    """Files are typed in the clear and stored only encrypted; the form never shows them back."""

    files_json = forms.CharField(
        label="Files (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": '[{"url": "https://…/data.csv", "contentType": "text/csv"}]'}),
        help_text="Write-only: a JSON list of {url, contentType}. Leave empty to keep the current files.",
    )

    class Meta:
        model = Dataset
        fields = ["project", "did", "name", "metadata", "publisher_address", "datatoken_address", "services"]

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("files_json", "").strip()
        if not raw and not (self.instance.pk and self.instance.encrypted_files):
            self.add_error("files_json", "a new dataset needs its files")
        if raw:
            try:
                dataset_set_files(dataset=self.instance, files=json.loads(raw))
            except ValueError:
                self.add_error("files_json", "not valid JSON")
            except DomainError as exc:
                self.add_error("files_json", exc.message)
        try:
            cleaned["services"] = services_clean(cleaned.get("services"))
        except DomainError as exc:
            self.add_error("services", exc.message)
        return cleaned


@admin.register(Dataset)
class DatasetAdmin(SoftDeleteAdmin):
    form = DatasetForm
    list_display = ["name", "did", "project", "datatoken_address", "file_count", "service_list", "created_at", "deleted_at"]
    list_select_related = ["project"]
    search_fields = ["name", "did", "datatoken_address", "project__id"]
    raw_id_fields = ["project"]
    readonly_fields = ["public_files", "services_table"]

    @admin.display(description="services")
    def service_list(self, obj):
        return ", ".join(f"{service.get('index')}: {service.get('type')}" for service in obj.services or []) or "-"

    @admin.display(description="services (as published)")
    def services_table(self, obj):
        services = obj.services or []
        if not services:
            return "(none)"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    service.get("index"), service.get("type"), service.get("price", "-"), service.get("timeout", "-"),
                    ", ".join(str(algorithm) for algorithm in service.get("trustedAlgorithms", [])) or "-",
                )
                for service in services
            ),
        )
        return format_html(
            '<table class="d2d-table"><thead><tr><th>index</th><th>type</th><th>price</th><th>timeout</th>'
            "<th>trusted algorithms</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="files")
    def file_count(self, obj):
        return len(obj.files)

    @admin.display(description="files (public facts; URLs are stored encrypted)")
    def public_files(self, obj):
        return json.dumps(obj.files)

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Algorithm)
class AlgorithmAdmin(SoftDeleteAdmin):
    list_display = ["name", "did", "project", "entrypoint", "created_at", "deleted_at"]
    list_select_related = ["project"]
    search_fields = ["name", "did", "project__id"]
    raw_id_fields = ["project"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "service_type", "consumer_address", "num_tokens", "paid", "tx_id", "created_at"]
    list_filter = ["paid", "service_type", "verified_by", "created_at"]
    list_select_related = ["dataset"]
    search_fields = ["consumer_address", "tx_id", "dataset__did", "dataset__name"]
    raw_id_fields = ["dataset"]
    readonly_fields = ["provider_address", "datatoken_address", "paid_at", "verified_by", "created_at"]
    actions = ["mark_paid"]

    @admin.action(description="Mark paid (local ledger; keeps a typed tx id, else records a local one)")
    def mark_paid(self, request, queryset):
        marked = 0
        for order in queryset.filter(paid=False):
            try:
                order_mark_paid(order=order, tx_id=order.tx_id or f"local:{uuid.uuid4().hex}")
                marked += 1
            except OrderNotPaid as exc:
                self.message_user(request, f"order {order.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Marked {marked} order(s) paid.", messages.SUCCESS)


@admin.register(Nonce)
class NonceAdmin(admin.ModelAdmin):
    list_display = ["address", "value", "updated_at"]
    search_fields = ["address"]
    readonly_fields = ["updated_at"]


@admin.register(ComputeJob)
class ComputeJobAdmin(TrackedTaskAdmin):
    list_display = ["job_id", "owner_address", "dataset", "status_badge", "progress_bar", "stage", "stop_reason", "created_at", "finished_at"]
    list_select_related = ["dataset", "project"]
    search_fields = ["job_id", "owner_address", "dataset__did", "stop_reason"]
    raw_id_fields = ["project", "owner", "dataset", "order", "algorithm"]
    readonly_fields = [
        *TrackedTaskAdmin.readonly_fields,
        "job_id", "stage", "log_path", "algorithm_log", "stop_reason", "sandbox_pid", "removed_at",
    ]
    exclude = ["results"]  # shown as a table with download links (run_tables)
    actions = ["stop_selected", "delete_results_selected"]

    def get_urls(self):
        result = path("<path:object_id>/results/<str:index>/", self.admin_site.admin_view(self.result_view), name="compute_computejob_result")
        return [result, *super().get_urls()]

    def result_view(self, request, object_id, index):
        """A result file or the algorithm log, for staff (owners fetch theirs through the signed endpoint)."""
        job = self._viewable(request, object_id)
        try:
            handle, name = job_result_file(job=job, index=index)
        except DomainError as exc:
            raise Http404(exc.message) from exc
        response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def _result_link(self, job, index) -> str:
        return format_html('<a href="{}">download</a>', reverse("admin:compute_computejob_result", args=[job.pk, index]))

    def run_tables(self, request, obj):
        """What the job read (dataset files as public facts, never their URLs; the algorithm) and what it wrote."""
        dataset = obj.dataset
        inputs = [
            ["dataset", format_html('<a href="{}">{}</a>', reverse("admin:compute_dataset_change", args=[dataset.pk]), dataset),
             f"file {item.get('index', position)}: {item.get('contentType', '?')}", size_text(item.get("contentLength") or item.get("size"))]
            for position, item in enumerate(dataset.files or [])
        ] or [["dataset", str(dataset), "no public file facts", "-"]]
        if obj.algorithm_id:
            url = reverse("admin:compute_algorithm_change", args=[obj.algorithm_id])
            inputs.append(["algorithm", format_html('<a href="{}">{}</a>', url, obj.algorithm), "published", "-"])
        elif obj.algorithm_meta:
            container = obj.algorithm_meta.get("container", {})
            image = f"{container.get('image', '?')}:{container.get('tag', '')}".rstrip(":")
            inputs.append(["algorithm", "raw code", f"container {image}", size_text(len(obj.algorithm_meta.get("rawcode", "")))])
        if obj.order_id:
            url = reverse("admin:compute_order_change", args=[obj.order_id])
            inputs.append(["order", format_html('<a href="{}">{}</a>', url, obj.order), "", "-"])
        results = [
            [item.get("index"), item.get("filename"), size_text(item.get("size")), self._result_link(obj, item.get("index"))]
            for item in obj.results or []
        ]
        if obj.log_path:
            results.append(["log", "algorithm.log", "-", self._result_link(obj, "log")])
        empty = "deleted by the owner" if obj.removed_at else "(no result yet)"
        return [
            RunTable("Inputs", ["what", "name", "detail", "size"], inputs),
            RunTable("Results", ["index", "file", "size", "download"], results, empty=empty),
        ]

    @admin.display(description="algorithm output (stdout and stderr, first 20 kB)")
    def algorithm_log(self, obj):
        if not obj.log_path or not default_storage.exists(obj.log_path):
            return "(none)"
        with default_storage.open(obj.log_path, "rb") as handle:
            text = handle.read(ALGORITHM_LOG_PREVIEW).decode("utf-8", errors="replace")
        return format_html('<pre style="max-height:30em;overflow:auto;white-space:pre-wrap">{}</pre>', text)

    def has_add_permission(self, request):
        return False  # jobs start through the signed compute endpoint, after the order check

    @admin.action(description="Stop selected (status 7)")
    def stop_selected(self, request, queryset):
        for job in queryset:
            job_stop(job=job, reason=f"stopped by {request.user.username} in the admin")
        self.message_user(request, "Stop requested; running sandboxes are killed within a second.", messages.SUCCESS)

    @admin.action(description="Stop and delete results (status 8)")
    def delete_results_selected(self, request, queryset):
        for job in queryset:
            job_stop(job=job, reason=f"deleted by {request.user.username} in the admin")
            job_results_remove(job=job)
        self.message_user(request, "Results deleted.", messages.SUCCESS)
