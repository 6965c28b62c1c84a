"""Admin: publish tasks (with their pictures as thumbnails), review commits (accept / reject), export annotations, inspect holds."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from kernel.admin import SoftDeleteAdmin
from kernel.errors import DomainError
from labeling import export, selectors, services
from labeling.api.representations import base_url
from labeling.formatter import description_clean, formatter_clean
from labeling.models import Annotation, Commit, CommitStatus, LabelingTask, Picture, PictureHold
from labeling.pictures import picture_prepare

GALLERY_PICTURES = 60


def picture_src(picture) -> str:
    """The admin's own URL of a picture's file: staff see it whether or not they belong to its project."""
    return reverse("admin:labeling_picture_file", args=[picture.pk])


def thumbnails(pictures) -> str:
    return format_html_join(
        "",
        '<a href="{}" title="{}"><img src="{}" alt="{}" loading="lazy" style="height:72px;max-width:120px;margin:2px;object-fit:cover"></a>',
        (
            (reverse("admin:labeling_picture_change", args=[picture.pk]), picture.original_name, picture_src(picture), picture.original_name)
            for picture in pictures
        ),
    )


class LabelingTaskForm(forms.ModelForm):
    class Meta:
        model = LabelingTask
        fields = "__all__"

    def clean_description(self):
        return description_clean(self.cleaned_data.get("description") or "")

    def clean_formatter(self):
        try:
            return formatter_clean(self.cleaned_data.get("formatter"))
        except DomainError as exc:
            raise ValidationError(exc.message) from None


def _download(document: dict, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(LabelingTask)
class LabelingTaskAdmin(SoftDeleteAdmin):
    form = LabelingTaskForm
    list_display = ["id", "name", "project", "type", "publisher", "size", "picture_count", "progress", "deadline", "created_at"]
    list_display_links = ["id", "name"]
    list_filter = ["type", "project", "created_at"]
    list_select_related = ["project", "publisher"]
    search_fields = ["name", "description", "project__id", "publisher__username"]
    raw_id_fields = ["project", "publisher"]
    date_hierarchy = "created_at"
    readonly_fields = ["progress", "gallery", "created_at", "updated_at", "created_by", "updated_by", "deleted_at", "deleted_by"]
    actions = [*SoftDeleteAdmin.actions, "export_json", "export_coco", "expire_due_commits"]

    @admin.display(description="pictures")
    def gallery(self, obj):
        if not obj.pk:
            return ""
        pictures = list(obj.pictures.order_by("id")[:GALLERY_PICTURES])
        if not pictures:
            return "(no picture yet)"
        every = reverse("admin:labeling_picture_changelist") + f"?task__id__exact={obj.pk}"
        return format_html('<div>{}</div><a href="{}">every picture of the task</a>', thumbnails(pictures), every)

    def get_queryset(self, request):
        # Progress as subqueries of the list's one query (two queries per row before).
        return selectors.with_progress_counts(
            super().get_queryset(request).annotate(picture_total=Count("pictures", distinct=True))
        )

    @admin.display(description="pictures", ordering="picture_total")
    def picture_count(self, obj):
        return obj.picture_total

    @admin.display(description="progress")
    def progress(self, obj):
        if not obj.pk:
            return ""
        progress = selectors.progress_from_counts(obj) if hasattr(obj, "own_count") else selectors.task_progress(obj)
        total = "?" if progress.total is None else progress.total
        return f"{progress.done} / {total}" + ("" if progress.percent is None else f" ({progress.percent}%)")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.publisher = obj.publisher or request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Export annotations as JSON")
    def export_json(self, request, queryset):
        base = base_url(request)
        tasks = list(queryset)
        if len(tasks) == 1:
            return _download(export.export_json(tasks[0], base=base), f"task-{tasks[0].pk}-json.json")
        return _download({"tasks": [export.export_json(task, base=base) for task in tasks]}, "tasks-json.json")

    @admin.action(description="Export annotations as COCO (one task)")
    def export_coco(self, request, queryset):
        tasks = list(queryset[:2])
        if len(tasks) != 1:
            self.message_user(request, "Select exactly one task for a COCO export.", messages.WARNING)
            return None
        return _download(export.export_coco(tasks[0], base=base_url(request)), f"task-{tasks[0].pk}-coco.json")

    @admin.action(description="Expire overdue commits (their pictures return to the pool)")
    def expire_due_commits(self, request, queryset):
        count = sum(services.commits_expire(task=task) for task in queryset)
        self.message_user(request, f"Expired {count} commit(s).", messages.SUCCESS)


class PictureForm(forms.ModelForm):
    """Adding a picture in the admin runs the same checks as the API and records what the file is."""

    class Meta:
        model = Picture
        fields = ["task", "file", "source", "source_url", "commit", "uploaded_by"]

    def clean(self):
        cleaned = super().clean()
        upload, task = cleaned.get("file"), cleaned.get("task")
        if self.instance.pk or not upload or not task:
            return cleaned
        try:
            self.checked = picture_prepare(
                task=task, handle=upload, name=upload.name, source=cleaned.get("source"), user=None
            )
        except DomainError as exc:
            raise ValidationError({"file": exc.message}) from None
        return cleaned


@admin.register(Picture)
class PictureAdmin(admin.ModelAdmin):
    form = PictureForm
    list_display = [
        "id", "thumbnail", "task", "source", "original_name", "content_type", "width", "height", "commit", "created_at"
    ]
    list_filter = ["source", "task__type", "created_at"]
    list_select_related = ["task"]
    search_fields = ["original_name", "source_url", "task__name", "uploaded_by__username"]
    raw_id_fields = ["task", "commit", "uploaded_by"]
    readonly_fields = ["preview", "file", "content_type", "byte_size", "width", "height", "created_at"]
    actions = ["release_holds"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ["preview", "content_type", "byte_size", "width", "height", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            for field in ("original_name", "content_type", "byte_size", "width", "height"):
                setattr(obj, field, getattr(form.checked, field))
            obj.uploaded_by = obj.uploaded_by or request.user
        super().save_model(request, obj, form, change)

    # Django's "delete selected" (with its confirmation page) ends in delete_queryset below.
    def delete_model(self, request, obj):
        services.pictures_delete(pictures=[obj])

    def delete_queryset(self, request, queryset):
        services.pictures_delete(pictures=queryset)

    @admin.action(description="Release holds on selected pictures (back to the pool)")
    def release_holds(self, request, queryset):
        count = services.holds_release(holds=PictureHold.objects.filter(picture__in=queryset))
        self.message_user(request, f"Released {count} hold(s).", messages.SUCCESS)

    def get_urls(self):
        file = path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="labeling_picture_file")
        return [file, *super().get_urls()]

    def file_view(self, request, object_id):
        picture = self.get_object(request, object_id)
        if picture is None or not self.has_view_permission(request, picture) or not picture.file:
            raise Http404("no such picture")
        response = FileResponse(picture.file.open("rb"), content_type=picture.content_type or "application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"  # only the raster types picture_prepare accepts are served inline
        return response

    @admin.display(description="")
    def thumbnail(self, obj):
        return format_html('<img src="{}" loading="lazy" style="max-height:48px;max-width:96px">', picture_src(obj))

    @admin.display(description="preview")
    def preview(self, obj):
        if not obj.pk:
            return ""
        return format_html('<img src="{}" style="max-width:640px">', picture_src(obj))


class AnnotationInline(admin.TabularInline):
    model = Annotation
    extra = 0
    fields = ["picture", "annotation_json", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PictureHoldInline(admin.TabularInline):
    model = PictureHold
    extra = 0
    fields = ["picture", "active", "created_at", "released_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Commit)
class CommitAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "user", "status", "size", "created_at", "expires_at", "uploaded_at", "reviewed_by"]
    list_filter = ["status", "task__type", "task__project", "created_at"]
    list_select_related = ["task", "user", "reviewed_by"]
    search_fields = ["user__username", "task__name", "review_note"]
    raw_id_fields = ["task", "user", "reviewed_by"]
    date_hierarchy = "created_at"
    # status changes only through the actions (services): an edited status would skip the holds and the
    # one-open-commit rule.
    readonly_fields = ["task", "user", "status", "size", "work", "created_at", "uploaded_at", "reviewed_at", "reviewed_by"]
    inlines = [AnnotationInline, PictureHoldInline]
    actions = ["accept_selected", "reject_selected", "expire_due"]

    @admin.display(description="pictures to review")
    def work(self, obj):
        """The pictures the commit annotated or collected, so a reviewer sees the work before accepting it."""
        if not obj.pk:
            return ""
        pictures = Picture.objects.filter(Q(commit=obj) | Q(annotations__commit=obj)).distinct().order_by("id")[:GALLERY_PICTURES]
        return thumbnails(pictures) or "(none)"

    def _review(self, request, queryset, *, accept: bool):
        done, refused = 0, 0
        for commit in queryset:
            try:
                services.commit_review(commit=commit, accept=accept, by=request.user)
                done += 1
            except DomainError:
                refused += 1
        verb = "Accepted" if accept else "Rejected"
        self.message_user(request, f"{verb} {done}; {refused} were not uploaded yet.", messages.INFO)

    @admin.action(description="Accept selected (uploaded) commits")
    def accept_selected(self, request, queryset):
        self._review(request, queryset, accept=True)

    @admin.action(description="Reject selected commits (their pictures are to be done again)")
    def reject_selected(self, request, queryset):
        self._review(request, queryset, accept=False)

    @admin.action(description="Expire overdue open commits")
    def expire_due(self, request, queryset):
        count = services.commits_expire()
        self.message_user(request, f"Expired {count} commit(s).", messages.SUCCESS)


@admin.register(PictureHold)
class PictureHoldAdmin(admin.ModelAdmin):
    list_display = ["id", "picture", "commit", "active", "created_at", "released_at"]
    list_filter = ["active", "created_at"]
    list_select_related = ["picture", "commit"]
    search_fields = ["commit__user__username", "commit__task__name"]
    raw_id_fields = ["picture", "commit"]
    readonly_fields = ["picture", "commit", "active", "created_at", "released_at"]
    actions = ["release_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Release selected holds (pictures back to the pool)")
    def release_selected(self, request, queryset):
        count = services.holds_release(holds=queryset)
        self.message_user(request, f"Released {count} hold(s).", messages.SUCCESS)


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "picture", "commit", "commit_status", "created_at"]
    list_filter = ["commit__status", "created_at"]
    list_select_related = ["commit"]
    search_fields = ["annotation_json", "commit__user__username", "commit__task__name"]
    raw_id_fields = ["picture", "commit"]
    readonly_fields = ["picture", "commit", "annotation_json", "parsed", "created_at"]
    actions = ["download_selected"]

    @admin.action(description="Download selected as JSON")
    def download_selected(self, request, queryset):
        rows = [
            {
                "id": annotation.pk,
                "picture_id": annotation.picture_id,
                "commit_id": annotation.commit_id,
                "user_id": annotation.commit.user_id,
                "status": annotation.commit.status,
                "annotation_json": annotation.annotation_json,
            }
            for annotation in queryset.select_related("commit")
        ]
        return _download({"annotations": rows}, "annotations.json")

    @admin.display(description="commit status", ordering="commit__status")
    def commit_status(self, obj):
        return CommitStatus(obj.commit.status).label

    def has_add_permission(self, request):
        return False
