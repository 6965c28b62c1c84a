"""The Data 2 Data services (000): uploads, tasks, downloads and ocr, each under /api/v1/{service}/."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from drf_spectacular.utils import OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import parsers, status

from accounts.models import Role
from conversions import lifecycle, listing
from conversions.api import schema as _schema  # also registers the request schemas' extensions
from conversions.api import serializers as s
from conversions.api.responses import primary_result, stored_file_response
from conversions.converters import all_services, service_get
from conversions.models import ConversionTask
from kernel.api.views import ContractView
from kernel.errors import Conflict, DomainError, NotFound
from kernel.logs import task_log_page


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


def _detail(request, task) -> dict:
    return s.TaskDetailSerializer(lifecycle.with_files(task), context={"request": request}).data


def _register(request, service: str | None) -> dict:
    payload = (s.OcrTaskCreateSerializer if service == "ocr" else s.TaskCreateSerializer)(data=request.data)
    payload.is_valid(raise_exception=True)
    data = payload.validated_data
    task = lifecycle.task_register(
        user=request.user, service=service or data.get("service") or None, params=data.get("params"), project_id=data.get("project") or None
    )
    return _detail(request, task)


class ServiceListView(ContractView):
    @extend_schema(tags=["uploads"], responses={200: OpenApiResponse(description="the conversion services and their parameter schemas")})
    def get(self, request):
        return self.ok({"services": [service.describe() for service in all_services().values()]})


class UploadTaskView(ContractView):
    parser_classes = [parsers.JSONParser]  # params is a JSON object, which a form cannot carry

    @extend_schema(
        tags=["uploads"],
        request=s.TaskCreateSerializer,
        responses={201: s.TaskDetailSerializer},
        description="Register a task: the service and its parameters are checked now (400 names what is wrong).",
    )
    def post(self, request):
        return self.ok(_register(request, None), status=status.HTTP_201_CREATED)


class CappedUploadHandler(FileUploadHandler):
    """Counts the bytes of every file as they arrive and stops the upload past the limit,
    also when the client sent no Content-Length (chunked)."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise PayloadTooLarge(f"the upload is over the limit of {self.limit} bytes")
        return raw_data

    def file_complete(self, file_size):
        return None


