"""What the worker does with a conversion task: download its assets, wait for the last batch, convert, publish.

The handler may run again after a crash (at-least-once): downloaded assets are kept,
pending ones are fetched again, and results are written to a fresh folder and
swapped in with one transaction, so a rerun never leaves a half-published result.
"""

import json
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversions import files
from conversions.archives import safe_extract, write_zip, zip_limits
from conversions.converters import service_get
from conversions.converters.base import ConversionError, InputFile, Job
from conversions.models import ConversionTask, InputAsset, ResultFile, ResultType, Stage
from conversions.urlimport import FetchFailed, UrlRefused, fetch, shown_url
from kernel.errors import LeaseLost, TaskCancelled
from kernel.models import TaskLogLine, TaskStatus
from kernel.runner import TaskRun, task_transition

WAIT_POLL_SECONDS = 0.3
Level = TaskLogLine.Level


def _rows():
    return ConversionTask._base_manager


def _set_stage(run: TaskRun, stage: str, text: str) -> None:
    task = run.task
    if task.stage != stage and _rows().filter(pk=task.pk, stage=stage).exists():
        task.stage = stage  # the API moved it already (assets added while waiting)
    if task.stage != stage:
        task_transition(
            task, TaskStatus.RUNNING, message=f"stage: {stage}", holding_lease=run.lease_token, stage=stage, status_text=text
        )


def download_asset(run: TaskRun, asset: InputAsset) -> None:
    """Fetch one asset's URL into storage, or record why it failed."""
    task = run.task
    scratch = files.workdir(task)
    try:
        local = scratch / "download"
        with open(local, "wb") as sink:
            fetched = fetch(asset.download_url, sink)
        if not asset.file_name:
            asset.file_name = (fetched.file_name or "download")[:255]
        name = files.save_local(files.input_name(task, asset.file_name), local)
        InputAsset.objects.filter(pk=asset.pk).update(
            file=name, size=fetched.size, downloaded_bytes=fetched.size, status=InputAsset.Status.DOWNLOADED,
            file_name=asset.file_name, failure_reason="",
        )
        run.log(f"downloaded {asset.file_name} ({fetched.size} bytes)")
    except (UrlRefused, FetchFailed) as exc:
        kind = "refused" if isinstance(exc, UrlRefused) else "failed"
        InputAsset.objects.filter(pk=asset.pk).update(status=InputAsset.Status.FAILED, failure_reason=f"{kind}: {exc}")
        run.log(f"asset {asset.position} ({shown_url(asset.download_url)}) {kind}: {exc}", level=Level.WARNING)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _download_text(task: ConversionTask) -> tuple[float, str]:
    """How far the downloads are (the URLs tried) and what that means (downloaded, failed)."""
    urls = task.inputs.exclude(download_url="")
    total = urls.count()
    downloaded = urls.filter(status=InputAsset.Status.DOWNLOADED).count()
    failed = urls.filter(status=InputAsset.Status.FAILED).count()
    text = f"downloaded {downloaded} of {total} assets" + (f", {failed} failed" if failed else "")
    return (downloaded + failed) / max(total, 1), text


def gather_inputs(run: TaskRun) -> None:
    """Download pending assets until the client is done (last batch, or idle for D2D_CONVERSIONS_IDLE_SECONDS)."""
    task = run.task
    idle = settings.D2D_CONVERSIONS_IDLE_SECONDS
    while True:
        pending = task.inputs.filter(status=InputAsset.Status.PENDING).order_by("position", "id").first()
        if pending is not None:
            _set_stage(run, Stage.DOWNLOADING, "downloading assets")
            download_asset(run, pending)
            tried, text = _download_text(task)
            run.progress(10 * tried, text)
            continue
        with transaction.atomic():
            locked = _rows().select_for_update().get(pk=task.pk)
            if locked.inputs.filter(status=InputAsset.Status.PENDING).exists():
                continue
            since = locked.last_asset_at or locked.queued_at or timezone.now()
            if locked.last_batch or (timezone.now() - since).total_seconds() >= idle:
                reason = "last batch received" if locked.last_batch else f"no new assets for {idle}s"
                task_transition(
                    task, TaskStatus.RUNNING, message=f"stage: PROCESSING ({reason})", holding_lease=run.lease_token,
                    stage=Stage.PROCESSING, status_text="processing",
                )
                return
        _set_stage(run, Stage.WAITING, "waiting for more assets")
        run.check_cancelled()
        time.sleep(WAIT_POLL_SECONDS)


