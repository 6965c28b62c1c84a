"""OpenAPI shapes of the conversion requests whose rules a plain serializer cannot state.

* Registering a task: which ``params`` are valid depends on the ``service``, so the body is one
  object per service (``oneOf``, told apart by ``service``), each with that service's own parameter
  schema, plus one for the default service when ``service`` is absent or blank.
* ``POST /api/v1/assets``: at most ``D2D_CONVERSIONS_ASSETS_PER_BATCH`` assets per call.
* ``POST /api/v1/uploads/tasks/{id}/urls``: at least one URL or asset.

Extra top-level fields are ignored by the server, so the objects leave ``additionalProperties`` open;
inside ``params`` they are refused (each service's schema closes it). Imported by the views, which
registers the extensions with drf-spectacular.
"""

import copy

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from conversions.api.serializers import PROJECT_PATTERN
from conversions.converters import all_services

PROJECT = {
    "type": "string",
    "pattern": PROJECT_PATTERN,
    "description": "a project id; blank or absent: D2D_CONVERSIONS_PROJECT, else your first project you can edit",
}


def openapi_schema(json_schema: dict) -> dict:
    """A service's JSON schema (draft 2020-12) in OpenAPI 3.0's dialect: ``type: [X, "null"]`` becomes
    ``nullable``, and an empty ``required`` list is dropped."""
    schema = copy.deepcopy(json_schema)

    def convert(node):
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: convert(value) if key not in ("enum", "default", "const") else value for key, value in node.items()}
        kind = node.get("type")
        if isinstance(kind, list):
            others = [name for name in kind if name != "null"]
            if "null" in kind:
                node["nullable"] = True
            if len(others) == 1:
                node["type"] = others[0]
            else:
                node.pop("type")
                node["anyOf"] = [{"type": name} for name in others]
        if node.get("required") == []:
            node.pop("required")
        return node

    return convert(schema)


def params_schema(service) -> dict:
    schema = openapi_schema(service.params_schema)
    schema["description"] = f"{service.name} parameters (checked when the task is registered; defaults filled in)"
    return schema


def _component(auto_schema, name: str, schema: dict) -> dict:
    """Register ``schema`` as a named component and return a reference to it."""
    component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
    auto_schema.registry.register_on_missing(component)
    return component.ref


def task_create_schema(auto_schema) -> dict:
    """One named variant per service (its ``service`` has one value, so exactly one variant matches a body)."""
    services = all_services()
    variants = []
    default = services.get(settings.D2D_CONVERSIONS_DEFAULT_SERVICE)
    if default is not None:
        variant = {
            "type": "object",
            "description": f"no service (absent or blank): D2D_CONVERSIONS_DEFAULT_SERVICE, now {default.name}",
            "properties": {
                "service": {"type": "string", "maxLength": 0},
                "params": params_schema(default),
                "project": PROJECT,
            },
        }
        variants.append(_component(auto_schema, "TaskCreateDefaultService", variant))
    for name, service in services.items():
        variant = {
            "type": "object",
            "description": f"{service.title}; result type {service.result_type}",
            "properties": {
                "service": {"type": "string", "enum": [name]},
                "params": params_schema(service),
                "project": PROJECT,
            },
            "required": ["service"],
        }
        variants.append(_component(auto_schema, f"TaskCreate{name.title()}", variant))
    return {
        "type": "object",
        "description": "A service and its parameters: an unknown service or a bad parameter is a 400 naming it. "
        "GET /api/v1/uploads/services describes every service.",
        "properties": {
            "service": {"type": "string", "enum": ["", *services], "description": "default: D2D_CONVERSIONS_DEFAULT_SERVICE"},
            "params": {"type": "object", "description": "the service's parameters: see the variant of that service"},
            "project": PROJECT,
        },
        "oneOf": variants,
    }


class TaskCreateSchema(OpenApiSerializerExtension):
    target_class = "conversions.api.serializers.TaskCreateSerializer"

    def map_serializer(self, auto_schema, direction):
        return task_create_schema(auto_schema)


class OcrTaskCreateSchema(OpenApiSerializerExtension):
    target_class = "conversions.api.serializers.OcrTaskCreateSerializer"

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "properties": {"params": params_schema(all_services()["ocr"]), "project": PROJECT},
        }


class AssetsSchema(OpenApiSerializerExtension):
    target_class = "conversions.api.serializers.AssetsSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        schema["properties"]["data"]["maxItems"] = settings.D2D_CONVERSIONS_ASSETS_PER_BATCH
        schema["properties"]["data"]["description"] = "AssetData, at most assets_per_batch (D2D_CONVERSIONS_ASSETS_PER_BATCH)"
        return schema


class UrlsSchema(OpenApiSerializerExtension):
    target_class = "conversions.api.serializers.UrlsSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        limit = settings.D2D_CONVERSIONS_MAX_INPUTS
        for name in ("urls", "assets"):
            schema["properties"][name]["maxItems"] = limit
        schema["anyOf"] = [
            {"required": ["urls"], "properties": {"urls": {"minItems": 1}}},
            {"required": ["assets"], "properties": {"assets": {"minItems": 1}}},
        ]
        schema["description"] = "At least one URL or asset; a task takes at most D2D_CONVERSIONS_MAX_INPUTS inputs in all."
        return schema


class RequiredBodySchema(AutoSchema):
    """For a view that always needs a body (an empty one is a 400) although no single field is required."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body

