"""Browser sign-in views that differ from mozilla-django-oidc's: the endpoints may come from discovery."""

import logging

import requests
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.utils import import_from_settings

from accounts.oidc.discovery import oidc_setting

logger = logging.getLogger(__name__)


class OIDCAuthenticateView(oidc_views.OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # The authorization endpoint may come from discovery: a provider that is down sends the
        # browser back to the login page with "Single sign-on did not complete", not to a 500.
        self.provider_error = None
        try:
            super().__init__(*args, **kwargs)
        except (requests.RequestException, ImproperlyConfigured, ValueError) as exc:
            self.provider_error = exc

    def get(self, request):
        if self.provider_error is not None:
            logger.warning("OIDC sign-in cannot start, provider unavailable: %s", self.provider_error)
            return HttpResponseRedirect(import_from_settings("LOGIN_REDIRECT_URL_FAILURE", "/"))
        return super().get(request)
