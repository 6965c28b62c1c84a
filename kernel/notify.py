"""Tell listeners (websockets, signal receivers) that a tracked task changed."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import Signal
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Sent with sender=<model class>, task=<instance>, after every status or progress change.
task_changed = Signal()


def task_group_name(task) -> str:
    """The channel-layer group a websocket joins to follow one task."""
    meta = task._meta
    return f"task-{meta.app_label}-{meta.model_name}-{task.pk}"


def task_snapshot(task) -> dict:
    return {
        "id": str(task.pk),
        "status": task.status,
        "progress": task.progress,
        "status_text": task.status_text,
        "attempts": task.attempts,
        "error": task.error,
        "finished": task.is_finished,
    }


def notify_task_changed(task) -> None:
    task_changed.send(sender=type(task), task=task)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(task_group_name(task), {"type": "task.changed", "task": task_snapshot(task)})
    except (OSError, ConnectionError, RuntimeError, RedisError) as exc:
        # Listeners also poll the database, so a broken channel layer delays them but loses nothing.
        # RedisError too: redis' ConnectionError is not the builtin one, and a Redis restart left one
        # per pooled connection, which failed the request (a submit answered 500) instead of this.
        logger.warning("could not publish change of %s %s: %s", task._meta.label, task.pk, exc)
