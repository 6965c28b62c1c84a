"""Cross-project access, as a matrix: every object endpoint of every contract, called as alpha's
owner (alice), alpha's viewer (bob), an outsider (charlie, owner of beta) and an anonymous client.

One row per endpoint: method, path template, body, and the status each role must get:
owner 2xx; viewer 2xx on reads and 403 on writes; outsider 404 (another project's objects are
invisible; in lists, 200 without them: ``HIDES``); anonymous 401 (except documented public
paths). A refused call must change nothing stored; an accepted PUT/PATCH/POST that tries to
set read-only fields (id, project, created_by, owner, status, progress, user_id, ...) must leave
them as they were (the row's ``check``). A new endpoint is one line.

Ocean (002) paths authenticate by Ethereum signature, not by project: their matrix (OCEAN) is
the consumer that owns the job, another address, a forged signature (another key claiming the
owner's address) and an unsigned request; the staff publishing API is project-scoped like the
rest (STAFF rows run with the three users made staff).
"""

import json
from dataclasses import dataclass
from typing import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, Project
from compute.models import Algorithm, ComputeJob, Dataset, Order
from conversions.models import ConversionTask, InputAsset, ResultFile
from kernel.models import TaskLogLine
from labeling.models import Annotation, Commit, LabelingTask, Picture, PictureHold
from pipelines.models import Destination, Job, JobTask, Source
from tests.hardening.conftest import CSV, png_upload, signed

ROLES = ("owner", "viewer", "outsider", "anonymous")


class Hides(int):
    """A 200 whose list must not contain the row's object."""


