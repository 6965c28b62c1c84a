"""A project's OLake settings (the UI's System Settings page): read, and change the webhook alert target."""

from django.db import transaction

from kernel import safe_http
from pipelines.models import ProjectSettings
from pipelines.webhooks import webhook_url_check


def project_settings_get(*, project) -> ProjectSettings | None:
    return ProjectSettings.objects.filter(project=project).first()


def project_settings_update(
    *, project, user, webhook_alert_url: str, resolver: safe_http.Resolver | None = None
) -> ProjectSettings:
    """Save the webhook URL; an empty one turns alerts off. The URL must pass the SSRF guard now,
    and passes it again at each delivery, since a name may resolve elsewhere later."""
    url = (webhook_alert_url or "").strip()
    if url:
        webhook_url_check(url, resolver=resolver)
    with transaction.atomic():
        row, _ = ProjectSettings.objects.select_for_update().get_or_create(project=project)
        row.webhook_alert_url = url
        row.updated_by = user
        row.save()
    return row
