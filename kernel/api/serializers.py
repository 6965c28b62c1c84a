"""Serializers for the shapes shared by several contracts, and the model serializer every app's answers use."""

from django.db import models
from rest_framework import serializers
from rest_framework.relations import PKOnlyObject


# Fields whose get_attribute and to_representation read only their own settings (source, format,
# choices), never the serializer they are bound to nor its context: safe to share between threads.
_SHAREABLE = (
    serializers.BooleanField, serializers.CharField, serializers.ChoiceField, serializers.DateField,
    serializers.DateTimeField, serializers.DecimalField, serializers.FloatField, serializers.IntegerField,
    serializers.JSONField, serializers.ReadOnlyField, serializers.UUIDField, serializers.PrimaryKeyRelatedField,
    serializers.BigIntegerField,
)
_FIELD, _METHOD, _LIST = 0, 1, 2


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer whose answers (``.data`` of an instance) skip building its fields.

    DRF builds every field again for each serializer instance: the model's fields mapped to
    serializer fields with their kwargs, then bound. On the 000 task detail that was half of the
    view's CPU (docs/load.md), for an answer that depends only on the class. Here the fields are
    built once per class, on a prototype instance, and ``to_representation`` walks that plan:
    plain fields (the _SHAREABLE kinds, which read nothing of their serializer) are shared,
    ``SerializerMethodField`` calls this instance's method (so it sees this request's context),
    and a nested ``many=True`` serializer of this kind runs the same plan for each item. A class
    with any other field (a file URL, a hyperlink, a nested single object) answers as DRF does.
    Validation (``is_valid``) is DRF's own, with fields built per instance as before.
    """

    @classmethod
    def _representation_plan(cls):
        plan = cls.__dict__.get("_d2d_plan", False)
        if plan is False:
            plan = cls._d2d_plan = cls._build_plan()  # the same for every instance: a race builds it twice
        return plan

    @classmethod
    def _build_plan(cls):
        prototype = cls(context={})
        plan = []
        for field in prototype._readable_fields:
            if isinstance(field, serializers.SerializerMethodField):
                plan.append((_METHOD, field.field_name, field.method_name))
            elif isinstance(field, serializers.ListSerializer) and isinstance(field.child, ModelSerializer):
                if field.child._representation_plan() is None:
                    return None
                plan.append((_LIST, field.field_name, field))
            elif type(field) in _SHAREABLE and not getattr(field, "pk_field", None):
                plan.append((_FIELD, field.field_name, field))
            else:
                return None
        return tuple(plan)

    def to_representation(self, instance):
        plan = self._representation_plan()
        if plan is None:
            return super().to_representation(instance)
        return self._represent(plan, instance)

    def _represent(self, plan, instance) -> dict:
        answer = {}
        for kind, name, field in plan:
            if kind == _METHOD:
                answer[name] = getattr(self, field)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except serializers.SkipField:
                continue
            if kind == _LIST:
                items = attribute.all() if isinstance(attribute, models.manager.BaseManager) else attribute
                child = type(field.child)(context=self._context)
                child_plan = child._representation_plan()
                answer[name] = [child._represent(child_plan, item) for item in items]
                continue
            empty = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            answer[name] = None if empty is None else field.to_representation(attribute)
        return answer


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
