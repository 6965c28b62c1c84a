"""The access matrix's world: one object of each kind in project alpha, made once per module through
the apps' services and the real task runner (a pipeline run, a conversion and a compute job really
run), committed, and shared by every cell. Each cell runs inside its own rolled-back transaction
(pytest-django's ``db``) on a private copy of the world's files, so a write in one cell never
reaches the next. The module's teardown flushes the database, as a transactional test does.

Users: alice owns alpha, bob is a viewer of alpha, charlie owns beta (as in tests/conftest.py, but
committed for the module; the fixtures here have their own names so they never shadow the suite's).
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from eth_account import Account

from tests.compute.conftest import DATATOKEN, FileServer, signed
from tests.labeling.conftest import png_upload

CSV = b"id,name\n1,a\n2,b\n3,c\n"


def dataset_file_server() -> FileServer:
    """127.0.0.1 HTTP server for the compute dataset's file (the only traffic: loopback)."""
    server = FileServer()
    server.files["/data.csv"] = CSV
    return server


COUNT_ROWS = """
import csv, json, os
did = json.loads(os.environ["DIDS"])[0]
with open(f"/data/inputs/{did}/0", newline="") as handle:
    rows = sum(1 for _ in csv.DictReader(handle))
with open("/data/outputs/result.json", "w") as out:
    json.dump({"rows": rows}, out)
print("counted", rows)
"""


@dataclass
class World:
    """Ids of everything the matrix addresses; ``ids`` fills the rows' path templates."""

    media: Path
    users: dict = field(default_factory=dict)  # role -> User
    tokens: dict = field(default_factory=dict)  # role -> API token the cells call with
    ids: dict = field(default_factory=dict)
    consumer: object = None  # the Ethereum account owning the compute job
    stranger: object = None  # another Ethereum account


def _storage_settings(location: Path) -> dict:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}},
    }


