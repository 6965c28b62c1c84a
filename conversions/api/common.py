"""The Common application API (001): /api/v1/task, /api/v1/assets, /api/v1/result, /api/v1/status."""

from django.db.models import Count, Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser

from accounts.models import Role
from conversions import lifecycle
from conversions.api import schema as _schema  # noqa: F401 - registers the request schemas' extensions
from conversions.api import serializers as s
from conversions.api.responses import absolute_url, primary_result, stored_file_response
from conversions.converters import service_get
from conversions.metrics import metrics_text
from conversions.models import ConversionTask, InputAsset, ResultType, Stage
from kernel.api.contracts import ENVELOPE
from kernel.api.serializers import EnvelopeErrorSerializer, envelope_of
from kernel.api.views import ContractView
from kernel.errors import Conflict, DomainError, NotFound

# A malformed id is answered like an unknown one (404); a missing or empty one is a 400.
ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.QUERY, required=True, description="the task id (UUID)")
ERRORS = {400: EnvelopeErrorSerializer, 401: EnvelopeErrorSerializer, 404: EnvelopeErrorSerializer}
TAGS = ["common application API (001)"]


def _task_id(request) -> str:
    task_id = request.query_params.get("id")
    if not task_id:
        raise DomainError("the id query parameter is required", field="id")
    return task_id


STATUS_FIELDS = ("id", "project_id", "status", "stage", "result_type", "error")


def with_asset_counts(tasks):
    """The task query with the status's asset counts (a join on the inputs, grouped by the task):
    one query instead of two, and only the columns task_status reads (not params or result_json,
    JSON to decode)."""
    return tasks.only(*STATUS_FIELDS).annotate(
        status_inputs=Count("inputs"),
        status_downloaded=Count("inputs", filter=Q(inputs__status=InputAsset.Status.DOWNLOADED)),
        status_failed=Count("inputs", filter=Q(inputs__status=InputAsset.Status.FAILED)),
    )


# The status query: the visible task with its asset counts, compiled once per database and kind of
# user (kernel/statements.py). Through the ORM it cost 0.63 ms a request, compiled 0.04 ms
# (docs/load.md): most of the endpoint's own time.
_STATUS = lifecycle.visible_task_statement(with_asset_counts)


def status_task(user, task_id) -> ConversionTask:
    """The task for 001 status, with its asset counts, in one compiled query; 404 like task_for_user."""
    task = lifecycle.visible_task(user, task_id, _STATUS)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def task_status(request, task) -> dict:
    """001's status of ``task``; uses the counts of with_asset_counts when the task was loaded with them.

    ``assets_downloaded`` is the percentage of the task's assets the server holds (uploaded files count,
    they are held from the start); an asset it refused or could not fetch is not downloaded, and
    ``reason`` names it and says why, also when the task went on with the others.
    """
    if hasattr(task, "status_inputs"):
        counts = {"inputs": task.status_inputs or 0, "downloaded": task.status_downloaded or 0, "failed": task.status_failed or 0}
    else:
        counts = task.inputs.aggregate(
            inputs=Count("id"),
            downloaded=Count("id", filter=Q(status=InputAsset.Status.DOWNLOADED)),
            failed=Count("id", filter=Q(status=InputAsset.Status.FAILED)),
        )
    total = counts["inputs"]
    status = task.contract_status
    completed = status == Stage.COMPLETED
    # The failed assets are read only when there are some, so the usual answer stays one query. A task
    # that failed for want of any input says which already (processing.convert): not twice.
    reasons = [task.failure_reason]
    not_downloaded = task.assets_not_downloaded() if counts["failed"] else ""
    if not_downloaded and not_downloaded not in (task.failure_reason or ""):
        reasons.append(not_downloaded)
    return {
        "task_id": str(task.pk),
        "status": status,
        "assets_downloaded": 100 * counts["downloaded"] // total if total else 0,
        "result_id": absolute_url(request, f"/api/v1/result?id={task.pk}") if completed else None,
        "result_type": task.result_type if completed else None,
        "reason": "; ".join(reason for reason in reasons if reason) or None,
    }