HIDES = Hides(200)
READ = (200, 200, 404, 401)
WRITE = (200, 403, 404, 401)
CREATE = (201, 403, 404, 401)
LIST = (200, 200, HIDES, 401)  # a list that is not under a project path: the outsider gets his own, without alpha's
FOREIGN = (404, 404, 404, 401)  # beta's path naming an alpha object: nobody reaches it
P = "/api/v1/project/alpha"
B = "/api/v1/project/beta"
SOURCE_CONFIG = {"path": "in", "format": "csv"}
# Fields no client may set, sent in every PUT/PATCH/POST body that creates or changes an object.
READ_ONLY = {
    "id": 987654, "pk": 987654, "project": "beta", "project_id": "beta", "created_by": "charlie", "updated_by": "charlie",
    "owner": "charlie", "status": "succeeded", "progress": 100, "created_at": "2000-01-01T00:00:00Z", "deleted_at": None,
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: tuple  # (owner, viewer, outsider, anonymous)
    body: Callable | dict | None = None  # dict, or ids -> dict; a GET sends it as the query string
    form: str = "json"  # json | multipart
    setup: Callable | None = None  # (ids, users) -> extra ids, run inside the cell before the request
    check: Callable | None = None  # (ids, role, response) -> asserts on stored rows after an accepted write
    sees: tuple | None = None  # (key, id name): a 2xx list shows it to members; HIDES cells must not
    staff: bool = False  # the callers are staff members (the staff-only APIs)
    note: str = ""

    def id(self) -> str:
        return f"{self.method} {self.path}{' ' + self.note if self.note else ''}"


def R(method, path, expect, **extra) -> Row:  # noqa: N802 - reads as a table
    return Row(method, path, expect, **extra)


# --- checks on stored rows after an accepted write ---------------------------------------------------


def newest_in_alpha(model, creator_field: str) -> Callable:
    def check(ids, role, response):
        row = model._base_manager.order_by("-pk").first()
        assert row.project_id == "alpha" and getattr(row, creator_field) == ids["alice_id"]
        assert row.pk != READ_ONLY["id"]

    return check


def conversion_created(ids, role, response):
    task = ConversionTask.objects.order_by("-created_at").first()
    assert task.pk not in (ids["conv"], ids["conv_open"])
    assert task.project_id == "alpha" and task.owner_id == ids["alice_id"]
    assert task.status == "created" and task.progress == 0


def job_put(ids, role, response):
    job = Job.all_objects.get(pk=ids["job"])
    assert (job.project_id, job.created_by_id, job.source_id, job.name) == ("alpha", ids["alice_id"], ids["source"], "renamed")
    assert job.created_at.year > 2000 and not Job.all_objects.filter(pk=READ_ONLY["id"]).exists()


def connector_put(model, id_name):
    def check(ids, role, response):
        row = model.all_objects.get(pk=ids[id_name])
        assert (row.project_id, row.created_by_id, row.name, row.type) == ("alpha", ids["alice_id"], "renamed", "file" if model is Source else "csv")
        assert row.created_at.year > 2000 and not model.all_objects.filter(pk=READ_ONLY["id"]).exists()

    return check


def run_started(ids, role, response):
    run = JobTask.objects.filter(job_id=ids["job"]).order_by("-created_at").first()
    assert run.pk != ids["run"] and run.project_id == "alpha" and run.owner_id == ids["alice_id"]


def label_patch(ids, role, response):
    task = LabelingTask.all_objects.get(pk=ids["label_task"])
    assert (task.name, task.project_id, task.publisher_id, task.created_by_id) == ("renamed", "alpha", ids["alice_id"], ids["alice_id"])
    assert task.formatter == {} and response.json()["data"]["progress"]["done"] == 1


def label_created(ids, role, response):
    task = LabelingTask.objects.order_by("-pk").first()
    assert (task.project_id, task.publisher_id, task.name) == ("alpha", ids["alice_id"], "new")


def commit_of_caller(ids, role, response):
    commit = Commit.objects.order_by("-pk").first()
    assert commit.user_id == ids[f"{'alice' if role == 'owner' else 'bob'}_id"] and commit.task_id == ids["label_task"]


def member_put(ids, role, response):
    roles = dict(Membership.objects.filter(project_id="alpha").values_list("user__username", "role"))
    assert roles == {"alice": "owner", "bob": "editor"}
    assert list(Membership.objects.filter(project_id="beta").values_list("user__username", "role")) == [("charlie", "owner")]


def member_unmoved():
    assert not Membership.objects.filter(project_id="alpha", user__username="charlie").exists()
    assert Membership.objects.get(project_id="beta", user__username="charlie").role == "owner"


def member_added(ids, role, response):
    assert Membership.objects.get(project_id="alpha", user__username="charlie").role == "viewer"
    assert Membership.objects.get(project_id="beta", user__username="charlie").role == "owner"


def algorithm_created(ids, role, response):
    algorithm = Algorithm.objects.get(did=response.json()["id"])
    assert algorithm.project_id == "alpha" and algorithm.created_by_id == ids["alice_id"] and algorithm.did != READ_ONLY["id"]


def dataset_created(ids, role, response):
    dataset = Dataset.objects.get(did=response.json()["id"])
    assert dataset.project_id == "alpha" and dataset.created_by_id == ids["alice_id"]


# --- setups: state a cell needs that the shared world has not ----------------------------------------


def queued_run(ids, users):
    from pipelines.services import job_sync_start

    job_sync_start(job=Job.objects.get(pk=ids["job"]), user=users["owner"], publish=False)


def open_commit(task_key):
    def setup(ids, users):
        from labeling.services import task_apply

        commit, _ = task_apply(task=LabelingTask.objects.get(pk=ids[task_key]), user=users["owner"])
        return {"open_commit": commit.pk, "open_picture": commit.holds.first().picture_id if commit.holds.exists() else None}

    return setup


def multipart_png(ids):
    return {"file": png_upload()}


def multipart_csv(ids):
    return {"files": SimpleUploadedFile("more.csv", CSV, content_type="text/csv")}


ROWS = [
    # ---- 004 OLake server: accounts' members API and pipelines -------------------------------------
    R("GET", "/api/v1/projects/", LIST, sees=("id", "project")),
    R("GET", "/api/v1/projects/alpha/members", READ),
    R("POST", "/api/v1/projects/alpha/members", CREATE, body={"username": "charlie", "role": "viewer", **READ_ONLY}, check=member_added),
    R("PUT", "/api/v1/projects/alpha/members/bob", WRITE, body={"role": "editor", "username": "charlie", **READ_ONLY}, check=member_put),
    R("DELETE", "/api/v1/projects/alpha/members/bob", (204, 403, 404, 401)),
    R("PUT", "/api/v1/projects/alpha/members/charlie", (404, 403, 404, 401), body={"role": "owner"}, note="not a member"),
    R("PUT", "/api/v1/projects/beta/members/charlie", (404, 404, 200, 401), body={"role": "owner", "project": "alpha"}, note="beta's own",
      check=lambda ids, role, response: member_unmoved()),
    R("GET", "/api/v1/auth/tokens", (200, HIDES, HIDES, 401), sees=("id", "alice_token"), note="each user his own"),
    R("DELETE", "/api/v1/auth/tokens/{alice_token}", (200, 404, 404, 401)),
    R("GET", P + "/sources/spec", READ, body={"type": "file", "version": "latest"}),
    R("POST", P + "/sources/spec", READ, body={"type": "file", "version": "latest"}),
    R("GET", P + "/destinations/spec", READ, body={"type": "csv", "version": "latest"}),
    R("POST", P + "/destinations/spec", READ, body={"type": "csv", "version": "latest"}),
    R("POST", P + "/sources/test", WRITE, body={"type": "file", "version": "latest", "config": SOURCE_CONFIG}),
    R("GET", P + "/sources/test", WRITE, body={"type": "file", "version": "latest", "config": json.dumps(SOURCE_CONFIG)}),
    R("POST", P + "/sources/test", WRITE, body=lambda ids: {"type": "file", "version": "latest", "config": SOURCE_CONFIG, "id": ids["source"]}, note="saved"),
    R("POST", P + "/destinations/test", WRITE, body={"type": "csv", "version": "latest", "config": {"path": "out"}}),
    R("GET", P + "/destinations/test", WRITE, body={"type": "csv", "version": "latest", "config": '{"path": "out"}'}),
    R("GET", P + "/sources", READ, sees=("id", "source")),
    R("POST", P + "/sources", WRITE, body={"name": "new-src", "type": "file", "version": "latest", "config": SOURCE_CONFIG, **READ_ONLY},
      check=newest_in_alpha(Source, "created_by_id")),
    R("GET", P + "/sources/{source}", READ),
    R("PUT", P + "/sources/{source}", WRITE, body={"name": "renamed", **READ_ONLY}, check=connector_put(Source, "source")),
    R("DELETE", P + "/sources/{spare_source}", WRITE),
    R("GET", P + "/destinations", READ, sees=("id", "dest")),
    R("POST", P + "/destinations", WRITE, body={"name": "new-dst", "type": "csv", "version": "latest", "config": {"path": "new"}, **READ_ONLY},
      check=newest_in_alpha(Destination, "created_by_id")),
    R("GET", P + "/destinations/{dest}", READ),
    R("PUT", P + "/destinations/{dest}", WRITE, body={"name": "renamed", **READ_ONLY}, check=connector_put(Destination, "dest")),
    R("DELETE", P + "/destinations/{spare_dest}", WRITE),
    R("POST", P + "/source/streams", WRITE, body={"type": "file", "version": "latest", "config": SOURCE_CONFIG}),
    R("GET", P + "/sources/streams", WRITE, body={"type": "file", "version": "latest", "config": json.dumps(SOURCE_CONFIG)}),
    R("POST", P + "/source/streams", WRITE, body=lambda ids: {"type": "file", "version": "latest", "config": SOURCE_CONFIG, "job_id": ids["job"]}, note="job"),
    R("GET", P + "/jobs", READ, sees=("id", "job")),
    R("POST", P + "/jobs", WRITE, body={"name": "job2", "source": {"name": "src"}, "destination": {"name": "dst"}, "activate": False, **READ_ONLY},
      check=newest_in_alpha(Job, "created_by_id")),
    R("GET", P + "/jobs/{job}", READ),
    R("PUT", P + "/jobs/{job}", WRITE, body={"name": "renamed", "last_run_state": "failed", **READ_ONLY}, check=job_put),
    R("PUT", P + "/jobs/{job}", (400, 403, 404, 401), body={"source": {"name": "beta-src"}}, note="another project's source"),
    R("DELETE", P + "/jobs/{job}", WRITE),
    R("POST", P + "/jobs/{job}/sync", WRITE, check=run_started),
    R("POST", P + "/jobs/{job}/activate", WRITE, body={"activate": False}),
    R("POST", P + "/jobs/{job}/cancel", WRITE, setup=queued_run),
    R("GET", P + "/jobs/{job}/cancel", WRITE, setup=queued_run),
    R("GET", P + "/jobs/{job}/tasks", READ, sees=("id", "run")),
    R("GET", P + "/jobs/{job}/task/{run}/logs", READ),
    R("GET", P + "/jobs/{job}/tasks/{run}/logs", READ),
    R("GET", P + "/jobs/{job}/task/{run}/logs/download", READ),
    R("GET", P + "/jobs/{job}/tasks/{run}/logs/download", READ),
    # beta's paths naming alpha's objects (charlie is beta's owner): still invisible
    R("GET", B + "/jobs", (404, 404, HIDES, 401), sees=("id", "job")),
    R("GET", B + "/sources", (404, 404, HIDES, 401), sees=("id", "source")),
    R("GET", B + "/jobs/{job}", FOREIGN),
    R("PUT", B + "/jobs/{job}", FOREIGN, body={"name": "stolen"}),
    R("DELETE", B + "/jobs/{job}", FOREIGN),
    R("POST", B + "/jobs/{job}/sync", FOREIGN),
    R("GET", B + "/sources/{source}", FOREIGN),
    R("PUT", B + "/sources/{source}", FOREIGN, body={"name": "stolen"}),
    R("DELETE", B + "/destinations/{spare_dest}", FOREIGN),
    R("GET", B + "/jobs/{beta_job}/task/{run}/logs", FOREIGN),
    R("POST", B + "/sources/test", FOREIGN, body=lambda ids: {"type": "file", "version": "latest", "config": SOURCE_CONFIG, "id": ids["source"]}),
    R("POST", B + "/source/streams", FOREIGN, body=lambda ids: {"type": "file", "version": "latest", "config": SOURCE_CONFIG, "job_id": ids["job"]}),
    R("POST", B + "/jobs", (404, 404, 400, 401), body={"name": "j", "source": {"name": "src"}, "destination": {"name": "dst"}},
      note="naming alpha's connectors"),
    # ---- 001 Common application API --------------------------------------------------------------
    R("GET", "/api/v1/status", (200, 200, 200, 200), note="public"),
    R("POST", "/api/v1/task", (200, 403, 404, 401), body={"service": "tabular", "params": {"to": "csv"}, "project": "alpha", "owner": 3, "status": "COMPLETED", "task_id": "x"},
      check=conversion_created),
    R("GET", "/api/v1/task?id={conv}", READ),
    R("DELETE", "/api/v1/task?id={conv}", WRITE),
    R("POST", "/api/v1/assets", WRITE, body=lambda ids: {"task_id": str(ids["conv_open"]), "data": [{"download_url": "http://127.0.0.1:9/a.csv", "file_name": "a.csv"}]}),
    R("GET", "/api/v1/result?id={conv}", READ),
    # ---- 000 Data 2 Data -------------------------------------------------------------------------
    R("GET", "/api/v1/uploads/services", (200, 200, 200, 401)),
    R("POST", "/api/v1/uploads/tasks", CREATE, body={"service": "tabular", "params": {"to": "csv"}, "project": "alpha", "owner": 3, "status": "succeeded", "progress": 100},
      check=conversion_created),
    R("POST", "/api/v1/uploads/tasks/{conv_open}/files", CREATE, body=multipart_csv, form="multipart"),
    R("POST", "/api/v1/uploads/tasks/{conv_open}/urls", CREATE, body={"urls": ["http://127.0.0.1:9/more.csv"]}),
    R("POST", "/api/v1/uploads/tasks/{conv_open}/submit", (202, 403, 404, 401)),
    R("GET", "/api/v1/tasks/", LIST, sees=("id", "conv")),
    R("GET", "/api/v1/tasks/?service=tabular&status=succeeded", LIST, sees=("id", "conv"), note="filtered"),
    R("GET", "/api/v1/tasks/{conv}", READ),
    R("DELETE", "/api/v1/tasks/{conv}", (204, 403, 404, 401)),
    R("POST", "/api/v1/tasks/{conv_open}/cancel", WRITE),
    R("GET", "/api/v1/tasks/{conv}/log", READ),
    R("GET", "/api/v1/downloads/{conv}", READ),
    R("GET", "/api/v1/downloads/{conv}/files", READ),
    R("GET", "/api/v1/downloads/{conv}/files/{conv_file}", READ),
    R("POST", "/api/v1/ocr/tasks", CREATE, body={"params": {"lang": "eng"}, "project": "alpha", "owner": 3}, check=conversion_created),
    # ---- 003 annotation and collection -----------------------------------------------------------
    R("GET", "/api/tasks/", LIST, sees=("id", "label_task")),
    R("POST", "/api/tasks/", CREATE, body={"data": {"project": "alpha", "user_id": 0, "type": 0, "name": "new", "progress": 50}}, check=label_created),
    R("GET", "/api/tasks/{label_task}/", READ),
    R("PATCH", "/api/tasks/{label_task}/", WRITE, check=label_patch,
      body=lambda ids: {"data": {"id": ids["label_task"], "name": "renamed", "progress": {"done": 9}, "labels": ["x"], "formatter": {"tags": [{"name": "x"}]},
                                 "user_id": ids["charlie_id"], "project": "beta", "cover": "x", "pictures": []}}),
    R("POST", "/api/tasks/apply/", (200, 200, 404, 401), body=lambda ids: {"data": {"task_id": ids["label_task"], "user_id": 0}}, check=commit_of_caller),
    R("POST", "/api/tasks/apply/", (403, 403, 404, 401), body=lambda ids: {"data": {"task_id": ids["label_task"], "user_id": ids["charlie_id"]}}, note="as another user"),
    R("POST", "/api/tasks/", (403, 403, 403, 401), body=lambda ids: {"data": {"project": "alpha", "user_id": ids["bob_id"], "type": 0, "name": "x"}},
      note="as another user"),
    R("POST", "/api/commits/", (403, 403, 404, 401), setup=open_commit("label_task"), note="as another user",
      body=lambda ids: {"data": {"commit_id": ids["open_commit"], "user_id": ids["charlie_id"], "result": [{"picture_id": ids["open_picture"], "annotation_json": "{}"}]}}),
    R("POST", "/api/tasks/{label_task}/pictures/", CREATE, body=multipart_png, form="multipart"),
    R("GET", "/api/tasks/{label_task}/pictures/", READ, sees=("id", "picture")),
    R("GET", "/api/tasks/{label_task}/pictures/{picture}/{picture_name}", READ),
    R("GET", "/api/tasks/{label_task}/export/json/", WRITE),
    R("GET", "/api/tasks/{label_task}/export/coco/", WRITE),
    R("GET", "/api/commits", (200, HIDES, HIDES, 401), sees=("commit_id", "commit"), note="viewers see their own"),
    R("GET", "/api/commits/", (200, HIDES, HIDES, 401), sees=("commit_id", "commit")),
    R("GET", "/api/commits?user={alice_id}&task={label_task}", (200, HIDES, HIDES, 401), sees=("commit_id", "commit"), note="naming alice"),
    R("GET", "/api/tasks/?project=alpha", (200, 200, HIDES, 401), sees=("id", "label_task"), note="naming alpha"),
    R("POST", "/api/commits/", CREATE, setup=open_commit("label_task"),
      body=lambda ids: {"data": {"commit_id": ids["open_commit"], "user_id": 0, "result": [{"picture_id": ids["open_picture"], "annotation_json": "{}"}]}}),
    R("POST", "/api/commits/pictures/{open_commit}", CREATE, setup=open_commit("collect_task"), body=multipart_png, form="multipart"),
    R("POST", "/api/commits/pictures/{open_commit}/", CREATE, setup=open_commit("collect_task"), body=multipart_png, form="multipart"),
    # ---- 002's staff publishing API (project-scoped; callers are staff) ----------------------------
    R("GET", "/api/v1/services/datasets", (403, 403, 403, 401), note="not staff"),
    R("GET", "/api/v1/services/datasets", LIST, staff=True, sees=("id", "did")),
    R("POST", "/api/v1/services/datasets", CREATE, staff=True, check=dataset_created,
      body={"project": "alpha", "name": "new", "dataToken": "0x" + "d7" * 20, "services": [{"index": 0, "type": "access", "price": "1"}],
            "files": [{"url": "http://127.0.0.1:9/x.csv", "contentType": "text/csv"}], "created_by": 3, "id": "did:op:" + "0" * 64}),
    R("GET", "/api/v1/services/datasets/{did}", READ, staff=True),
    R("DELETE", "/api/v1/services/datasets/{did}", (204, 403, 404, 401), staff=True),
    R("GET", "/api/v1/services/algorithms", LIST, staff=True, sees=("id", "algorithm")),
    R("POST", "/api/v1/services/algorithms", CREATE, staff=True, check=algorithm_created,
      body={"project": "alpha", "name": "new", "code": "print(1)", "created_by": 3, "id": "did:op:" + "0" * 64}),
    R("GET", "/api/v1/services/algorithms/{algorithm}", READ, staff=True),
    R("DELETE", "/api/v1/services/algorithms/{algorithm}", (204, 403, 404, 401), staff=True),
    R("POST", "/api/v1/services/orders/{unpaid_order}/paid", WRITE, staff=True, body={"txId": "0xnew"}),
    # ---- the kernel's staff API: no project, staff only -----------------------------------------
    R("GET", "/api/v1/platform/tasks", (403, 403, 403, 401), note="not staff"),
    R("POST", "/api/v1/platform/tasks", (403, 403, 403, 401), body={"kind": "selfcheck"}, note="not staff"),
    R("GET", "/api/v1/platform/tasks/00000000-0000-0000-0000-000000000001", (403, 403, 403, 401), note="not staff"),
    R("GET", "/api/v1/platform/tasks/00000000-0000-0000-0000-000000000001/logs", (403, 403, 403, 401), note="not staff"),
]


# --- what stored state a refused call must leave untouched ------------------------------------------

SNAPSHOT_MODELS = [
    Project, Membership, get_user_model(), Source, Destination, Job, JobTask, ConversionTask, InputAsset, ResultFile,
    LabelingTask, Picture, Commit, PictureHold, Annotation, Dataset, Algorithm, Order, ComputeJob, TaskLogLine,
]
IGNORED_FIELDS = {"last_login"}


def snapshot() -> dict:
    """Every row of the tables above (one plain query each), the world's token and the schedules."""
    from django.db import connection
    from django_q.models import Schedule

    state = {}
    with connection.cursor() as cursor:
        for model in [*SNAPSHOT_MODELS, Schedule]:
            fields = [f.column for f in model._meta.concrete_fields if f.attname not in IGNORED_FIELDS]
            columns = ", ".join(connection.ops.quote_name(name) for name in fields)
            table, pk = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {pk}")
            state[model._meta.label] = cursor.fetchall()
    state["tokens"] = list(ApiToken.objects.filter(name="matrix").values_list("pk", "revoked_at"))
    return state


_world_states: list = []


def _world_state() -> dict:
    if not _world_states:
        _world_states.append(snapshot())
    return _world_states[0]


def diff(before: dict, after: dict) -> dict:
    return {key: (before[key], after[key]) for key in before if before[key] != after[key]}


# --- running a cell ---------------------------------------------------------------------------------


def client_for(token: str | None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def request(client: APIClient, row: Row, ids: dict):
    path = row.path.format(**ids)
    body = row.body(ids) if callable(row.body) else row.body
    if row.method == "GET":
        return client.get(path, body or {})
    if row.form == "multipart":
        return client.generic(row.method, path, **_multipart(client, body))
    return client.generic(row.method, path, json.dumps(body) if body is not None else "", content_type="application/json")


def _multipart(client, body) -> dict:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, body), "content_type": MULTIPART_CONTENT}


