"""WSGI entry point (HTTP only; websockets need d2d.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "d2d.settings")
application = get_wsgi_application()
