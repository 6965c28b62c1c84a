"""Browser sign-in URLs, included at /oidc/ by d2d/urls.py; no routes unless OIDC_RP_CLIENT_ID is set."""

from django.conf import settings
from django.urls import path
from mozilla_django_oidc import views as oidc_views

from accounts.oidc.views import OIDCAuthenticateView

urlpatterns = (
    [
        path("callback/", oidc_views.OIDCAuthenticationCallbackView.as_view(), name="oidc_authentication_callback"),
        path("authenticate/", OIDCAuthenticateView.as_view(), name="oidc_authentication_init"),
        path("logout/", oidc_views.OIDCLogoutView.as_view(), name="oidc_logout"),
    ]
    if settings.OIDC_ENABLED
    else []
)