class TaskView(ContractView):
    contract = ENVELOPE
    parser_classes = [JSONParser]  # params is a JSON object, which a form cannot carry

    @extend_schema(
        tags=TAGS,
        request=s.TaskCreateSerializer,
        responses={200: envelope_of("CommonTaskCreated", s.TaskCreatedSerializer), **ERRORS},
        description="Create a task. service defaults to D2D_CONVERSIONS_DEFAULT_SERVICE; params are checked now.",
    )
    def post(self, request):
        payload = s.TaskCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        task = lifecycle.task_register(
            user=request.user, service=data.get("service") or None, params=data.get("params"), project_id=data.get("project") or None
        )
        attributes = list(service_get(task.service).attributes)
        return self.ok({"task_id": str(task.pk), "attributes": attributes, "assets_per_batch": task.assets_per_batch}, message="task created")

    @extend_schema(tags=TAGS, parameters=[ID], responses={200: envelope_of("CommonTaskStatus", s.TaskStatusSerializer), **ERRORS})
    def get(self, request):
        return self.ok(task_status(request, status_task(request.user, _task_id(request))))

    @extend_schema(tags=TAGS, parameters=[ID], responses={200: envelope_of("CommonTaskDeleted", None), **ERRORS})
    def delete(self, request):
        task = lifecycle.task_for_user(request.user, _task_id(request), role=Role.EDITOR)
        lifecycle.task_delete(task=task, user=request.user)
        return self.ok(None, message="task deleted")


class AssetsView(ContractView):
    contract = ENVELOPE
    parser_classes = [JSONParser]  # data is a list of objects, which a form cannot carry

    @extend_schema(
        tags=TAGS,
        request=s.AssetsSerializer,
        responses={200: envelope_of("CommonAssetsAdded", None), **ERRORS, 409: EnvelopeErrorSerializer},
        description="Add a batch of AssetData (at most assets_per_batch). The server downloads each download_url. "
        "Set last_batch: true on the final call to start processing once downloads finish.",
    )
    def post(self, request):
        payload = s.AssetsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        task = lifecycle.task_for_user(request.user, data["task_id"], role=Role.EDITOR)
        lifecycle.assets_add(task=task, assets=data["data"], last_batch=data["last_batch"])
        return self.ok(None, message=f"{len(data['data'])} asset(s) accepted")


class ResultView(ContractView):
    contract = ENVELOPE

    @extend_schema(
        tags=TAGS,
        parameters=[ID],
        responses={
            200: OpenApiResponse(
                description="STREAM: the file as an attachment (a ZIP when there are several); "
                "JSON: {success, message, data: <the result>}; WEBSITE: {success, message, data: {url}}."
            ),
            **ERRORS,
            409: EnvelopeErrorSerializer,
        },
    )
    def get(self, request):
        task = lifecycle.task_for_user(request.user, _task_id(request))
        if task.contract_status != Stage.COMPLETED:
            raise Conflict(f"task {task.pk} is {task.contract_status}; there is no result yet")
        if task.files_purged_at:
            raise NotFound(f"the result of task {task.pk} was deleted")
        if task.result_type == ResultType.JSON:
            return self.ok(task.result_json, message="result")
        if task.result_type == ResultType.WEBSITE:
            return self.ok({"url": absolute_url(request, f"/conversions/sites/{task.site_token}/")}, message="result website")
        result = primary_result(task)
        if result is None:
            raise NotFound(f"task {task.pk} has no result file")
        return stored_file_response(request, result.file.name, filename=result.name, content_type="application/octet-stream")


def status_view(request):
    """Public Prometheus metrics (001's status endpoint)."""
    body, content_type = metrics_text()
    return HttpResponse(body, content_type=content_type)
