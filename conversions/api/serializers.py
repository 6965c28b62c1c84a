"""Request and response shapes of the conversion APIs."""

from urllib.parse import urlsplit

from rest_framework import serializers

from conversions.models import ConversionTask, InputAsset, ResultFile, ResultType, Stage


def _http_url(value: str) -> str:
    if urlsplit(value).scheme.lower() not in ("http", "https"):
        raise serializers.ValidationError("only http and https URLs can be imported")
    return value


class TaskCreateSerializer(serializers.Serializer):
    service = serializers.CharField(required=False, allow_blank=True, help_text="default: D2D_CONVERSIONS_DEFAULT_SERVICE")
    params = serializers.JSONField(required=False, default=dict, help_text="checked against the service's JSON schema")
    project = serializers.CharField(required=False, allow_blank=True, help_text="default: your first project you can edit")


class TaskCreatedSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    attributes = serializers.ListField(child=serializers.CharField())
    assets_per_batch = serializers.IntegerField()


class AssetDataSerializer(serializers.Serializer):
    file_name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    attributes = serializers.DictField(required=False, default=dict)
    download_url = serializers.CharField(max_length=2000, validators=[_http_url])


class AssetsSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    data = AssetDataSerializer(many=True, allow_empty=True)
    last_batch = serializers.BooleanField(
        required=False,
        default=False,
        help_text="d2d extension: true when this is the client's last batch, so processing starts as soon as the "
        "downloads finish; without it processing starts after D2D_CONVERSIONS_IDLE_SECONDS with no new assets.",
    )


class TaskStatusSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Stage.choices, help_text="CREATED, DOWNLOADING, WAITING, PROCESSING, COMPLETED, or FAILED (d2d addition)")
    assets_downloaded = serializers.IntegerField(help_text="percentage of the assets' URLs fetched (or given up on)")
    result_id = serializers.CharField(allow_null=True, help_text="URL of the result endpoint once COMPLETED")
    result_type = serializers.ChoiceField(choices=ResultType.choices, allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="d2d addition: why the task FAILED (null otherwise)")


class WebsiteResultSerializer(serializers.Serializer):
    url = serializers.URLField()


class UrlsSerializer(serializers.Serializer):
    urls = serializers.ListField(child=serializers.CharField(max_length=2000, validators=[_http_url]), required=False, default=list)
    assets = AssetDataSerializer(many=True, required=False, default=list)


class TaskFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversionTask.Status.choices, required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    service = serializers.CharField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


class InputAssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = InputAsset
        fields = ["id", "file_name", "attributes", "download_url", "status", "failure_reason", "size"]


class ResultFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ResultFile
        fields = ["id", "name", "size", "content_type", "is_archive", "url"]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/downloads/{obj.task_id}/files/{obj.id}"
        return request.build_absolute_uri(path) if request else path


class TaskDetailSerializer(serializers.ModelSerializer):
    stage = serializers.CharField(source="contract_status", help_text="001's status word")
    inputs = InputAssetSerializer(many=True, read_only=True)
    results = ResultFileSerializer(many=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ConversionTask
        fields = [
            "id", "project", "service", "params", "status", "stage", "status_text", "progress", "error",
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