class UploadFilesView(ContractView):
    parser_classes = [parsers.MultiPartParser]

    def initial(self, request, *args, **kwargs):
        limit = settings.D2D_MAX_UPLOAD_BYTES
        # Refuse an oversized body before Django parses (and spools) it; count the bytes when it is not declared.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit:
            raise PayloadTooLarge(f"the upload is {declared} bytes; the limit is {limit}")
        request.upload_handlers.insert(0, CappedUploadHandler(request, limit=limit))
        super().initial(request, *args, **kwargs)

    @extend_schema(
        tags=["uploads"],
        request={
            "multipart/form-data": OpenApiRequest(
                s.UploadFilesSerializer,
                encoding={
                    "files": {
                        "contentType": "application/octet-stream",
                        "headers": {
                            "Content-Disposition": {
                                "description": "the part's filename: its extension must be one the task's service "
                                "accepts, or .zip (every service takes a ZIP of its inputs)",
                                "schema": {"type": "string"},
                                "example": 'form-data; name="files"; filename="inputs.zip"',
                            }
                        },
                    }
                },
            )
        },
        responses={201: s.InputAssetSerializer(many=True), 413: OpenApiResponse(description="over D2D_MAX_UPLOAD_BYTES")},
        description="Upload one or more files (form field 'files', repeated). Size-capped by D2D_MAX_UPLOAD_BYTES. "
        "A file the task's service does not accept is a 400 naming it; a submitted task takes no more files (409).",
    )
    def post(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id, role=Role.EDITOR)
        uploads = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not uploads:
            raise DomainError("send the files as multipart form field 'files'", field="files")
        created = lifecycle.files_upload(task=task, uploads=uploads)
        return self.ok(s.InputAssetSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class UploadUrlsView(ContractView):
    parser_classes = [parsers.JSONParser]  # assets are objects, which a form cannot carry
    schema = _schema.RequiredBodySchema()  # an empty body names no URL: 400

    @extend_schema(
        tags=["uploads"],
        request=s.UrlsSerializer,
        responses={201: s.InputAssetSerializer(many=True)},
        description="Add URLs for the server to download when the task is submitted (public addresses only).",
    )
    def post(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id, role=Role.EDITOR)
        payload = s.UrlsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assets = [{"download_url": url} for url in payload.validated_data["urls"]] + list(payload.validated_data["assets"])
        if not assets:
            raise DomainError("give urls or assets", field="urls")
        created = []
        with transaction.atomic():  # all of them or none (a later batch may find the task full: 409)
            for start in range(0, len(assets), task.assets_per_batch):
                created += lifecycle.assets_add(task=task, assets=assets[start : start + task.assets_per_batch], start=False)
        return self.ok(s.InputAssetSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class UploadSubmitView(ContractView):
    @extend_schema(
        tags=["uploads"],
        request=None,
        responses={202: s.TaskDetailSerializer},
        description="Queue the task. A task without inputs yet, or one that is processing or finished, is a 409.",
    )
    def post(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id, role=Role.EDITOR)
        lifecycle.task_submit(task=task)
        return self.ok(_detail(request, task), status=status.HTTP_202_ACCEPTED)


class TaskListView(ContractView):
    @extend_schema(tags=["tasks"], parameters=[s.TaskFilterSerializer], responses={200: s.TaskPageSerializer})
    def get(self, request):
        query = s.TaskFilterSerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        total, page = listing.task_page(request.user, query.validated_data)
        results = s.TaskSummarySerializer(page, many=True, context={"request": request}).data
        return self.ok({"count": total, "results": results})


class TaskDetailView(ContractView):
    @extend_schema(tags=["tasks"], responses={200: s.TaskDetailSerializer})
    def get(self, request, task_id):
        return self.ok(_detail(request, lifecycle.task_for_user(request.user, task_id)))

    @extend_schema(tags=["tasks"], responses={204: None})
    def delete(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id, role=Role.EDITOR)
        lifecycle.task_delete(task=task, user=request.user)
        return self.ok(None, status=status.HTTP_204_NO_CONTENT)


class TaskCancelView(ContractView):
    @extend_schema(tags=["tasks"], request=None, responses={200: s.TaskDetailSerializer})
    def post(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id, role=Role.EDITOR)
        return self.ok(_detail(request, lifecycle.task_stop(task=task, user=request.user)))


class TaskLogView(ContractView):
    @extend_schema(tags=["tasks"], responses={200: OpenApiResponse(description="a page of the task's log (after/before cursors)")})
    def get(self, request, task_id):
        task = lifecycle.task_for_user(request.user, task_id)
        after, before = request.query_params.get("after"), request.query_params.get("before")
        try:
            page = task_log_page(
                task,
                after=int(after) if after else None,
                before=int(before) if before else None,
                limit=int(request.query_params.get("limit") or 200),
            )
        except ValueError:
            raise DomainError("after, before and limit are integers") from None
        return self.ok(page)


def _finished_task(request, task_id):
    task = lifecycle.task_for_user(request.user, task_id)
    if task.status != ConversionTask.Status.SUCCEEDED:
        raise Conflict(f"task {task.pk} is {task.data2data_status}; nothing to download yet")
    return task


class DownloadView(ContractView):
    @extend_schema(
        tags=["downloads"],
        responses={200: OpenApiResponse(description="the result file, or a ZIP of all of them; Range requests get 206")},
    )
    def get(self, request, task_id):
        task = _finished_task(request, task_id)
        result = primary_result(task)
        if result is None:
            raise NotFound(f"task {task.pk} has no result file")
        return stored_file_response(request, result.file.name, filename=result.name, content_type=result.content_type)


class DownloadListView(ContractView):
    @extend_schema(tags=["downloads"], responses={200: s.ResultFileSerializer(many=True)})
    def get(self, request, task_id):
        task = _finished_task(request, task_id)
        return self.ok(s.ResultFileSerializer(task.results.all(), many=True, context={"request": request}).data)


class DownloadFileView(ContractView):
    @extend_schema(tags=["downloads"], responses={200: OpenApiResponse(description="one result file; Range requests get 206")})
    def get(self, request, task_id, file_id):
        task = _finished_task(request, task_id)
        result = task.results.filter(pk=file_id).first()
        if result is None:
            raise NotFound(f"task {task.pk} has no file {file_id}")
        return stored_file_response(request, result.file.name, filename=result.name, content_type=result.content_type)


class OcrServiceView(ContractView):
    @extend_schema(tags=["ocr"], responses={200: OpenApiResponse(description="the OCR service: parameters, languages, inputs")})
    def get(self, request):
        import pytesseract

        described = service_get("ocr").describe()
        described["installed_languages"] = sorted(pytesseract.get_languages(config=""))
        return self.ok(described)


class OcrTaskView(ContractView):
    parser_classes = [parsers.JSONParser]  # params is a JSON object, which a form cannot carry

    @extend_schema(
        tags=["ocr"],
        request=s.OcrTaskCreateSerializer,
        responses={201: s.TaskDetailSerializer},
        description="Register an OCR task (params: lang, format); then upload files and submit through the uploads service.",
    )
    def post(self, request):
        return self.ok(_register(request, "ocr"), status=status.HTTP_201_CREATED)
