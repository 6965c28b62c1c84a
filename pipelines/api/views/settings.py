"""A project's settings as the OLake server has them (/api/v1/project/{id}/settings): the webhook for failed runs.

Changing the webhook needs the editor role, as every other write of a project's OLake
configuration does. It is a target d2d sends to, but editors already choose the hosts d2d
connects to (their sources and destinations) and can read everything an alert says, and
the guard refuses non-public addresses either way; owner-only would lock the UI's default
users (signup makes them editors) out of its Settings page for no protection gained.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.models import Role
from kernel.api.serializers import envelope_of
from kernel.errors import DomainError
from pipelines.api.views.base import ENVELOPE_RESPONSES, PipelinesView
from pipelines.project_settings import project_settings_get, project_settings_update


class ProjectSettingsSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="1 once the project's settings were saved, 0 before (no row yet)")
    project_id = serializers.CharField(help_text="the project id as the request's path names it")
    webhook_alert_url = serializers.CharField(allow_blank=True)


class ProjectSettingsWriteSerializer(serializers.Serializer):
    project_id = serializers.CharField(required=False, help_text="when given, the path's project id")
    webhook_alert_url = serializers.CharField(allow_blank=True, max_length=2000, trim_whitespace=True)
    id = serializers.IntegerField(required=False, help_text="ignored (the UI sends back what it read)")


def settings_body(row, projectid: str) -> dict:
    return {"id": 1 if row is not None else 0, "project_id": projectid, "webhook_alert_url": row.webhook_alert_url if row else ""}


class ProjectSettingsView(PipelinesView):
    @extend_schema(tags=["olake settings"], responses={200: envelope_of("ProjectSettingsResponse", ProjectSettingsSerializer), **ENVELOPE_RESPONSES})
    def get(self, request, projectid: str):
        project = self.project(request, projectid, Role.VIEWER)
        return self.ok(settings_body(project_settings_get(project=project), projectid), message="project settings")

    @extend_schema(
        tags=["olake settings"],
        request=ProjectSettingsWriteSerializer,
        responses={200: envelope_of("ProjectSettingsUpdateResponse", ProjectSettingsSerializer), **ENVELOPE_RESPONSES},
        description="Set the URL d2d POSTs {job_id, job_name, run_id, status, error, project} to when a run fails; "
        "empty turns alerts off. It must be http(s) and resolve to public addresses (D2D_PIPELINES_WEBHOOK_ALLOWLIST excepted).",
    )
    def put(self, request, projectid: str):
        project = self.project(request, projectid, Role.EDITOR)
        payload = self.body(request, ProjectSettingsWriteSerializer)
        given = payload.get("project_id")
        if given is not None and given not in (projectid, project.pk):
            raise DomainError(f"project_id {given!r} in the body does not match the path's {projectid!r}", field="project_id")
        row = project_settings_update(project=project, user=request.user, webhook_alert_url=payload["webhook_alert_url"])
        return self.ok(settings_body(row, projectid), message="Project Settings updated successfully")
