"""Serializers for the shapes shared by several contracts."""

from rest_framework import serializers


class EnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField(allow_null=True)
    data = serializers.JSONField(allow_null=True, required=False)


class EnvelopeErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    message = serializers.CharField()
    errors = serializers.DictField(required=False)


def envelope_of(name: str, data_serializer, *, many: bool = False):
    """An OpenAPI component for {success, message, data: <data_serializer>}."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name=name,
        fields={
            "success": serializers.BooleanField(),
            "message": serializers.CharField(allow_null=True),
            "data": data_serializer(many=many) if isinstance(data_serializer, type) else data_serializer,
        },
    )
