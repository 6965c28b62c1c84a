"""Pictures in and out of storage: checks on what is stored, and the stable URL each one is served at."""

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.core.files.base import ContentFile, File
from django.urls import Resolver404, resolve, reverse
from PIL import Image, UnidentifiedImageError

from labeling import conf
from labeling.errors import PictureError
from labeling.models import Picture

IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
# Collection tasks may ask for short videos (003's example: "gif或者视频皆可").
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}
# Served inline; anything else would be an attachment, so a stored file never runs as a page.
INLINE_TYPES = set(IMAGE_TYPES.values()) | set(VIDEO_TYPES.values())


@dataclass
class Inspected:
    content_type: str
    width: int | None = None
    height: int | None = None


def picture_inspect(handle, *, name: str, allow_video: bool) -> Inspected:
    """What the bytes really are; refuses anything that is not a picture (or, when allowed, a video)."""
    handle.seek(0)
    head = handle.read(16)
    handle.seek(0)
    suffix = PurePosixPath(name).suffix.lower()
    if allow_video and suffix in VIDEO_TYPES and _looks_like_video(head):
        return Inspected(VIDEO_TYPES[suffix])
    try:
        with Image.open(handle) as image:
            image_format, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        kinds = "a picture or a video" if allow_video else "a picture"
        raise PictureError(f"{name or 'the file'} is not {kinds} (jpeg, png, gif, webp, bmp, tiff)") from None
    finally:
        handle.seek(0)
    if image_format not in IMAGE_TYPES:
        raise PictureError(f"{name or 'the file'} is a {image_format} image; use jpeg, png, gif, webp, bmp or tiff")
    return Inspected(IMAGE_TYPES[image_format], width, height)


def _looks_like_video(head: bytes) -> bool:
    return head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3")


def picture_prepare(*, task, handle, name: str, source: str, user, commit=None, source_url: str = "") -> Picture:
    """Check a file and describe it as an unsaved Picture; nothing is written yet."""
    size = _size_of(handle)
    limit = conf.max_picture_bytes()
    if size > limit:
        raise PictureError(f"{name or 'the file'} is {size} bytes; the limit is {limit}")
    if size == 0:
        raise PictureError(f"{name or 'the file'} is empty")
    inspected = picture_inspect(handle, name=name, allow_video=not task.is_annotation)
    picture = Picture(
        task=task,
        original_name=PurePosixPath(name or "picture").name[:255],
        content_type=inspected.content_type,
        byte_size=size,
        width=inspected.width,
        height=inspected.height,
        source=source,
        source_url=source_url,
        commit=commit,
        uploaded_by=user,
    )
    picture.pending_file = handle
    return picture


def picture_save(picture: Picture) -> Picture:
    """Write the file through the default storage (local files or S3), then the row."""
    handle = picture.pending_file
    picture.file.save(picture.original_name, handle if isinstance(handle, File) else File(handle), save=False)
    picture.save()
    return picture


def pictures_store(prepared: list[Picture]) -> list[Picture]:
    """Every file was checked before the first is written, so a refused batch leaves nothing in storage."""
    return [picture_save(picture) for picture in prepared]


def picture_store(**kwargs) -> Picture:
    return picture_save(picture_prepare(**kwargs))


def content_file(content: bytes, name: str) -> ContentFile:
    return ContentFile(content, name=name)


def _size_of(handle) -> int:
    size = getattr(handle, "size", None)
    if size is not None:
        return size
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    return size


def picture_path(picture: Picture) -> str:
    return reverse(
        "labeling:picture-file",
        kwargs={"task_id": picture.task_id, "picture_id": picture.pk, "filename": picture.file_name},
    )


def picture_url(picture: Picture, *, base: str) -> str:
    """The stable, absolute URL clients keep (003 hands out absolute URLs); access is checked when it is read."""
    return f"{base}{picture_path(picture)}"


def picture_id_from_url(url: str) -> int | None:
    """Which picture a URL handed out earlier names (any host: clients may reach us by another name)."""
    if isinstance(url, int) and not isinstance(url, bool):
        return url
    if not isinstance(url, str) or not url:
        return None
    try:
        match = resolve(urlsplit(url).path)
    except (Resolver404, ValueError):  # ValueError: urlsplit on "http://[not-an-address/"
        return None
    if match.view_name != "labeling:picture-file":
        return None
    return match.kwargs["picture_id"]
