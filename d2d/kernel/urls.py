"""Kernel URLs: health check."""

from django.urls import path

from d2d.kernel import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
