"""URLs of compute, included at the site root by d2d/urls.py (each path is written out in full)."""

urlpatterns: list = []
