"""A task's annotations as one JSON document, or as COCO (images, categories, boxes and polygons)."""

from labeling.models import COUNTED_STATUSES, Annotation, CommitStatus, LabelingTask, Picture, PictureSource, TaskType
from labeling.pictures import picture_url
from labeling.timefmt import format_time


def _annotations(task: LabelingTask, *, accepted_only: bool):
    statuses = (CommitStatus.ACCEPTED,) if accepted_only else COUNTED_STATUSES
    return (
        Annotation.objects.filter(picture__task=task, commit__status__in=statuses)
        .select_related("commit")
        .order_by("picture_id", "id")
    )


def _pictures(task: LabelingTask, *, accepted_only: bool):
    """Annotation tasks: the publisher's pictures; collection tasks: what submitted commits collected."""
    if task.type == TaskType.ANNOTATION:
        return Picture.objects.filter(task=task).exclude(source=PictureSource.COLLECTED).order_by("id")
    statuses = (CommitStatus.ACCEPTED,) if accepted_only else COUNTED_STATUSES
    return Picture.objects.filter(task=task, source=PictureSource.COLLECTED, commit__status__in=statuses).order_by("id")


def export_json(task: LabelingTask, *, base: str, accepted_only: bool = False) -> dict:
    """Every picture with every counted result, the raw text beside its JSON reading."""
    by_picture: dict[int, list] = {}
    for annotation in _annotations(task, accepted_only=accepted_only):
        by_picture.setdefault(annotation.picture_id, []).append(
            {
                "commit_id": annotation.commit_id,
                "user_id": annotation.commit.user_id,
                "status": annotation.commit.status,
                "annotation_json": annotation.annotation_json,
                "annotation": annotation.parsed,
                "created_at": format_time(annotation.created_at),
            }
        )
    return {
        "task": {"id": task.pk, "name": task.name, "type": task.type, "project": task.project_id, "formatter": task.formatter},
        "pictures": [
            {
                "id": picture.pk,
                "url": picture_url(picture, base=base),
                "file_name": picture.original_name or picture.file_name,
                "width": picture.width,
                "height": picture.height,
                "annotations": by_picture.get(picture.pk, []),
            }
            for picture in _pictures(task, accepted_only=accepted_only)
        ],
    }


def export_coco(task: LabelingTask, *, base: str, accepted_only: bool = False) -> dict:
    """COCO detection format: two points are a box, more are a polygon; attributes ride along.

    Results that are not JSON (XML, free text) have no COCO form and are left out.
    """
    categories: dict[str, int] = {}
    for tag in task.formatter.get("tags", []):
        categories.setdefault(tag["name"], len(categories) + 1)
    images = [
        {
            "id": picture.pk,
            "file_name": picture.original_name or picture.file_name,
            "width": picture.width,
            "height": picture.height,
            "coco_url": picture_url(picture, base=base),
        }
        for picture in _pictures(task, accepted_only=accepted_only)
    ]
    annotations = []
    for annotation in _annotations(task, accepted_only=accepted_only):
        parsed = annotation.parsed
        if not isinstance(parsed, dict):
            continue
        for tag in parsed.get("tags", []) or []:
            if not isinstance(tag, dict) or not isinstance(tag.get("name"), str):
                continue
            category_id = categories.setdefault(tag["name"], len(categories) + 1)
            annotations.append(_coco_annotation(len(annotations) + 1, annotation, category_id, tag))
    return {
        "info": {"description": task.name, "version": "1.0", "date_created": format_time(task.created_at)},
        "licenses": [],
        "images": images,
        "categories": [{"id": number, "name": name, "supercategory": ""} for name, number in categories.items()],
        "annotations": annotations,
    }


def _coco_annotation(number: int, annotation: Annotation, category_id: int, tag: dict) -> dict:
    # Without a formatter results are stored unchecked: only [x, y] pairs of numbers make geometry.
    position = tag.get("position")
    points = [point for point in position if _is_point(point)] if isinstance(position, list) else []
    segmentation: list = []
    if len(points) >= 2:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        left, top = min(xs), min(ys)
        bbox = [left, top, max(xs) - left, max(ys) - top]
        if len(points) > 2:
            segmentation = [[coordinate for point in points for coordinate in point]]
    elif points:
        bbox = [points[0][0], points[0][1], 0, 0]
    else:
        bbox = [0, 0, 0, 0]
    attributes = {
        item["name"]: item.get("values", [])
        for item in tag.get("attributes") or []
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }
    return {
        "id": number,
        "image_id": annotation.picture_id,
        "category_id": category_id,
        "bbox": bbox,
        "area": bbox[2] * bbox[3],
        "segmentation": segmentation,
        "iscrowd": 0,
        "attributes": attributes,
        "commit_id": annotation.commit_id,
    }


def _is_point(point) -> bool:
    return (
        isinstance(point, list)
        and len(point) == 2
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
    )
