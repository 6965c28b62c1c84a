"""Websocket routes of every app, gathered for d2d.asgi."""

websocket_urlpatterns: list = []