def _build(world: World, files: FileServer) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from accounts.models import Role
    from accounts.services import membership_set, project_create, token_issue, user_create
    from compute.datasets import algorithm_publish, dataset_publish
    from compute.jobs import compute_start
    from compute.models import ComputeJob
    from compute.orders import order_mark_paid, order_quote
    from conversions import lifecycle
    from conversions.models import ConversionTask
    from kernel.runner import execute
    from labeling import services as labeling
    from labeling.models import TaskType
    from pipelines.models import Destination, Source
    from pipelines.services import connector_create, job_create, job_sync_start

    users = {name: user_create(username=name, email=f"{name}@example.com", password="correct-horse-battery") for name in ("alice", "bob", "charlie")}
    alice, bob, charlie = users["alice"], users["bob"], users["charlie"]
    alpha = project_create(project_id="alpha", name="Alpha", owner=alice)
    membership_set(project=alpha, user=bob, role=Role.VIEWER)
    beta = project_create(project_id="beta", name="Beta", owner=charlie)
    world.users = {"owner": alice, "viewer": bob, "outsider": charlie}
    ids = world.ids
    ids["alice_id"], ids["bob_id"], ids["charlie_id"] = alice.pk, bob.pk, charlie.pk
    ids["alice_token"] = token_issue(user=alice, name="matrix")[0].pk
    world.tokens = {role: token_issue(user=user, name="cell")[1] for role, user in world.users.items()}

    # --- pipelines (004): a file source, a CSV destination, a job and one finished run with its log
    default_storage.save("pipelines/alpha/in/rows.csv", ContentFile(CSV))
    default_storage.save("pipelines/beta/in/rows.csv", ContentFile(CSV))
    source_config = {"path": "in", "format": "csv"}
    source = connector_create(model=Source, project=alpha, user=alice, name="src", type="file", version="latest", config=source_config)
    dest = connector_create(model=Destination, project=alpha, user=alice, name="dst", type="csv", version="latest", config={"path": "out"})
    spare_source = connector_create(
        model=Source, project=alpha, user=alice, name="spare-src", type="file", version="latest", config=source_config
    )
    spare_dest = connector_create(
        model=Destination, project=alpha, user=alice, name="spare-dst", type="csv", version="latest", config={"path": "spare"}
    )
    job = job_create(project=alpha, user=alice, name="job", source={"name": "src"}, destination={"name": "dst"}, activate=False)
    run = job_sync_start(job=job, user=alice, publish=False)
    assert execute("pipelines.JobTask", str(run.pk)) == "succeeded"
    ids.update(source=source.pk, dest=dest.pk, spare_source=spare_source.pk, spare_dest=spare_dest.pk, job=job.pk, run=run.pk)
    beta_job = job_create(
        project=beta, user=charlie, name="beta-job",
        source={"name": "beta-src", "type": "file", "version": "latest", "config": source_config},
        destination={"name": "beta-dst", "type": "csv", "version": "latest", "config": {"path": "out"}},
        activate=False,
    )
    ids["beta_job"] = beta_job.pk

    # --- conversions (000/001): a finished task with a result, and an open one with an input
    task = lifecycle.task_register(user=alice, service="tabular", params={"to": "jsonl"}, project_id="alpha")
    lifecycle.files_upload(task=task, uploads=[SimpleUploadedFile("rows.csv", CSV, content_type="text/csv")])
    lifecycle.task_submit(task=task)
    assert execute("conversions.ConversionTask", str(task.pk)) == "succeeded", ConversionTask.objects.get(pk=task.pk).error
    task.refresh_from_db()
    ids["conv"] = task.pk
    ids["conv_file"] = task.results.get().pk
    open_task = lifecycle.task_register(user=alice, service="tabular", params={"to": "jsonl"}, project_id="alpha")
    lifecycle.files_upload(task=open_task, uploads=[SimpleUploadedFile("rows.csv", CSV, content_type="text/csv")])
    ids["conv_open"] = open_task.pk

    # --- labeling (003): an annotation task with pictures and alice's uploaded commit; a collection task
    annotation = labeling.task_create(user=alice, project=alpha, type=TaskType.ANNOTATION, name="cats", size=1)
    pictures = labeling.pictures_upload(
        task=annotation, user=alice, files=[png_upload(f"p{number}.png") for number in range(3)]
    )
    commit, held = labeling.task_apply(task=annotation, user=alice)
    labeling.commit_upload_annotations(
        commit=commit, results=[{"picture_id": held[0].pk, "annotation_json": '{"tag": "tag1"}'}]
    )
    commit.refresh_from_db()
    ids.update(label_task=annotation.pk, picture=pictures[0].pk, picture_name=pictures[0].file_name, commit=commit.pk)
    collection = labeling.task_create(user=alice, project=alpha, type=TaskType.COLLECTION, name="collect", size=2, goal=10)
    ids["collect_task"] = collection.pk
    beta_task = labeling.task_create(user=charlie, project=beta, type=TaskType.ANNOTATION, name="beta cats", size=1)
    ids["beta_label_task"] = beta_task.pk

    # --- compute (002): a dataset, an algorithm, a paid access order and a finished job of one consumer
    world.consumer, world.stranger = Account.create(), Account.create()
    dataset = dataset_publish(
        project=alpha,
        name="three rows",
        datatoken_address=DATATOKEN,
        services=[
            {"index": 0, "type": "access", "price": "1"},
            {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True},
        ],
        files=[{"url": files.url("/data.csv"), "contentType": "text/csv"}],
        by=alice,
    )
    algorithm = algorithm_publish(project=alpha, name="count rows", code=COUNT_ROWS, by=alice)
    access = order_mark_paid(
        order=order_quote(dataset=dataset, service=dataset.service(0), consumer=world.consumer.address), tx_id="0xaccess"
    )
    paid = order_mark_paid(
        order=order_quote(dataset=dataset, service=dataset.service(1), consumer=world.consumer.address), tx_id="0xjob"
    )
    spare = order_mark_paid(
        order=order_quote(dataset=dataset, service=dataset.service(1), consumer=world.consumer.address), tx_id="0xspare"
    )
    unpaid = order_quote(dataset=dataset, service=dataset.service(1), consumer=world.consumer.address)
    job_row = compute_start(
        data=signed(
            "compute_start", world.consumer,
            {"documentId": dataset.did, "serviceId": 1, "transferTxId": paid.tx_id, "algorithmDid": algorithm.did},
        )
    )
    assert execute("compute.ComputeJob", str(job_row.pk)) == "succeeded", ComputeJob.objects.get(pk=job_row.pk).error
    ids.update(
        did=dataset.did, algorithm=algorithm.did, access_tx=access.tx_id, spare_tx=spare.tx_id,
        compute_job=job_row.job_id, unpaid_order=unpaid.pk, consumer=world.consumer.address,
    )
    beta_dataset = dataset_publish(
        project=beta, name="beta rows", datatoken_address=DATATOKEN, services=[{"index": 0, "type": "access", "price": "1"}],
        files=[{"url": files.url("/data.csv"), "contentType": "text/csv"}], by=charlie,
    )
    ids["beta_did"] = beta_dataset.did


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The committed world (see the module docstring); flushed at the end of the module."""
    from django.core.files.storage import storages

    media = tmp_path_factory.mktemp("matrix-media")
    files = dataset_file_server()
    overrides = override_settings(
        STORAGES=_storage_settings(media),
        MEDIA_ROOT=media,
        D2D_PUBLIC_URL="",
        D2D_COMPUTE_URL_ALLOWLIST=[f"127.0.0.1:{files.port}"],
        D2D_CONVERSIONS_URL_ALLOWLIST=[],
        D2D_LABELING_URL_ALLOWLIST=[],
    )
    overrides.enable()
    storages._storages.pop("default", None)
    world = World(media=media)
    try:
        with django_db_blocker.unblock():
            try:
                _build(world, files)
            except BaseException:
                _flush()
                raise
        yield world
    finally:
        with django_db_blocker.unblock():
            _flush()
        overrides.disable()
        storages._storages.pop("default", None)
        files.stop()


def _flush() -> None:
    """What a transactional test's teardown does, then the row migrations create (project olake)."""
    from accounts.models import Project

    call_command("flush", interactive=False, verbosity=0)
    Project.objects.get_or_create(id="olake", defaults={"name": "OLake", "description": "The default project of the OLake server API."})


@pytest.fixture
def matrix(matrix_world, db, settings, tmp_path, request):
    """The world for one cell: its own rolled-back transaction and, for a cell that may write, its own
    copy of the world's files (reads share the world's)."""
    from django.core.files.storage import storages

    row = request.node.callspec.params.get("row")
    if getattr(row, "method", "POST") == "GET" and 403 not in getattr(row, "expect", ()):
        yield matrix_world
        return
    media = tmp_path / "media"
    shutil.copytree(matrix_world.media, media)
    settings.STORAGES = _storage_settings(media)
    settings.MEDIA_ROOT = media
    storages._storages.pop("default", None)
    yield matrix_world
    storages._storages.pop("default", None)