def shown(payload, key: str, value) -> bool:
    """Whether any object in the JSON answer has ``key`` equal to ``value``.

    An object that has ``key`` is judged by it alone: what it nests (a source's jobs) are other
    tables' rows, whose ids may equal the one sought by chance (ids of different tables overlap).
    """
    if isinstance(payload, dict):
        if key in payload:
            return str(payload[key]) == str(value)
        return any(shown(item, key, value) for item in payload.values())
    if isinstance(payload, list):
        return any(shown(item, key, value) for item in payload)
    return False


CELLS = [pytest.param(row, role, id=f"{row.id()} [{role}]") for row in ROWS for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CELLS)
def test_it_answers_each_role_as_the_matrix_says(matrix, row, role):
    users = matrix.users
    ids = {**matrix.ids, "project": "alpha"}
    if row.staff:
        get_user_model().objects.filter(pk__in=[user.pk for user in users.values()]).update(is_staff=True)
    if row.setup:
        ids.update(row.setup(ids, users) or {})
    client = client_for(matrix.tokens.get(role))
    writes = row.method != "GET" or 403 in row.expect  # (OLake's GET cancel, GET sources/test)
    before = None
    if writes:  # every cell starts from the same world: its state is read once, unless the cell set it up
        before = snapshot() if (row.setup or row.staff) else _world_state()
    response = request(client, row, ids)
    expected = row.expect[ROLES.index(role)]
    content = response.content[:600] if not getattr(response, "streaming", False) else b"<stream>"
    assert response.status_code == expected, (row.id(), role, response.status_code, content)
    if writes and response.status_code >= 400:
        assert diff(before, snapshot()) == {}, "a refused call changed stored rows"
    if row.sees and 200 <= response.status_code < 300:
        key, name = row.sees
        visible = shown(response.json(), key, ids[name])
        assert visible is not isinstance(expected, Hides), (row.id(), role, "shows" if visible else "hides", name)
    if row.check and 200 <= response.status_code < 300:
        row.check(ids, role, response)


