"""003's endpoints (tasks, apply, commits) plus picture upload, picture files and exports: thin views."""

import json

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Role
from kernel.api.contracts import LABELING
from kernel.api.views import ContractView
from kernel.errors import DomainError
from labeling import conf, export, selectors, services
from labeling.api import payload, schemas
from labeling.api.representations import apply_json, base_url, commit_json, picture_json, task_json
from labeling.errors import FileNotFound, JsonError
from labeling.models import Picture, TaskType
from labeling.pictures import INLINE_TYPES, picture_url

JSON_SCHEMA = {"request": OpenApiTypes.OBJECT, "responses": {200: OpenApiTypes.OBJECT}}


# 003's bodies are {"data": {...}}: only JSON can carry them, so these views (and their
# OpenAPI request schemas) take JSON alone; the picture uploads take multipart.
JSON_ONLY = [JSONParser]


class LabelingView(ContractView):
    """Answers in 003's format, with the title each of its errors shows."""

    contract = LABELING
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def handle_exception(self, exc):
        if isinstance(exc, ParseError):
            exc = JsonError(str(exc.detail))
        title = getattr(exc, "title", None)
        if title and isinstance(exc, DomainError):
            body = self.contract.error_body(exc.status, exc.message, request=self.request, title=title)
            return Response(body, status=exc.status)
        return super().handle_exception(exc)


def _files(request) -> list:
    return [*request.FILES.getlist("file"), *request.FILES.getlist("files")]


def _task_body(task, request, *, with_pictures: bool, limit: int) -> dict:
    pictures = list(selectors.visible_pictures([task.pk]).order_by("id")[:limit])
    return task_json(
        task,
        base=base_url(request),
        progress=selectors.task_progress(task),
        pictures=pictures,
        with_pictures=with_pictures,
    )


class TasksView(LabelingView):
    parser_classes = JSON_ONLY

    @extend_schema(
        operation_id="labeling_tasks_list",
        tags=["labeling"],
        **JSON_SCHEMA,
        description="003: tasks of the caller's projects, 0-based pages.",
    )
    def get(self, request):
        query = request.query_params
        tasks = selectors.tasks_for_listing(
            request.user,
            project_id=payload.text_field(query, "project") or None,
            task_type=payload.type_field(query, required=False),
        )
        tasks = selectors.with_previews(list(payload.page(tasks, query)))
        progress = selectors.tasks_progress(tasks)
        base = base_url(request)
        return self.ok(
            {
                "tasks": [
                    task_json(task, base=base, progress=progress[task.pk], pictures=task.preview_pictures, with_pictures=True)
                    for task in tasks
                ]
            }
        )

    @extend_schema(
        operation_id="labeling_task_create",
        tags=["labeling"],
        request=schemas.TASK_CREATE,
        responses={201: OpenApiTypes.OBJECT},
        description="003: publish a task in `project` (default D2D_LABELING_DEFAULT_PROJECT); editors only.",
    )
    def post(self, request):
        data = payload.body_data(request)
        payload.caller_check(request, data, required=True)
        fields = payload.task_fields(data, partial=False)
        project = services.task_project(user=request.user, project_id=payload.text_field(data, "project"))
        task = services.task_create(user=request.user, project=project, **fields)
        return self.ok(_task_body(task, request, with_pictures=False, limit=1), status=status.HTTP_201_CREATED)


class TaskView(LabelingView):
    parser_classes = JSON_ONLY

    @extend_schema(
        operation_id="labeling_task_retrieve",
        tags=["labeling"],
        **JSON_SCHEMA,
        description="003: a task's profile with its cover and pictures.",
    )
    def get(self, request, task_id: int):
        task = selectors.task_get_for_user(request.user, task_id)
        return self.ok(_task_body(task, request, with_pictures=True, limit=conf.profile_picture_limit()))

    @extend_schema(
        operation_id="labeling_task_update",
        tags=["labeling"],
        request=schemas.TASK_PATCH,
        responses={200: OpenApiTypes.OBJECT},
        description="003: change only the fields sent; never progress or labels (the formatter). Editors only.",
    )
    def patch(self, request, task_id: int):
        task = selectors.task_get_for_user(request.user, task_id, role=Role.EDITOR)
        data = payload.body_data(request)
        if data.get("id") is None:
            raise JsonError("can not find 'id'")
        if payload.int_field(data, "id") != task.pk:
            raise JsonError("id not match")
        task = services.task_update(task=task, by=request.user, changes=payload.task_fields(data, partial=True))
        return self.ok(_task_body(task, request, with_pictures=False, limit=1))


class TaskApplyView(LabelingView):
    parser_classes = JSON_ONLY

    @extend_schema(
        operation_id="labeling_task_apply",
        tags=["labeling"],
        request=schemas.APPLY,
        responses={200: OpenApiTypes.OBJECT},
        description="003: a commit with up to `size` held pictures (annotation) or a quota (collection).",
    )
    def post(self, request):
        data = payload.body_data(request)
        payload.caller_check(request, data)
        task_id = payload.int_field(data, "task_id", required=True)
        task = selectors.task_get_for_user(request.user, task_id)
        commit, pictures = services.task_apply(task=task, user=request.user)
        return self.ok(apply_json(commit, pictures, base=base_url(request)))


