"""OpenAPI documents: one for the whole API, and one per Data 2 Data service (000).

000 publishes docs per service at /api/{version}/{service}/{docs,redoc,openapi.json};
each of those documents lists only the endpoints under that service's prefix.
"""

from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

DATA2DATA_SERVICES = ("auth", "uploads", "tasks", "downloads", "ocr")


def _prefix_generator(prefix: str):
    class PrefixSchemaGenerator(SchemaGenerator):
        def _initialise_endpoints(self):
            super()._initialise_endpoints()
            self.endpoints = [endpoint for endpoint in self.endpoints if endpoint[0].startswith(prefix)]

    return PrefixSchemaGenerator


def whole_api_doc_urls() -> list:
    return [
        path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),
        path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
        path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    ]


def service_doc_urls(service: str) -> list:
    prefix = f"/api/v1/{service}/"
    schema_name = f"schema-{service}"
    schema_view = SpectacularJSONAPIView.as_view(
        generator_class=_prefix_generator(prefix),
        custom_settings={"TITLE": f"Data 2 Data {service} service", "VERSION": "v1"},
    )
    return [
        path(f"{service}/openapi.json", schema_view, name=schema_name),
        path(f"{service}/docs", SpectacularSwaggerView.as_view(url_name=schema_name), name=f"docs-{service}"),
        path(f"{service}/redoc", SpectacularRedocView.as_view(url_name=schema_name), name=f"redoc-{service}"),
    ]
