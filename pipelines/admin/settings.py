"""Admin of each project's OLake settings (the failed-run webhook), guarded as the UI's saves are."""

from django import forms
from django.contrib import admin

from kernel.errors import DomainError
from pipelines.models import ProjectSettings
from pipelines.webhooks import url_shown, webhook_url_check


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
