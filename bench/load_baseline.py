"""Baseline of bench/load.py: a minimal Django project with one JSON view, served by uvicorn.

    uvicorn load_baseline:application --app-dir bench

No middleware, no database, no authentication: the floor of a Django JSON answer on this
machine. It answers the status path of the Common API (GET /api/v1/task?id=) with a body of
the same shape, so the clients of bench/load.py poll both servers with the same request.
It is never part of d2d's URLs.
"""

import django
from baseline_view import task_status  # bench/ is the app dir
from django.conf import settings
from django.urls import path

urlpatterns = [path("api/v1/task", task_status)]

if not settings.configured:
    settings.configure(
        DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["127.0.0.1"], MIDDLEWARE=[], INSTALLED_APPS=[],
        SECRET_KEY="bench-load-baseline-only", USE_TZ=True,
    )
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (after setup)

application = get_asgi_application()