# --- 002: signed Ocean endpoints ---------------------------------------------------------------------

SIGNERS = ("owner", "other", "forged", "unsigned")


@dataclass(frozen=True)
class Signed:
    method: str
    path: str
    message: str | None  # the endpoint's signed message; None: not signed
    fields: Callable  # ids -> fields
    expect: tuple  # (owner, other, forged, unsigned)
    check: Callable | None = None
    note: str = ""
    address_field: str = "consumerAddress"

    def id(self) -> str:
        return f"{self.method} {self.path}{' ' + self.note if self.note else ''}"


OCEAN = [
    Signed("GET", "/api/v1/services/nonce", None, lambda ids: {"userAddress": ids["consumer"]}, (200, 200, 200, 200), note="public"),
    Signed("GET", "/api/v1/services/ddo/{did}", None, lambda ids: {}, (200, 200, 200, 200), note="public"),
    Signed("POST", "/api/v1/services/initialize", None, lambda ids: {"documentId": ids["did"], "serviceId": 0, "consumerAddress": ids["consumer"]},
           (200, 200, 200, 200), note="a quote, not signed"),
    # GET narrows the signer's own jobs: another address naming the job gets an empty list (checked below).
    Signed("POST", "/api/v1/services/encrypt", "encrypt", lambda ids: {"documentId": ids["did"], "document": '[{"url": "https://example.org/x"}]'},
           (200, 200, 401, 400), note="any publisher", address_field="publisherAddress"),
    Signed("GET", "/api/v1/services/compute", "compute_status", lambda ids: {"jobId": ids["compute_job"]}, (200, 200, 401, 400)),
    Signed("GET", "/api/v1/services/compute", "compute_status", lambda ids: {}, (200, 200, 401, 400), note="all of the signer's"),
    # The signer's own orders only: another address gets an empty list (checked below).
    Signed("GET", "/api/v1/services/orders", "orders", lambda ids: {}, (200, 200, 401, 400), note="the signer's own"),
    Signed("PUT", "/api/v1/services/compute", "compute_status", lambda ids: {"jobId": ids["compute_job"]}, (200, 404, 401, 400)),
    Signed("DELETE", "/api/v1/services/compute", "compute_status", lambda ids: {"jobId": ids["compute_job"]}, (200, 404, 401, 400)),
    Signed("GET", "/api/v1/services/computeResult", "compute_result", lambda ids: {"jobId": ids["compute_job"], "index": "0"}, (200, 404, 401, 400)),
    Signed("GET", "/api/v1/services/computeResult", "compute_result", lambda ids: {"jobId": ids["compute_job"], "index": "log"}, (200, 404, 401, 400)),
    Signed("GET", "/api/v1/services/download", "download",
           lambda ids: {"documentId": ids["did"], "serviceId": 0, "fileIndex": 0, "transferTxId": ids["access_tx"]}, (200, 400, 401, 400)),
    Signed("POST", "/api/v1/services/compute", "compute_start",
           lambda ids: {"documentId": ids["did"], "serviceId": 1, "transferTxId": ids["spare_tx"], "algorithmDid": ids["algorithm"]}, (200, 400, 401, 400)),
]


