"""The OLake server's project-less routes its UI calls, answered for a d2d that never phones home."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers

from kernel.api.contracts import ENVELOPE
from kernel.api.serializers import envelope_of
from kernel.api.views import ContractView

RELEASE_CATEGORIES = ("olake_ui_worker", "olake_helm", "olake", "features")


def d2d_version() -> str:
    return settings.SPECTACULAR_SETTINGS["VERSION"]


class TelemetryIdView(ContractView):
    """An empty user_id is how the UI learns analytics are off: it then sends nothing to analytics.olake.io."""

    contract = ENVELOPE
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["olake ui"],
        responses={200: envelope_of("TelemetryIdResponse", inline_serializer(
            "TelemetryId", {"user_id": serializers.CharField(), "version": serializers.CharField()}
        ))},
        description="Always an empty user_id: d2d has no telemetry and the OLake UI sends none when it reads this.",
    )
    def get(self, request):
        return self.ok({"user_id": "", "version": d2d_version()}, message="telemetry disabled")


class ReleasesView(ContractView):
    """What the UI's "updates" panel reads; d2d fetches nothing from the internet, so there is nothing new."""

    contract = ENVELOPE

    @extend_schema(
        tags=["olake ui"],
        responses={200: envelope_of("ReleasesResponse", serializers.JSONField())},
        description="Every release category is null: d2d does not fetch release notes (the OLake server reads GitHub).",
    )
    def get(self, request):
        return self.ok(dict.fromkeys(RELEASE_CATEGORIES), message="no release information in d2d")


class OptimizationStatusView(ContractView):
    """d2d has no Iceberg maintenance (Amoro); ``enabled: false`` hides the UI's Maintenance screens."""

    contract = ENVELOPE

    @extend_schema(
        tags=["olake ui"],
        responses={200: envelope_of("OptimizationStatusResponse", inline_serializer(
            "OptimizationStatus", {"enabled": serializers.BooleanField()}
        ))},
    )
    def get(self, request):
        return self.ok({"enabled": False}, message="table maintenance is not part of d2d")
