"""A channel layer that cannot reach Redis delays websocket listeners; it never fails the change that notifies them."""

import socket

import pytest
from channels.layers import channel_layers

from kernel.notify import notify_task_changed


class Task:
    """What notify_task_changed reads of a tracked task."""

    class _meta:
        app_label, model_name, label = "kernel", "probe", "kernel.Probe"

    pk, status, progress, status_text, attempts, error, is_finished = 1, "queued", 0, "", 0, "", False


@pytest.fixture
def unreachable_redis_layer(settings):
    with socket.socket() as sock:  # a port nothing listens on: every connection is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]}}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_it_logs_a_redis_error_instead_of_raising_it(unreachable_redis_layer, caplog):
    notify_task_changed(Task())
    assert "could not publish change of kernel.Probe 1" in caplog.text