def ocean_snapshot() -> dict:
    return {
        "jobs": list(ComputeJob.objects.order_by("pk").values_list("job_id", "status", "cancel_requested", "removed_at", "results", "log_path")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "consumer_address", "paid", "tx_id")),
    }


def signed_fields(row: Signed, signer: str, ids: dict, consumer, stranger) -> dict:
    fields = row.fields(ids)
    if row.message is None:
        return fields
    if signer == "owner":
        return signed(row.message, consumer, fields, address_field=row.address_field)
    if signer == "other":
        return signed(row.message, stranger, fields, address_field=row.address_field)
    if signer == "forged":  # another key signs a request in the owner's name
        body = signed(row.message, stranger, fields, address_field=row.address_field)
        body[row.address_field] = consumer.address
        return body
    return {row.address_field: consumer.address, **fields}


OCEAN_CELLS = [pytest.param(row, signer, id=f"{row.id()} [{signer}]") for row in OCEAN for signer in SIGNERS]


@pytest.mark.parametrize(("row", "signer"), OCEAN_CELLS)
def test_it_keeps_one_consumers_jobs_and_results_from_another(matrix, row, signer):
    ids = matrix.ids
    fields = signed_fields(row, signer, ids, matrix.consumer, matrix.stranger)
    client, path = APIClient(), row.path.format(**ids)
    before = ocean_snapshot()
    if row.method == "GET":
        response = client.get(path, fields)
    else:
        response = client.generic(row.method, path, json.dumps(fields), content_type="application/json")
    expected = row.expect[SIGNERS.index(signer)]
    content = b"<stream>" if getattr(response, "streaming", False) else response.content[:400]
    assert response.status_code == expected, (row.id(), signer, response.status_code, content)
    if response.status_code >= 400:
        assert ocean_snapshot() == before, "a refused call changed a job or an order"
    elif row.message == "compute_status" and row.method == "GET":
        jobs = [job["jobId"] for job in response.json()]
        assert jobs == ([ids["compute_job"]] if signer == "owner" else [])
    elif row.message == "orders":
        owners = {order["from"].lower() for order in response.json()}
        assert owners == ({matrix.consumer.address.lower()} if signer == "owner" else set()), response.json()