def _expand_zips(items: list[InputFile], service, scratch: Path) -> list[InputFile]:
    """ZIP inputs stand for their files, unless the service takes ZIPs itself."""
    expanded = []
    for item in items:
        if item.extension != "zip" or "zip" in service.accepts:
            expanded.append(item)
            continue
        folder = scratch / f"zip-{uuid.uuid4().hex[:8]}"
        for member, path in safe_extract(item.path, folder, **zip_limits()):
            expanded.append(InputFile(member.rsplit("/", 1)[-1] or path.name, path, dict(item.attributes)))
    return expanded


def convert(run: TaskRun) -> None:
    task = run.task
    service = service_get(task.service)
    assets = list(task.inputs.filter(status=InputAsset.Status.DOWNLOADED).order_by("position", "id"))
    if not assets:
        raise ConversionError("no input could be used: " + (task.assets_not_downloaded() or "the task has no inputs"))
    scratch = files.workdir(task)
    try:
        (scratch / "in").mkdir()
        (scratch / "out").mkdir()
        items = [
            InputFile(asset.file_name or f"input-{asset.position}", files.local_path(asset.file.name, scratch / "in"), asset.attributes)
            for asset in assets
        ]
        items = _expand_zips(items, service, scratch / "in")
        job = Job(items, task.params, scratch / "out", report=lambda fraction, text=None: run.progress(10 + 85 * fraction, text))
        run.log(f"{service.name} {service.version}: converting {len(items)} input(s)")
        service.run(job)
        publish(run, job, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def publish(run: TaskRun, job: Job, scratch: Path) -> None:
    """Store the outputs in a fresh folder, then swap the result rows in one transaction."""
    task = run.task
    service = service_get(task.service)
    result_type = service.result_type_of(task.params)
    if result_type == ResultType.JSON:
        path = job.output_path("result.json", "application/json")
        path.write_text(json.dumps(job.json_result, ensure_ascii=False))
    outputs = list(job.outputs)
    if not outputs:
        raise ConversionError("the conversion produced no output")
    run.progress(95, f"publishing {len(outputs)} file(s)")
    archive = None
    if len(outputs) > 1:
        # Built before the outputs move into storage (saving moves local files).
        archive = write_zip(scratch / "results.zip", [(output.name, output.path) for output in outputs])
    batch = uuid.uuid4().hex[:12]
    rows = []
    for output in outputs:
        size = output.path.stat().st_size
        name = files.save_local(files.result_name(task, batch, output.name), output.path)
        rows.append(ResultFile(task=task, name=output.name, file=name, content_type=output.content_type, size=size))
    if archive is not None:
        size = archive.stat().st_size
        name = files.save_local(files.result_name(task, batch, "results.zip"), archive)
        archive_name = f"{task.service}-{str(task.pk)[:8]}.zip"
        rows.append(ResultFile(task=task, name=archive_name, file=name, content_type="application/zip", size=size, is_archive=True))
    with transaction.atomic():
        locked = _rows().select_for_update().get(pk=task.pk)
        lease_lost = locked.lease_token != run.lease_token  # a successor owns the task: its result wins
        abandoned = bool(locked.deleted_at or locked.cancel_requested or lease_lost)
        if not abandoned:
            ResultFile.objects.filter(task=task).delete()
            ResultFile.objects.bulk_create(rows)
            json_result = job.json_result if result_type == ResultType.JSON else None
            _rows().filter(pk=task.pk).update(result_type=result_type, result_json=json_result)
    if abandoned:
        # Deleted, cancelled or superseded while converting: publish nothing and leave no files behind.
        files.delete_names([row.file.name for row in rows])
        raise LeaseLost() if lease_lost else TaskCancelled()
    files.delete_other_result_batches(task, batch)  # the previous result, and any a killed attempt stored
    run.log(f"published {len(rows)} file(s)")


def run_conversion(run: TaskRun) -> None:
    """The handler body. A ConversionError fails the task at once (the runner does not retry a bad input);
    any other error, or a worker killed mid-way, gets another attempt, which starts clean."""
    task = run.task
    if task.is_deleted:
        run.log("task was deleted; nothing to do", level=Level.WARNING)
        return
    files.sweep_workdirs(task)
    gather_inputs(run)
    convert(run)
    _rows().filter(pk=task.pk).update(status_text="success")  # 000's word; the runner marks it succeeded next
