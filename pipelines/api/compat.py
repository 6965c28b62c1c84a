"""How OLake server clients are met: project aliases, and the dialect a request speaks (004's or the server's).

The two agree on paths and envelope but not on a few shapes: the server sends ``config`` and
``streams_config`` as strings of JSON, wraps a spec as ``{jsonschema, uischema}``, and answers a
failed connection test with 200 and ``status: FAILED``. A request picks one with the
``X-OLake-Dialect`` header; a request through a project alias (the UI's hard-coded ``123``)
speaks the server's; anything else speaks ``D2D_OLAKE_DIALECT`` (004 by default).
"""

import json

from django.conf import settings
from rest_framework.exceptions import ValidationError

from accounts.models import Project

CONTRACT = "004"
SERVER = "server"
HEADER = "X-OLake-Dialect"


def project_alias_target(project_id: str) -> str | None:
    """The project an alias stands for, or None when the id is no alias."""
    return settings.D2D_OLAKE_PROJECT_ALIASES.get(project_id)


def resolve_project_id(project_id: str) -> str:
    """The id to look up: a real project of that id wins over an alias of the same name.

    Scoping is unchanged: the caller must still be a member of the project the alias names.
    """
    target = project_alias_target(project_id)
    if target is None or Project.all_objects.filter(pk=project_id).exists():
        return project_id
    return target


def request_dialect(request, project_id: str | None = None) -> str:
    chosen = request.headers.get(HEADER, "").strip().lower()
    if chosen:
        if chosen not in (CONTRACT, SERVER):
            raise ValidationError({HEADER: [f"must be {CONTRACT} or {SERVER}"]})
        return chosen
    if project_id is not None and project_alias_target(project_id) is not None:
        return SERVER
    return settings.D2D_OLAKE_DIALECT


def json_field(value, dialect: str):
    """A JSON field as the dialect sends it: the value itself (004) or its text (the server)."""
    if dialect == SERVER:
        return json.dumps(value if value is not None else {}, separators=(",", ":"), default=str)
    return value


def ui_schema(spec: dict) -> dict:
    """A react-jsonschema-form uiSchema for a spec: fields in the spec's order, secrets as password inputs."""
    properties = spec.get("properties", {})
    schema: dict = {"ui:order": [*properties, "*"]}
    for name, prop in properties.items():
        if prop.get("format") == "password" or prop.get("secret"):
            schema[name] = {"ui:widget": "password"}
    return schema
