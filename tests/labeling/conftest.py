"""Labeling fixtures: media in a temporary folder, tasks, pictures and files to upload."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from labeling.models import LabelingTask, PictureSource
from labeling.pictures import content_file, picture_store


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}},
    }
    settings.D2D_PUBLIC_URL = ""
    return tmp_path / "media"


def png_bytes(color=(200, 30, 30), size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name="cat.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


FORMATTER = {
    "tags": [
        {
            "name": "tag1",
            "description": "some description about tag1",
            "attributes": [{"values": ["option1", "option2"], "name": "attr1", "description": "some description about attr1"}],
        }
    ]
}


@pytest.fixture
def make_task(project_a, alice):
    def make(*, project=None, pictures=0, **fields) -> LabelingTask:
        fields.setdefault("name", "cats")
        fields.setdefault("size", 3)
        task = LabelingTask.objects.create(project=project or project_a, publisher=alice, **fields)
        for number in range(pictures):
            picture_store(
                task=task,
                handle=content_file(png_bytes(color=(number % 256, 0, 0)), f"p{number}.png"),
                name=f"p{number}.png",
                source=PictureSource.UPLOAD,
                user=alice,
            )
        return task

    return make