# --- 000's task websocket: the same rule on the websocket route ------------------------------------

WEBSOCKET = {"owner": True, "viewer": True, "outsider": False, "anonymous": False}


@pytest.mark.parametrize("role", ROLES)
def test_it_opens_a_tasks_websocket_only_to_members_of_its_project(matrix, role, monkeypatch):
    import channels.db
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator  # channels.testing needs daphne, which d2d does not install

    from d2d.asgi import application

    # The consumer's queries run on this thread, inside the cell's transaction: channels must not
    # close that connection between them (what it does for a real server's long-lived threads).
    monkeypatch.setattr(channels.db, "close_old_connections", lambda: None)
    token = matrix.tokens.get(role)
    scope = {
        "type": "websocket", "path": f"/api/v1/tasks/{matrix.ids['conv']}/ws", "raw_path": b"",
        "query_string": f"token={token}".encode() if token else b"", "headers": [(b"host", b"127.0.0.1")],
        "subprotocols": [], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }

    async def talk():
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "websocket.connect"})
        answer = await communicator.receive_output(timeout=5)
        frame = await communicator.receive_output(timeout=5) if answer["type"] == "websocket.accept" else None
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(timeout=5)
        return answer, frame

    answer, frame = async_to_sync(talk)()
    assert (answer["type"] == "websocket.accept") is WEBSOCKET[role], (role, answer)
    if frame is not None:
        task = json.loads(frame["text"])["task"]
        assert task["id"] == str(matrix.ids["conv"]) and task["finished"] is True
