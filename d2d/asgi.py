"""ASGI entry point: HTTP through Django (one pooled-thread call per request), websockets through channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "d2d.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from accounts.ws_auth import TokenOrSessionAuthMiddleware  # noqa: E402
from d2d.routing import websocket_urlpatterns  # noqa: E402
from kernel.asgi_http import SyncChainASGIHandler  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": SyncChainASGIHandler(),
        "websocket": TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
