"""The provider's URLs: django-oauth-toolkit under /o/ (so the issuer is http://host:port/o) and a login page."""

from django.contrib.auth.views import LoginView
from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", LoginView.as_view(), name="login"),
]
