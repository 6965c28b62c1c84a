"""URLs the OLake UI needs beyond pipelines.urls: the project-less platform routes, project settings, and the UI itself.

d2d/urls.py includes ``platform_urlpatterns`` with the other APIs and ``ui_urlpatterns`` last:
the UI's client-side routes are ordinary page paths that no API shares.
"""

from django.urls import path, re_path

from pipelines import olake_ui
from pipelines.api.views import platform, settings

platform_urlpatterns = [
    path("telemetry-id", platform.TelemetryIdView.as_view(), name="olake-telemetry-id"),
    path("api/v1/platform/releases", platform.ReleasesView.as_view(), name="olake-platform-releases"),
    path("api/v1/platform/opt/status", platform.OptimizationStatusView.as_view(), name="olake-platform-opt-status"),
    path("api/v1/project/<str:projectid>/settings", settings.ProjectSettingsView.as_view(), name="olake-project-settings"),
]

# GET and HEAD only, and only while D2D_OLAKE_UI_DIR is set; otherwise each is the 404 it was.
# GET /login is here too, in accounts' urls: the UI's page there, the 004 API on POST.
ui_urlpatterns = [
    re_path(r"^assets/(?P<path>.+)$", olake_ui.asset, name="olake-ui-asset"),
    path("", olake_ui.page, name="olake-ui"),
    re_path(r"^(?P<rest>(?:jobs|sources|destinations|maintenance)(?:/.*)?|settings)$", olake_ui.page),
]
