"""A connector's admin form: its config as a form generated from the connector's spec, checked by the connector services."""

import copy

from django import forms
from django_jsonform.forms.fields import JSONFormField
from django_jsonform.utils import join_coords

from kernel.errors import DomainError
from pipelines import services
from pipelines.connectors import DESTINATION_TYPES, SOURCE_TYPES, connector_class
from pipelines.models import Source
from pipelines.secrets import blank_secrets, blank_secrets_as_mask, is_secret, keep_masked_secrets

KEEP_SECRET = "Left blank, the stored value is kept."


def kind_of(model) -> str:
    return "source" if model is Source else "destination"


def type_choices(kind: str) -> list[tuple[str, str]]:
    registry = SOURCE_TYPES if kind == "source" else DESTINATION_TYPES
    return [(name, f"{connector_class(kind, name).title or name} ({name})") for name in registry]


def form_schema(spec: dict) -> dict:
    """The spec as django-jsonform reads it: descriptions become help texts, secrets password inputs."""
    schema = copy.deepcopy(spec)

    def walk(node: dict) -> None:
        for prop in node.get("properties", {}).values():
            if not isinstance(prop, dict):
                continue
            if prop.get("description"):
                prop.setdefault("help_text", prop["description"])
            if is_secret(prop):
                prop["format"] = "password"
                prop["help_text"] = f"{prop.get('help_text', '')} {KEEP_SECRET}".strip()
            if prop.get("type") == "object":
                walk(prop)
            items = prop.get("items")
            if prop.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
                walk(items)

    walk(schema)
    return schema


def without_nulls(value):
    """An emptied number input arrives as null: left out, the spec's default applies, as in an API body that omits it."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


class ConfigField(JSONFormField):
    """django-jsonform's editor, validated by the connector services alone (the API's checks), not by its own validator."""

    spec: dict = {}

    def validate(self, value):
        forms.JSONField.validate(self, value)

    def bound_data(self, data, initial):
        # A refused form comes back without the secrets typed into it, as Django's PasswordInput does.
        value = super().bound_data(data, initial)
        return blank_secrets(self.spec, value) if isinstance(value, dict) else value


class ConnectorForm(forms.ModelForm):
    """Name, type, version and a config form of that type; set ``connector_type`` and ``connector_version`` before use."""

    connector_type: str = ""
    connector_version: str = "latest"
    config = ConfigField(schema={"type": "object"}, required=False)  # replaced by the spec's form in __init__

    class Meta:
        fields = ["project", "name", "type", "version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind_of(self._meta.model)
        self.fields["type"] = forms.ChoiceField(choices=type_choices(self.kind), initial=self.connector_type)
        self.initial["type"] = self.connector_type
        versions = ["latest", *services.connector_versions(kind=self.kind, type=self.connector_type)]
        version = self.connector_version if self.connector_version in versions else "latest"
        self.fields["version"] = forms.ChoiceField(choices=[(v, v) for v in versions], initial=version)
        self.initial["version"] = version
        self.spec = services.connector_spec(kind=self.kind, type=self.connector_type, version=version)
        self.same_type = bool(self.instance.pk) and self.instance.type == self.connector_type
        self.fields["config"] = ConfigField(schema=form_schema(self.spec), required=False, label="Config")
        self.fields["config"].spec = self.spec
        self.initial["config"] = blank_secrets(self.spec, self.instance.config) if self.same_type else None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        name, project = cleaned.get("name"), cleaned.get("project") or self.instance.project
        if not services.name_is_free(self._meta.model, project, name, exclude=self.instance if self.instance.pk else None):
            self.add_error("name", services.name_taken(self._meta.model, project, name).message)
        self.config_sent = blank_secrets_as_mask(self.spec, without_nulls(cleaned.get("config") or {}))
        stored = self.instance.config if self.same_type else {}
        self.config_checked = keep_masked_secrets(self.spec, self.config_sent, stored)
        try:
            services.connector_config_clean(kind=self.kind, type=cleaned["type"], version=cleaned["version"], config=self.config_checked)
        except services.ConfigInvalid as exc:
            widget = self.fields["config"].widget
            for path, message in exc.errors:
                widget.add_error({join_coords(*path): [message]})
            self.add_error("config", exc.message)
        except DomainError as exc:
            self.add_error("config", exc.message)
        return cleaned

    def save_through_services(self, user):
        """Create or update through the services the API uses; the form's instance is never saved directly."""
        data = self.cleaned_data
        if self.instance.pk:
            fresh = self._meta.model.all_objects.get(pk=self.instance.pk)  # untouched by the form's construct_instance
            return services.connector_update(
                obj=fresh, user=user, name=data["name"], type=data["type"], version=data["version"], config=self.config_sent
            )
        return services.connector_create(
            model=self._meta.model, project=data["project"], user=user, name=data["name"], type=data["type"],
            version=data["version"], config=self.config_checked,
        )
