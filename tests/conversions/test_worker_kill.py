"""SIGKILL of the worker in the middle of an OCR conversion: the retry completes, exactly one result is published.

Real parts throughout: a qcluster process, Tesseract, files on disk. The kill lands while the
worker is inside the converter (some pages recognised, others not), as a crashed machine would.
"""

import os
import shutil
import signal
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

from conversions import files
from conversions.converters.base import Job
from conversions.models import ConversionTask, ResultFile
from conversions.processing import publish
from kernel.errors import LeaseLost
from kernel.models import TaskStatus
from kernel.runner import TaskRun, recover_stale_tasks, sweep_scratch_folders
from tests.conversions.support import csv_bytes, run_inline
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core (scripts/system-deps)
PAGES = 4


def page_png(number: int) -> bytes:
    """A full page of text, so that Tesseract needs a noticeable moment for each."""
    font = ImageFont.truetype(FONT, 28)
    image = Image.new("RGB", (1700, 1100), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), f"Page {number} of the kill test", fill="black", font=font)
    for line in range(1, 21):
        draw.text((60, 40 + line * 48), f"line {line} says the quick brown fox jumps over the lazy dog", fill="black", font=font)
    path = Path(settings.DATA_DIR) / f"kill-page-{number}.png"
    image.save(path)
    data = path.read_bytes()
    path.unlink()
    return data


def refreshed(task):
    task.refresh_from_db()
    return task


def scratch_folders(task) -> list[Path]:
    return list((Path(settings.DATA_DIR) / "work").glob(f"conv-{task.pk}-*"))


def stored_results(task) -> set[str]:
    store = files.storage()
    found = set()

    def walk(prefix):
        try:
            folders, names = store.listdir(prefix)
        except FileNotFoundError:
            return
        found.update(f"{prefix}/{name}" for name in names)
        for folder in folders:
            walk(f"{prefix}/{folder}")

    walk(f"{task.storage_prefix}/results")
    return found


@pytest.mark.runner
def test_it_completes_an_ocr_task_once_after_its_worker_is_killed_mid_conversion(api, alice, project_a, cluster_factory):
    cluster = cluster_factory()
    client = api(alice)
    created = client.post("/api/v1/uploads/tasks", {"service": "ocr", "params": {"lang": "eng"}}, format="json").json()
    pages = [SimpleUploadedFile(f"page-{n}.png", page_png(n)) for n in range(1, PAGES + 1)]
    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/files", {"files": pages}, format="multipart").status_code == 201
    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/submit").status_code == 202
    task = ConversionTask.objects.get(pk=created["id"])

    def inside_the_converter():
        refreshed(task)
        return task.status == TaskStatus.RUNNING and task.status_text.startswith("recognising page-2")

    wait_until(inside_the_converter, timeout=120, interval=0.05, message="the first page recognised")
    for pid in cluster.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert scratch_folders(task), "the killed attempt left its scratch folder behind"
    assert not ResultFile.objects.filter(task=task).exists(), "nothing published by the killed attempt"

    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="the lease to lapse")
    wait_until(lambda: refreshed(task).is_finished, timeout=180, message="the retry to finish")

    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert task.attempts == 2
    messages = [line.message for line in task.log_lines()]
    assert "attempt 1 stopped without finishing (worker killed or over the time limit)" in messages
    assert messages.count("succeeded") == 1

    results = list(ResultFile.objects.filter(task=task).order_by("name"))
    texts = [result for result in results if not result.is_archive]
    assert [result.name for result in texts] == [f"page-{n}.txt" for n in range(1, PAGES + 1)]
    assert len(results) == PAGES + 1, "one archive of the pages beside them"
    for number, result in enumerate(texts, start=1):
        with result.file.open("rb") as handle:
            assert handle.read().decode().startswith(f"Page {number} "), "each page's own text, recognised once"
    assert stored_results(task) == {result.file.name for result in results}, "no file of another attempt is stored"
    assert scratch_folders(task) == [], "the retry removed the killed attempt's scratch folder"


def test_a_rerun_clears_what_an_attempt_killed_mid_publish_left_behind(api, alice, project_a):
    """The window the kill above cannot aim at: outputs stored, result rows not yet swapped in."""
    client = api(alice)
    created = client.post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "csv"}}, format="json").json()
    upload = SimpleUploadedFile("numbers.csv", csv_bytes(5))
    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/files", {"files": [upload]}, format="multipart").status_code == 201
    task = ConversionTask.objects.get(pk=created["id"])
    orphan = files.storage().save(f"{task.storage_prefix}/results/killedbatch/numbers.csv", ContentFile(b"half"))
    stale = Path(settings.DATA_DIR) / "work" / f"conv-{task.pk}-killed"
    stale.mkdir(parents=True)
    (stale / "download").write_bytes(b"partial")

    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/submit").status_code == 202
    run_inline(task)

    assert task.status == TaskStatus.SUCCEEDED, task.error
    [result] = ResultFile.objects.filter(task=task)
    assert stored_results(task) == {result.file.name} and orphan != result.file.name
    assert not stale.exists() and scratch_folders(task) == []


def test_an_attempt_that_lost_its_lease_publishes_nothing(api, alice, project_a, tmp_path):
    """A stalled attempt whose successor took the task must neither swap in its result nor delete the successor's."""
    client = api(alice)
    created = client.post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "csv"}}, format="json").json()
    upload = SimpleUploadedFile("numbers.csv", csv_bytes(5))
    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/files", {"files": [upload]}, format="multipart").status_code == 201
    assert client.post(f"/api/v1/uploads/tasks/{created['id']}/submit").status_code == 202
    task = ConversionTask.objects.get(pk=created["id"])
    run_inline(task)  # the successor's result, published
    [published] = ResultFile.objects.filter(task=task)

    out = tmp_path / "out"
    out.mkdir()
    job = Job([], {}, out)
    job.output_path("numbers.csv", "text/csv").write_text("stale\n")
    stale_attempt = TaskRun(task, uuid.uuid4())  # a lease token the row does not hold
    with pytest.raises(LeaseLost):
        publish(stale_attempt, job, tmp_path)
    assert list(ResultFile.objects.filter(task=task)) == [published]
    assert stored_results(task) == {published.file.name}, "the stale files are gone, the successor's kept"


def test_the_hourly_sweep_removes_scratch_of_ended_and_unknown_tasks_only(api, alice, project_a):
    """Runs that get no next attempt (the last one killed, cancelled, deleted) leave folders only this removes."""
    client = api(alice)
    ended = ConversionTask.objects.get(pk=client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()["id"])
    live = ConversionTask.objects.get(pk=client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()["id"])
    ConversionTask.objects.filter(pk=ended.pk).update(status=TaskStatus.FAILED)
    ConversionTask.objects.filter(pk=live.pk).update(status=TaskStatus.RETRYING)
    work = Path(settings.DATA_DIR) / "work"
    folders = {name: work / f"conv-{task_id}-left" for name, task_id in
               (("ended", ended.pk), ("live", live.pk), ("unknown", uuid.uuid4()))}
    for folder in folders.values():
        folder.mkdir(parents=True)

    assert sweep_scratch_folders() >= 2
    assert {name: folder.exists() for name, folder in folders.items()} == {"ended": False, "live": True, "unknown": False}
    shutil.rmtree(folders["live"])
