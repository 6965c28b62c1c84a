"""Websocket routes of every app, gathered for d2d.asgi."""

from conversions.routing import websocket_urlpatterns as conversion_websockets

websocket_urlpatterns: list = [*conversion_websockets]
