"""Websocket routes of conversions, gathered by d2d/routing.py."""

websocket_urlpatterns: list = []
