"""Second reference of bench/load.py: d2d's own settings and middleware, one JSON view, no database query.

    DJANGO_SETTINGS_MODULE=load_baseline_stack uvicorn d2d.asgi:application --app-dir bench

Everything of d2d.settings (middleware, apps, database settings) with this module as the URL
conf: GET /api/v1/task answers the same body as bench/load_baseline.py without authentication
or a query. Between the minimal baseline and d2d's status endpoint it shows what d2d's stack
costs and what the endpoint's own work costs. Never part of d2d's URLs.
"""

from baseline_view import task_status  # bench/ is the app dir
from django.urls import path

from d2d.settings import *  # noqa: F403 - this module is a settings module

ROOT_URLCONF = "load_baseline_stack"

urlpatterns = [path("api/v1/task", task_status)]
