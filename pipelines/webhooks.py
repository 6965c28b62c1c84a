"""Failed-run alerts to a project's webhook, through the SSRF guard at save time and again at every delivery.

A run that ends FAILED enqueues one delivery once its transaction commits; the worker that
takes it POSTs a small JSON body to the URL in the project's settings. Nothing here may
change how a run ends: a delivery that cannot be enqueued or sent is logged and dropped.
Logs name the URL without its query string, where receivers (Slack, Teams) keep their secret.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from kernel import safe_http
from kernel.errors import DomainError
from kernel.models import TaskStatus
from kernel.notify import task_changed
from pipelines.models import JobTask, ProjectSettings

logger = logging.getLogger(__name__)

DELIVER = "pipelines.webhooks.webhook_alert_deliver"


def url_shown(url: str) -> str:
    """The URL as logs and errors may show it: scheme, host, port and path, no query, fragment or user info."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def webhook_url_check(url: str, *, resolver: safe_http.Resolver | None = None) -> safe_http.Target:
    """The checked target of ``url``, or a DomainError (400) that says why d2d will not send to it."""
    try:
        return safe_http.check_url(url, allowlist=settings.D2D_PIPELINES_WEBHOOK_ALLOWLIST, resolver=resolver)
    except safe_http.UrlRefused as exc:
        raise DomainError(f"webhook_alert_url is refused: {exc}", field="webhook_alert_url") from exc


def webhook_alert_payload(task) -> dict:
    job = task.job
    return {
        "job_id": job.pk,
        "job_name": job.name,
        "run_id": task.pk,
        "status": task.status,
        "error": task.error,
        "project": job.project_id,
    }


def webhook_post(url: str, body: dict, *, timeout: float, resolver: safe_http.Resolver | None = None) -> int:
    """POST ``body`` as JSON to ``url`` by its checked address, without following redirects; the HTTP status."""
    return safe_http.post_json(webhook_url_check(url, resolver=resolver), body, timeout=timeout)


def webhook_alert_deliver(task_id: int) -> str:
    """django-q2 entry point: send the alert of one failed run to its project's webhook, if it has one."""
    task = JobTask.objects.select_related("job").filter(pk=task_id).first()
    if task is None:
        return "skipped: run gone"
    url = ProjectSettings.objects.filter(project_id=task.job.project_id).values_list("webhook_alert_url", flat=True).first()
    if not url:
        return "skipped: no webhook"
    shown = url_shown(url)
    try:
        status = webhook_post(url, webhook_alert_payload(task), timeout=settings.D2D_PIPELINES_WEBHOOK_TIMEOUT)
    except (DomainError, safe_http.FetchFailed) as exc:
        logger.warning("webhook alert of run %s to %s failed: %s", task_id, shown, _without_query(str(exc), url))
        return "failed"
    if not 200 <= status < 300:
        logger.warning("webhook alert of run %s to %s answered HTTP %s", task_id, shown, status)
        return f"failed: HTTP {status}"
    logger.info("webhook alert of run %s sent to %s", task_id, shown)
    return "sent"


def _without_query(message: str, url: str) -> str:
    query = urlsplit(url).query
    return message.replace(query, "…") if query else message


def on_task_changed(sender, task, **kwargs) -> None:
    """task_changed receiver (pipelines' AppConfig connects it for JobTask): a run that failed gets an alert."""
    if task.status != TaskStatus.FAILED:
        return
    try:
        project_id = type(task).objects.filter(pk=task.pk).values_list("job__project_id", flat=True).first()
        if not ProjectSettings.objects.filter(project_id=project_id).exclude(webhook_alert_url="").exists():
            return
        transaction.on_commit(lambda: _enqueue(task.pk))
    except Exception:  # noqa: BLE001 - an alert must never change how the run ends; the cause is logged
        logger.exception("could not queue the webhook alert of run %s", task.pk)


def _enqueue(task_id) -> None:
    try:
        async_task(DELIVER, task_id, task_name=f"webhook alert {task_id}", group="pipelines.webhooks")
    except Exception:  # noqa: BLE001 - runs after the run's commit; a lost alert is logged, the run stands
        logger.exception("could not queue the webhook alert of run %s", task_id)


def connect() -> None:
    task_changed.connect(on_task_changed, sender=JobTask, dispatch_uid="pipelines.webhooks.on_task_changed")
