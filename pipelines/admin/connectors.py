"""Admin of sources and destinations: configs edited masked through the connector services."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from kernel.admin import SoftDeleteAdmin
from kernel.errors import DomainError
from pipelines import services
from pipelines.connectors import DESTINATION_TYPES, SOURCE_TYPES, connector_class
from pipelines.models import Destination, Source
from pipelines.secrets import keep_masked_secrets, mask_config


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


class ConnectorAdmin(SoftDeleteAdmin):
    form = ConnectorForm
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
