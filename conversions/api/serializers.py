"""Request and response shapes of the conversion APIs.

The request fields say in the OpenAPI schema exactly what the server accepts (see conversions/api/schema.py
for the bodies whose shape depends on the service); the server keeps checking every one of them.
"""

import math
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversions.models import STATUS_FILTERS, ConversionTask, Data2DataStatus, InputAsset, ResultFile, ResultType, Stage
from kernel.api.serializers import ModelSerializer

HTTP_URL = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?:")
# ECMA and Python regex alike: no NUL anywhere (DRF refuses it; PostgreSQL cannot store it).
NO_NUL = "^[^\\u0000]*$"
HTTP_URL_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]?:[^\\u0000]*$"
PROJECT_PATTERN = "^([a-z0-9][a-z0-9_-]{0,62})?$"


def _http_url(value: str) -> str:
    # On the value as sent (no trimming), so the server and the schema's pattern agree; the URL guard
    # checks the rest (host, address, redirects) when the server downloads it.
    if not HTTP_URL.match(value):
        raise serializers.ValidationError("only http and https URLs can be imported")
    return value


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would also take a number or a boolean and stringify it."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false only: DRF's BooleanField would also take "yes", "1", 0 and the like."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field({"type": "string", "minLength": 1, "pattern": NO_NUL})
class NoNulCharField(StrictCharField):
    """A non-blank string; DRF refuses a NUL character in it, and the schema says so."""


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": HTTP_URL_PATTERN, "description": "an http or https URL"}
)
class HttpUrlField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=2000, trim_whitespace=False, validators=[_http_url], **kwargs)


@extend_schema_field({"type": "string", "maxLength": 255, "pattern": NO_NUL, "description": "the asset's name (a label, never a path)"})
class FileNameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=255, required=False, allow_blank=True, default="", **kwargs)


@extend_schema_field(
    {"type": "string", "pattern": PROJECT_PATTERN, "description": "a project id; blank or absent: D2D_CONVERSIONS_PROJECT, "
     "else your first project you can edit"}
)
class ProjectField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


def storable_json(value):
    """``value`` as PostgreSQL can store it: a NUL character (in a name or a string) becomes U+FFFD, the
    replacement character; a number out of float range (JSON's 1e400) is refused."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        raise serializers.ValidationError("a number out of range")
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value


class AttributesField(serializers.DictField):
    """001's attributes: names to any JSON values. Taken as sent, except what the database cannot hold
    (see storable_json): OpenAPI 3.0 cannot rule out a NUL in a name, so the server does not refuse one."""

    def __init__(self, **kwargs):
        super().__init__(required=False, default=dict, help_text="attribute names to any JSON values (001)", **kwargs)

    def to_internal_value(self, data):
        return storable_json(super().to_internal_value(data))


class TaskCreateSerializer(serializers.Serializer):
    """Its schema is one object per service, each with that service's params (conversions/api/schema.py)."""

    service = StrictCharField(required=False, allow_blank=True, trim_whitespace=False, help_text="default: D2D_CONVERSIONS_DEFAULT_SERVICE")
    params = serializers.JSONField(required=False, default=dict, help_text="checked against the service's JSON schema")
    project = ProjectField()


class OcrTaskCreateSerializer(serializers.Serializer):
    """POST /api/v1/ocr/tasks: the service is ocr; a ``service`` field is ignored."""

    params = serializers.JSONField(required=False, default=dict, help_text="checked against the ocr service's JSON schema")
    project = ProjectField()


class TaskCreatedSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    attributes = serializers.ListField(child=serializers.CharField())
    assets_per_batch = serializers.IntegerField()


class AssetDataSerializer(serializers.Serializer):
    file_name = FileNameField()
    attributes = AttributesField()
    download_url = HttpUrlField()


class AssetsSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    data = AssetDataSerializer(many=True, allow_empty=True)
    last_batch = StrictBooleanField(
        required=False,
        default=False,
        help_text="d2d extension: true when this is the client's last batch, so processing starts as soon as the "
        "downloads finish; without it processing starts after D2D_CONVERSIONS_IDLE_SECONDS with no new assets.",
    )


class TaskStatusSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Stage.choices, help_text="CREATED, DOWNLOADING, WAITING, PROCESSING, COMPLETED, or FAILED (d2d addition)")
    assets_downloaded = serializers.IntegerField(
        min_value=0, max_value=100,
        help_text="percentage of the task's assets the server downloaded (an upload counts; a refused or failed URL does not)",
    )
    result_id = serializers.CharField(allow_null=True, help_text="URL of the result endpoint once COMPLETED")
    result_type = serializers.ChoiceField(choices=ResultType.choices, allow_null=True)
    reason = serializers.CharField(
        allow_null=True,
        help_text="d2d addition: why the task FAILED, and which assets were not downloaded and why "
        "(URLs without credentials or query values); null when neither",
    )


class WebsiteResultSerializer(serializers.Serializer):
    url = serializers.URLField()


class UrlsSerializer(serializers.Serializer):
    """At least one URL or asset (its schema says so with anyOf, conversions/api/schema.py)."""

    urls = serializers.ListField(child=HttpUrlField(), required=False, default=list)
    assets = AssetDataSerializer(many=True, required=False, default=list)


class UploadFilesSerializer(serializers.Serializer):
    """The multipart body of POST /api/v1/uploads/tasks/{id}/files, for the schema (the view reads request.FILES)."""

    files = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        help_text="one part per file; each file's name ends with an extension the task's service accepts "
        "(GET /api/v1/uploads/services: accepts), or .zip for a ZIP of such files",
    )


class TaskFilterSerializer(serializers.Serializer):
    """Query filters of GET /api/v1/tasks/. Validate a plain dict (``query_params.dict()``), so an empty value
    (``?status=``) is refused like any other value outside the schema instead of being read as absent."""

    status = serializers.ChoiceField(
        choices=list(STATUS_FILTERS),
        required=False,
        help_text="000's status (created, queued, execution, success, failure); the runner's words status had "
        "before (running, retrying, succeeded, failed, cancelled) are still taken, each for just its own status",
    )
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    service = NoNulCharField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=10**9, default=0)  # PostgreSQL OFFSET is a bigint


class InputAssetSerializer(ModelSerializer):
    # What the client sent (http or https, checked again when it is fetched), not necessarily a well-formed URI.
    download_url = serializers.CharField(max_length=2000, allow_blank=True, help_text="blank for an uploaded file")

    class Meta:
        model = InputAsset
        fields = ["id", "file_name", "attributes", "download_url", "status", "failure_reason", "size"]


class ResultFileSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ResultFile
        fields = ["id", "name", "size", "content_type", "is_archive", "url"]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/downloads/{obj.task_id}/files/{obj.id}"
        return request.build_absolute_uri(path) if request else path


class TaskDetailSerializer(ModelSerializer):
    status = serializers.ChoiceField(
        source="data2data_status",
        choices=Data2DataStatus.choices,
        read_only=True,
        help_text="000's status: created, queued (waiting for resources, also before a retry), execution, "
        "success, or failure (failed, error says why, or cancelled: see run_status)",
    )
    run_status = serializers.ChoiceField(
        source="status",
        choices=ConversionTask.Status.choices,
        read_only=True,
        help_text="d2d addition: the task runner's status, the words status gave before it took 000's",
    )
    stage = serializers.CharField(source="contract_status", help_text="001's status word")
    inputs = InputAssetSerializer(many=True, read_only=True)
    results = ResultFileSerializer(many=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ConversionTask
        fields = [
            "id", "project", "service", "params", "status", "run_status", "stage", "status_text", "progress", "error",
            "result_type", "download_url", "created_at", "queued_at", "started_at", "finished_at", "attempts",
            "inputs", "results",
        ]

    def get_download_url(self, obj) -> str | None:
        if obj.status != ConversionTask.Status.SUCCEEDED:
            return None
        request = self.context.get("request")
        path = f"/api/v1/downloads/{obj.pk}"
        return request.build_absolute_uri(path) if request else path


class TaskSummarySerializer(TaskDetailSerializer):
    class Meta(TaskDetailSerializer.Meta):
        fields = [name for name in TaskDetailSerializer.Meta.fields if name not in ("inputs", "results")]


class TaskPageSerializer(serializers.Serializer):
    """GET /api/v1/tasks/: one page of tasks (limit and offset) and how many match the filters in all."""

    count = serializers.IntegerField(min_value=0, help_text="tasks matching the filters, on every page")
    results = TaskSummarySerializer(many=True, help_text="this page, newest first")
