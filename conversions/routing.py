"""Websocket routes of conversions, gathered by d2d/routing.py."""

from django.urls import path

from conversions.consumers import TaskProgressConsumer

websocket_urlpatterns: list = [
    path("api/v1/tasks/<uuid:task_id>/ws", TaskProgressConsumer.as_asgi()),
]
