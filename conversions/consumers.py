"""Websocket of one conversion task: every status and progress change, in order, until it finishes.

The worker is usually another process. The kernel publishes each change to the task's
channel group, which crosses processes only with the Redis channel layer; so the
consumer also reads the row every D2D_CONVERSIONS_WS_POLL_MS, and a group message just
makes it read at once. Every frame comes from a read of the row, so frames are in order.
"""

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from conversions.lifecycle import visible_tasks
from conversions.models import ConversionTask
from kernel.notify import task_group_name

CLOSE_NOT_FOUND = 4404
CLOSE_UNAUTHENTICATED = 4401


def snapshot(task: ConversionTask) -> dict:
    return {
        "id": str(task.pk),
        "status": task.data2data_status,  # the same words as the REST answer (000's)
        "run_status": task.status,
        "stage": task.contract_status,
        "progress": task.progress,
        "status_text": task.status_text,
        "error": task.error,
        "finished": task.is_finished,
    }


@database_sync_to_async
def _visible_task(user, task_id):
    return visible_tasks(user).filter(pk=task_id).first()


@database_sync_to_async
def _read(task_id):
    task = ConversionTask._base_manager.filter(pk=task_id).first()
    return snapshot(task) if task else None


class TaskProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.task_id = self.scope["url_route"]["kwargs"]["task_id"]
        task = await _visible_task(user, self.task_id)
        if task is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = task_group_name(task)
        self.last = None
        self.wake = asyncio.Event()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code):
        poller = getattr(self, "poller", None)
        if poller is not None:
            poller.cancel()
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def task_changed(self, event):
        self.wake.set()

    async def _poll(self):
        interval = settings.D2D_CONVERSIONS_WS_POLL_MS / 1000
        while True:
            current = await _read(self.task_id)
            if current is None:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            if current != self.last:
                self.last = current
                await self.send_json({"type": "task", "task": current})
            if current["finished"]:
                await self.close()
                return
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            except TimeoutError:
                pass