class TaskPicturesView(LabelingView):
    """The publisher's pictures: upload files (form-data "file") or import http(s) URLs ({"data": {"urls": []}})."""

    @extend_schema(
        operation_id="labeling_task_pictures_list",
        tags=["labeling"],
        **JSON_SCHEMA,
        description="A task's pictures, 0-based pages.",
    )
    def get(self, request, task_id: int):
        task = selectors.task_get_for_user(request.user, task_id)
        pictures = selectors.pictures_with_state(task)
        base = base_url(request)
        return self.ok({"pictures": [picture_json(p, base=base) for p in payload.page(pictures, request.query_params)]})

    @extend_schema(
        operation_id="labeling_task_pictures_add",
        tags=["labeling"],
        **JSON_SCHEMA,
        description="Add pictures by upload or by URL; editors only.",
    )
    def post(self, request, task_id: int):
        task = selectors.task_get_for_user(request.user, task_id, role=Role.EDITOR)
        if task.type != TaskType.ANNOTATION:
            raise JsonError(f"task {task.pk} is a collection task: its pictures come from commits")
        files = _files(request)
        if files:
            pictures = services.pictures_upload(task=task, user=request.user, files=files)
        else:
            data = payload.body_data(request)
            urls = data.get("urls") or ([data["url"]] if data.get("url") else [])
            if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
                raise JsonError("urls must be a list of http(s) URLs")
            pictures = services.pictures_import(task=task, user=request.user, urls=urls)
        base = base_url(request)
        return self.ok([picture_url(picture, base=base) for picture in pictures], status=status.HTTP_201_CREATED)


class AnyContentNegotiation(DefaultContentNegotiation):
    """Image clients send Accept: image/*; files answer in their own type, errors in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PictureFileView(LabelingView):
    content_negotiation_class = AnyContentNegotiation

    @extend_schema(
        operation_id="labeling_picture_file",
        tags=["labeling"],
        # The file in its own type: images and videos inline, anything else as an octet-stream attachment.
        responses={
            (200, "image/*"): OpenApiTypes.BINARY,
            (200, "video/*"): OpenApiTypes.BINARY,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request, task_id: int, picture_id: int, filename: str):
        picture = (
            Picture.objects.viewable_by(request.user).filter(pk=picture_id, task_id=task_id).select_related("task").first()
        )
        if picture is None:
            raise FileNotFound("picture url not exists")
        try:
            handle = picture.file.open("rb")
        except (FileNotFoundError, OSError):
            raise FileNotFound("picture url not exists") from None
        inline = picture.content_type in INLINE_TYPES
        response = FileResponse(
            handle,
            content_type=picture.content_type if inline else "application/octet-stream",
            as_attachment=not inline,
            filename=picture.original_name or picture.file_name,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class TaskExportView(LabelingView):
    @extend_schema(operation_id="labeling_task_export", tags=["labeling"], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, task_id: int, kind: str):
        task = selectors.task_get_for_user(request.user, task_id, role=Role.EDITOR)
        accepted_only = request.query_params.get("accepted") in ("1", "true", "yes")
        build = export.export_coco if kind == "coco" else export.export_json
        document = build(task, base=base_url(request), accepted_only=accepted_only)
        response = HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="task-{task.pk}-{kind}.json"'
        return response


class CommitsView(LabelingView):
    parser_classes = JSON_ONLY

    @extend_schema(
        operation_id="labeling_commits_list",
        tags=["labeling"],
        **JSON_SCHEMA,
        description="003: commits by user and task, 0-based pages.",
    )
    def get(self, request):
        query = request.query_params
        commits = selectors.commits_for_listing(
            request.user,
            # Bounded: SQLite cannot even compare a column with an integer past 64 bits (OverflowError).
            user_id=payload.int_field(query, "user", maximum=payload.MAX_OFFSET),
            task_id=payload.int_field(query, "task", maximum=payload.MAX_OFFSET),
        )
        return self.ok({"commits": [commit_json(commit) for commit in payload.page(commits, query)]})

    @extend_schema(
        operation_id="labeling_commit_upload",
        tags=["labeling"],
        request=schemas.COMMIT,
        responses={201: None},
        description="003: upload a commit's results (annotation); with task_type 1, submit a collection commit.",
    )
    def post(self, request):
        data = payload.body_data(request)
        payload.caller_check(request, data)
        commit = selectors.commit_get_for_user(request.user, payload.int_field(data, "commit_id", required=True))
        task_id = payload.int_field(data, "task_id")
        if task_id is not None and task_id != commit.task_id:
            raise JsonError("task_id not match")
        task_type = payload.int_field(data, "task_type")
        if task_type is not None and task_type != commit.task.type:
            raise JsonError("task_type not match")
        if commit.task.type == TaskType.COLLECTION:
            services.commit_finish(commit=commit)
        else:
            results = data.get("result")
            if not isinstance(results, list):
                raise JsonError("result can not be null")
            services.commit_upload_annotations(commit=commit, results=results)
        return Response(status=status.HTTP_201_CREATED)  # 003: "Body EMPTY"


class CommitPicturesView(LabelingView):
    """003 spells this path without a trailing slash; the slash form is served too."""

    @extend_schema(
        operation_id="labeling_commit_pictures_upload",
        tags=["labeling"],
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request, commit_id: int):
        commit = selectors.commit_get_for_user(request.user, commit_id)
        pictures = services.commit_upload_pictures(commit=commit, user=request.user, files=_files(request))
        base = base_url(request)
        return self.ok([picture_url(picture, base=base) for picture in pictures], status=status.HTTP_201_CREATED)



class CommitsAliasView(CommitsView):
    """/api/commits without the slash (003's spelling for GET); documented once, under /api/commits/."""

    schema = None


class CommitPicturesAliasView(CommitPicturesView):
    schema = None
