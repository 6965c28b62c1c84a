"""Root URLs: each contract keeps its own paths; API docs under /api/v1/."""

from django.contrib import admin
from django.urls import include, path

from accounts.api import urls as accounts_urls
from accounts.api.views import LoginView
from compute.api.provider_views import root_view
from kernel.api.docs import DATA2DATA_SERVICES, service_doc_urls, whole_api_doc_urls
from kernel.api.handlers import handler404_view, handler500_view
from pipelines import olake_ui
from pipelines.olake_ui import page_on_get
from pipelines.platform_urls import platform_urlpatterns, ui_urlpatterns

api_docs = whole_api_doc_urls()
for _service in DATA2DATA_SERVICES:
    api_docs += service_doc_urls(_service)

# Django tries these in order and every include at "" is walked pattern by pattern, so the
# busiest paths come first: status polling (conversions), then the other APIs; the API docs,
# read by people rather than polled by programs, come last. No two entries share a path.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("oidc/", include("accounts.oidc.urls")),  # SSO sign-in; no routes unless OIDC_RP_CLIENT_ID is set
    path("", include("kernel.urls")),
    path("", include("conversions.urls")),
    path("", include("pipelines.urls")),
    path("", include(platform_urlpatterns)),
    path("", include("compute.urls")),
    path("", include("labeling.urls")),
    path("api/v1/auth/", include(accounts_urls.auth_service_urlpatterns)),
    path("api/v1/projects/", include(accounts_urls.project_urlpatterns)),
    # GET /login is the OLake UI's sign-in page when d2d serves the UI; POST stays 004's login.
    path("login", page_on_get(LoginView.as_view()), name="olake-ui-login"),
    path("", include(accounts_urls.root_urlpatterns)),
    path("api/v1/", include(api_docs)),
    # "/": Ocean's provider document for API clients; a browser gets the page it always got (the OLake UI, or 404).
    path("", root_view(olake_ui.page), name="root"),
    # The OLake UI (when D2D_OLAKE_UI_DIR is set): its page on its client-side routes, so last.
    path("", include(ui_urlpatterns)),
]

handler404 = handler404_view
handler500 = handler500_view
