"""Staff endpoints for the platform's own tasks (self-check, log pruning) and their paged logs."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status

from kernel.api.views import ContractView
from kernel.errors import DomainError
from kernel.logs import task_log_page
from kernel.models import PlatformTask
from kernel.runner import task_enqueue


class PlatformTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlatformTask
        fields = [
            "id", "kind", "params", "status", "progress", "status_text", "attempts", "error", "result",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = [name for name in fields if name not in ("kind", "params")]

    def validate_params(self, value):
        # The column is a JSON object; null (a form's "null", a JSON null) or a list would be a 500 or a
        # task its handler cannot read.
        if not isinstance(value, dict):
            raise serializers.ValidationError("params must be a JSON object")
        return value


class TaskLogLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.DateTimeField()
    level = serializers.CharField()
    message = serializers.CharField()


class TaskLogPageSerializer(serializers.Serializer):
    lines = TaskLogLineSerializer(many=True)
    older_cursor = serializers.IntegerField(allow_null=True)
    newer_cursor = serializers.IntegerField(allow_null=True)
    has_more_older = serializers.BooleanField()
    has_more_newer = serializers.BooleanField()


def int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{name} must be an integer", field=name) from None


class PlatformTaskListView(ContractView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(tags=["platform"], responses={200: PlatformTaskSerializer(many=True)})
    def get(self, request):
        return self.ok(PlatformTaskSerializer(PlatformTask.objects.all()[:100], many=True).data)

    @extend_schema(tags=["platform"], request=PlatformTaskSerializer, responses={201: PlatformTaskSerializer})
    def post(self, request):
        payload = PlatformTaskSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = PlatformTask.objects.create(owner=request.user, **payload.validated_data)
        task_enqueue(task)
        return self.ok(PlatformTaskSerializer(task).data, status=status.HTTP_201_CREATED)


class PlatformTaskDetailView(ContractView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(tags=["platform"], responses={200: PlatformTaskSerializer})
    def get(self, request, task_id):
        return self.ok(PlatformTaskSerializer(get_object_or_404(PlatformTask, pk=task_id)).data)


class PlatformTaskLogView(ContractView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        tags=["platform"],
        parameters=[
            OpenApiParameter("after", int, description="lines newer than this cursor (tail a running task)"),
            OpenApiParameter("before", int, description="lines older than this cursor"),
            OpenApiParameter("limit", int, description="at most this many lines (1..1000, default 200)"),
        ],
        responses={200: TaskLogPageSerializer},
    )
    def get(self, request, task_id):
        task = get_object_or_404(PlatformTask, pk=task_id)
        page = task_log_page(
            task,
            after=int_param(request, "after"),
            before=int_param(request, "before"),
            limit=int_param(request, "limit") or 200,
        )
        return self.ok(page)
