"""Hostile input over every upload, JSON and URL path of the five contracts.

Each hostile request gets a 4xx in its contract's format (or, for work done by a worker, a
FAILED task with a reason); afterwards every object stored before it is intact and ordinary
requests still succeed. SSRF: loopback spellings go end to end against a canary on 127.0.0.1
that must receive nothing; addresses outside loopback are only answered by a fake resolver,
with every socket connect checked, so no test sends traffic outside loopback.
"""

import io
import json
import os
import time
from dataclasses import dataclass
from typing import Callable

import pytest
from django.core.files.storage import storages

from compute.datasets import dataset_publish
from compute.orders import order_mark_paid, order_quote
from conversions.models import ConversionTask
from labeling.models import LabelingTask, Picture
from tests.compute.conftest import signed
from tests.conftest import PASSWORD
from tests.conversions.support import run_inline, wait_until
from tests.hardening import hostile_support as h

P = "/api/v1/project/alpha"
JSON = "application/json"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Files of each test in their own folder (also for a worker started by the test)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}}}
    settings.D2D_PUBLIC_URL = ""
    storages._storages.pop("default", None)
    yield
    storages._storages.pop("default", None)


@dataclass
class Ctx:
    api: Callable
    alice: object
    bob: object
    world: h.World
    settings: object

    _client: object = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.api(self.alice)
        return self._client

    def raw(self, method, path, body, content_type=JSON, user="alice"):
        client = self.client if user == "alice" else self.api(None)
        return client.generic(method, path, body, content_type=content_type)


@pytest.fixture
def ctx(api, alice, bob, project_a, settings):
    world = h.build_world(alice, project_a, api(alice))
    return Ctx(api, alice, bob, world, settings)


def assert_still_serving(ctx: Ctx):
    """Ordinary requests of each contract still succeed after the hostile one."""
    client = ctx.client
    world = ctx.world
    assert client.get(f"/api/v1/tasks/{world.conversion_task.pk}").status_code == 200  # 000
    assert client.get("/api/v1/task", {"id": str(world.conversion_task.pk)}).json()["success"] is True  # 001
    assert client.get(f"/api/tasks/{world.labeling_task.pk}/").json()["data"]["name"] == "cats"  # 003
    assert client.get(f"{P}/sources").json()["success"] is True  # 004
    assert ctx.api(None).get(f"/api/v1/services/ddo/{world.dataset.did}").status_code == 200  # 002
    assert client.get("/api/v1/auth/me").json()["username"] == "alice"


# ---------------------------------------------------------------------------------------------
# The table: (id, contract checker, expected status, request)


def compute_body(ctx, endpoint, fields, **kw):
    from eth_account import Account

    return signed(endpoint, Account.create(), fields, **kw)


def encrypt_body(ctx, **override):
    from eth_account import Account

    body = signed("encrypt", Account.create(), {"documentId": "did:op:1", "document": "[]"}, address_field="publisherAddress")
    body.update(override)
    return body


def download_fields(ctx, **override):
    fields = {"documentId": ctx.world.dataset.did, "serviceId": 0, "serviceType": "access", "fileIndex": 0, "transferTxId": "0x1"}
    fields.update(override)
    return fields


def collection_commit(ctx):
    task = LabelingTask.objects.create(project=ctx.world.labeling_task.project, publisher=ctx.alice, name="collect", size=3, type=LabelingTask.Type.COLLECTION)
    data = ctx.api(ctx.bob).post("/api/tasks/apply/", {"data": {"task_id": task.pk, "user_id": 0}}, format="json").json()["data"]
    return data["commit_id"]


def make_staff(user):
    user.is_staff = True
    user.save()


def files_of(*named):
    return {"files": [h.upload(name, content) for name, content in named]}


def conversion_upload(ctx, service, *named, params=None):
    created = ctx.client.post("/api/v1/uploads/tasks", {"service": service, "params": params or {}}, format="json")
    assert created.status_code == 201, created.content
    return ctx.client.post(f"/api/v1/uploads/tasks/{created.json()['id']}/files", files_of(*named), format="multipart")


def pictures_url(ctx):
    return f"/api/tasks/{ctx.world.labeling_task.pk}/pictures/"


def set_small_body_limit(ctx):
    ctx.settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048


BIG_JSON = json.dumps({"data": {"name": "x" * 10_000}, "filler": "y" * 10_000})


@dataclass
class Row:
    id: str
    check: Callable
    status: int
    call: Callable  # ctx -> response
    setup: Callable | None = None


E, B, L = h.envelope_error, h.bare_error, h.labeling_error
T = "/api/v1/uploads/tasks"

ROWS = [
    # ---- accounts (004's root paths in its envelope, 000's auth service bare)
    Row("accounts login malformed json", E, 400, lambda c: c.raw("POST", "/login", h.MALFORMED_JSON, user=None)),
    Row("accounts login wrong types", E, 400, lambda c: c.raw("POST", "/login", json.dumps({"username": ["alice"], "password": {"x": 1}}), user=None)),
    Row("accounts login not an object", E, 400, lambda c: c.raw("POST", "/login", json.dumps(["alice", PASSWORD]), user=None)),
    Row("accounts login oversized", E, 413, lambda c: c.raw("POST", "/login", BIG_JSON, user=None), set_small_body_limit),
    Row("accounts signup malformed json", E, 400, lambda c: c.raw("POST", "/signup", h.MALFORMED_JSON, user=None)),
    Row("accounts signup wrong types", E, 400, lambda c: c.raw("POST", "/signup", json.dumps({"username": 5, "password": True, "email": []}), user=None)),
    Row("accounts signup oversized", E, 413, lambda c: c.raw("POST", "/signup", BIG_JSON, user=None), set_small_body_limit),
    Row("accounts token malformed json", B, 400, lambda c: c.raw("POST", "/api/v1/auth/token", h.MALFORMED_JSON, user=None)),
    Row("accounts token wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/auth/token", json.dumps({"username": {"a": 1}, "password": 12}), user=None)),
    Row("accounts token oversized", B, 413, lambda c: c.raw("POST", "/api/v1/auth/token", BIG_JSON, user=None), set_small_body_limit),
    # ---- conversions 001
    Row("001 task malformed json", E, 400, lambda c: c.raw("POST", "/api/v1/task", h.MALFORMED_JSON)),
    Row("001 task wrong types", E, 400, lambda c: c.raw("POST", "/api/v1/task", json.dumps({"service": 5, "params": [1, 2]}))),
    Row("001 task params not json schema", E, 400, lambda c: c.raw("POST", "/api/v1/task", json.dumps({"service": "tabular", "params": {"to": {"$ref": "#"}}}))),
    Row("001 task oversized", E, 413, lambda c: c.raw("POST", "/api/v1/task", BIG_JSON), set_small_body_limit),
    Row("001 assets malformed json", E, 400, lambda c: c.raw("POST", "/api/v1/assets", h.MALFORMED_JSON)),
    Row("001 assets data not a list", E, 400, lambda c: c.raw("POST", "/api/v1/assets", json.dumps({"task_id": str(c.world.conversion_task.pk), "data": "http://x"}))),
    Row("001 assets task_id wrong type", E, 400, lambda c: c.raw("POST", "/api/v1/assets", json.dumps({"task_id": [1], "data": []}))),
    Row("001 assets file url", E, 400, lambda c: c.raw("POST", "/api/v1/assets", json.dumps({"task_id": str(c.world.conversion_task.pk), "data": [{"file_name": "a.csv", "download_url": "file:///etc/passwd"}]}))),
    Row("001 assets gopher url", E, 400, lambda c: c.raw("POST", "/api/v1/assets", json.dumps({"task_id": str(c.world.conversion_task.pk), "data": [{"file_name": "a.csv", "download_url": "gopher://127.0.0.1:25/x"}]}))),
    Row("001 assets last_batch wrong type", E, 400, lambda c: c.raw("POST", "/api/v1/assets", json.dumps({"task_id": str(c.world.conversion_task.pk), "data": [], "last_batch": "yes"}))),
    Row("001 assets oversized", E, 413, lambda c: c.raw("POST", "/api/v1/assets", BIG_JSON), set_small_body_limit),
    # ---- conversions 000
    Row("000 uploads task malformed json", B, 400, lambda c: c.raw("POST", T, h.MALFORMED_JSON)),
    Row("000 uploads task wrong types", B, 400, lambda c: c.raw("POST", T, json.dumps({"service": ["tabular"], "params": "to=csv"}))),
    Row("000 uploads task oversized", B, 413, lambda c: c.raw("POST", T, BIG_JSON), set_small_body_limit),
    Row("000 ocr task wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/ocr/tasks", json.dumps({"params": 7}))),
    Row("000 files oversized", B, 413, lambda c: conversion_upload(c, "tabular", ("big.csv", b"x" * 5000)), lambda c: setattr(c.settings, "D2D_MAX_UPLOAD_BYTES", 1000)),
    Row("000 files too many", B, 413, lambda c: conversion_upload(c, "tabular", *[(f"{n}.csv", h.CSV_GOOD) for n in range(6)]), lambda c: setattr(c.settings, "DATA_UPLOAD_MAX_NUMBER_FILES", 3)),
    Row("000 files as a text field", B, 400, lambda c: c.client.post(f"{T}/{c.world.conversion_task.pk}/files", {"files": "not a file"}, format="multipart")),
    Row("000 files as json", B, 415, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/files", json.dumps({"files": ["a"]}))),
    Row("000 files a pdf that is html", B, 400, lambda c: conversion_upload(c, "ocr", ("scan.docx", h.NOT_A_PDF))),
    Row("000 urls malformed json", B, 400, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/urls", h.MALFORMED_JSON)),
    Row("000 urls not a list", B, 400, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/urls", json.dumps({"urls": "http://example.com/a"}))),
    Row("000 urls file scheme", B, 400, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/urls", json.dumps({"urls": ["file:///etc/passwd"]}))),
    Row("000 urls credentials", B, 400, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/urls", json.dumps({"urls": [12, None]}))),
    Row("000 urls oversized", B, 413, lambda c: c.raw("POST", f"{T}/{c.world.conversion_task.pk}/urls", BIG_JSON), set_small_body_limit),
    # ---- labeling 003
    Row("003 task create malformed json", L, 400, lambda c: c.raw("POST", "/api/tasks/", h.MALFORMED_JSON)),
    Row("003 task create data not an object", L, 400, lambda c: c.raw("POST", "/api/tasks/", json.dumps({"data": ["x"]}))),
    Row("003 task create wrong types", L, 400, lambda c: c.raw("POST", "/api/tasks/", json.dumps({"data": {"user_id": 0, "type": "annotation", "name": {"x": 1}, "size": "ten", "project": "alpha"}}))),
    Row("003 task create huge size", L, 400, lambda c: c.raw("POST", "/api/tasks/", json.dumps({"data": {"user_id": 0, "type": 0, "name": "n", "size": 10**40, "project": "alpha"}}))),
    Row("003 task create NUL", L, 400, lambda c: c.raw("POST", "/api/tasks/", json.dumps({"data": {"user_id": 0, "type": 0, "name": "a\u0000b", "size": 1, "project": "alpha"}}))),
    Row("003 task create oversized", L, 413, lambda c: c.raw("POST", "/api/tasks/", BIG_JSON), set_small_body_limit),
    Row("003 task patch wrong types", L, 400, lambda c: c.raw("PATCH", f"/api/tasks/{c.world.labeling_task.pk}/", json.dumps({"data": {"id": c.world.labeling_task.pk, "type": 0, "size": [3]}}))),
    Row("003 apply wrong types", L, 400, lambda c: c.raw("POST", "/api/tasks/apply/", json.dumps({"data": {"task_id": "one"}}))),
    Row("003 pictures text named png", L, 400, lambda c: c.client.post(pictures_url(c), {"file": h.upload("cat.png", h.NOT_AN_IMAGE, "image/png")})),
    Row("003 pictures svg named png", L, 400, lambda c: c.client.post(pictures_url(c), {"file": [h.upload("ok.png", h.png_bytes(), "image/png"), h.upload("x.png", h.SVG_AS_PNG, "image/png")]})),
    Row("003 pictures pdf named jpg", L, 400, lambda c: c.client.post(pictures_url(c), {"file": h.upload("x.jpg", b"%PDF-1.4\n%%EOF\n", "image/jpeg")})),
    Row("003 pictures over the size cap", L, 400, lambda c: c.client.post(pictures_url(c), {"file": h.upload("big.png", h.png_bytes(size=(64, 64)), "image/png")}), lambda c: setattr(c.settings, "D2D_LABELING_MAX_PICTURE_BYTES", 50)),
    Row("003 pictures too many files", L, 413, lambda c: c.client.post(pictures_url(c), {"file": [h.upload(f"{n}.png", h.png_bytes(), "image/png") for n in range(6)]}), lambda c: setattr(c.settings, "DATA_UPLOAD_MAX_NUMBER_FILES", 3)),
    Row("003 pictures over the per-request cap", L, 400, lambda c: c.client.post(pictures_url(c), {"file": [h.upload(f"{n}.png", h.png_bytes(), "image/png") for n in range(4)]}), lambda c: setattr(c.settings, "D2D_LABELING_MAX_FILES_PER_REQUEST", 2)),
    Row("003 pictures oversized body", L, 413, lambda c: c.raw("POST", pictures_url(c), json.dumps({"data": {"urls": ["http://x/" + "a" * 5000]}})), set_small_body_limit),
    Row("003 pictures malformed json", L, 400, lambda c: c.raw("POST", pictures_url(c), h.MALFORMED_JSON)),
    Row("003 pictures urls not a list", L, 400, lambda c: c.raw("POST", pictures_url(c), json.dumps({"data": {"urls": "http://example.com/a.png"}}))),
    Row("003 pictures urls wrong item types", L, 400, lambda c: c.raw("POST", pictures_url(c), json.dumps({"data": {"urls": [{"u": 1}, 5]}}))),
    Row("003 pictures file url", L, 400, lambda c: c.raw("POST", pictures_url(c), json.dumps({"data": {"urls": ["file:///etc/passwd"]}}))),
    Row("003 commits malformed json", L, 400, lambda c: c.raw("POST", "/api/commits/", h.MALFORMED_JSON)),
    Row("003 commits wrong types", L, 400, lambda c: c.raw("POST", "/api/commits/", json.dumps({"data": {"commit_id": "x", "task_type": "annotation", "result": "all"}}))),
    Row("003 commits result not a list", L, 400, lambda c: c.api(c.bob).post("/api/commits/", {"data": {"commit_id": collection_commit(c), "task_type": 0, "result": {"a": 1}}}, format="json")),
    Row("003 commits oversized", L, 413, lambda c: c.raw("POST", "/api/commits/", BIG_JSON), set_small_body_limit),
    Row("003 commit pictures text named png", L, 400, lambda c: c.api(c.bob).post(f"/api/commits/pictures/{collection_commit(c)}", {"file": h.upload("a.png", h.NOT_AN_IMAGE, "image/png")})),
    Row("003 commit pictures svg", L, 400, lambda c: c.api(c.bob).post(f"/api/commits/pictures/{collection_commit(c)}", {"file": h.upload("a.jpg", h.SVG_AS_PNG, "image/jpeg")})),
    Row("003 commit pictures as json", L, 400, lambda c: c.api(c.bob).generic("POST", f"/api/commits/pictures/{collection_commit(c)}", json.dumps({"file": "x"}), content_type=JSON)),
    Row("003 commit pictures too many files", L, 413, lambda c: c.api(c.bob).post(f"/api/commits/pictures/{collection_commit(c)}", {"file": [h.upload(f"{n}.png", h.png_bytes(), "image/png") for n in range(6)]}), lambda c: setattr(c.settings, "DATA_UPLOAD_MAX_NUMBER_FILES", 3)),
    # ---- compute 002 (bare {error})
    Row("002 encrypt malformed json", B, 400, lambda c: c.raw("POST", "/api/v1/services/encrypt", h.MALFORMED_JSON, user=None)),
    Row("002 encrypt wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/services/encrypt", json.dumps(encrypt_body(c, publisherAddress=["0x" + "ab" * 20], nonce=[1])), user=None)),
    Row("002 encrypt signature wrong type", B, 400, lambda c: c.raw("POST", "/api/v1/services/encrypt", json.dumps(encrypt_body(c, signature=12345)), user=None)),
    Row("002 encrypt nonce decimal", B, 400, lambda c: c.raw("POST", "/api/v1/services/encrypt", json.dumps(encrypt_body(c, nonce="1.5")), user=None)),
    Row("002 encrypt oversized", B, 413, lambda c: c.raw("POST", "/api/v1/services/encrypt", json.dumps(encrypt_body(c, document="x" * 10_000)), user=None), set_small_body_limit),
    Row("002 initialize malformed json", B, 400, lambda c: c.raw("POST", "/api/v1/services/initialize", h.MALFORMED_JSON, user=None)),
    Row("002 initialize wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/services/initialize", json.dumps({"documentId": c.world.dataset.did, "serviceId": "first", "serviceType": 3, "consumerAddress": ["0x1"]}), user=None)),
    Row("002 initialize bad address", B, 400, lambda c: c.raw("POST", "/api/v1/services/initialize", json.dumps({"documentId": c.world.dataset.did, "serviceId": 0, "serviceType": "access", "consumerAddress": "0xnot-an-address"}), user=None)),
    Row("002 download wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/services/download", json.dumps(compute_body(c, "download", download_fields(c, fileIndex="zero"))), user=None)),
    Row("002 download malformed json", B, 400, lambda c: c.raw("POST", "/api/v1/services/download", h.MALFORMED_JSON, user=None)),
    Row("002 compute malformed json", B, 400, lambda c: c.raw("POST", "/api/v1/services/compute", h.MALFORMED_JSON, user=None)),
    Row("002 compute algorithmMeta wrong type", B, 400, lambda c: c.raw("POST", "/api/v1/services/compute", json.dumps(compute_body(c, "compute_start", {"documentId": c.world.dataset.did, "serviceId": 1, "transferTxId": "0x1", "algorithmMeta": "print(1)"})), user=None)),
    Row("002 compute rawcode wrong type", B, 400, lambda c: c.raw("POST", "/api/v1/services/compute", json.dumps(compute_body(c, "compute_start", {"documentId": c.world.dataset.did, "serviceId": 1, "transferTxId": "0x1", "algorithmMeta": {"rawcode": ["x"]}})), user=None)),
    Row("002 compute oversized", B, 413, lambda c: c.raw("POST", "/api/v1/services/compute", json.dumps(compute_body(c, "compute_start", {"documentId": c.world.dataset.did, "serviceId": 1, "transferTxId": "0x1", "algorithmMeta": {"rawcode": "#" * 10_000}})), user=None), set_small_body_limit),
    Row("002 datasets wrong types", B, 400, lambda c: c.raw("POST", "/api/v1/services/datasets", json.dumps({"project": "alpha", "name": 5, "services": "all", "files": {"url": 1}})), lambda c: make_staff(c.alice)),
    Row("002 datasets file scheme", B, 400, lambda c: c.raw("POST", "/api/v1/services/datasets", json.dumps({"project": "alpha", "name": "f", "datatokenAddress": "0x" + "d7" * 20, "services": [{"index": 0, "type": "access", "price": "1"}], "files": [{"url": "file:///etc/passwd"}]})), lambda c: make_staff(c.alice)),
    # ---- pipelines 004
    Row("004 source malformed json", E, 400, lambda c: c.raw("POST", f"{P}/sources", h.MALFORMED_JSON)),
    Row("004 source wrong types", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": ["a"], "type": 1, "version": None, "config": "path=in"}))),
    Row("004 source config not an object", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": "s2", "type": "file", "version": "latest", "config": [1, 2]}))),
    Row("004 file source path traversal", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": "s2", "type": "file", "version": "latest", "config": {"path": "../beta", "format": "csv"}}))),
    Row("004 file source absolute path", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": "s2", "type": "file", "version": "latest", "config": {"path": "/etc", "format": "csv"}}))),
    Row("004 file source bad format", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": "s2", "type": "file", "version": "latest", "config": {"path": "in", "format": "exe"}}))),
    Row("004 file source test traversal", E, 400, lambda c: c.raw("POST", f"{P}/sources/test", json.dumps({"type": "file", "version": "latest", "config": {"path": "../../conversions", "format": "csv"}}))),
    Row("004 sqlite source traversal", E, 400, lambda c: c.raw("POST", f"{P}/sources", json.dumps({"name": "s3", "type": "sqlite", "version": "latest", "config": {"path": "../../db.sqlite3"}}))),
    Row("004 source update wrong types", E, 400, lambda c: c.raw("PUT", f"{P}/sources/{c.world.source.pk}", json.dumps({"config": "x", "name": 5}))),
    Row("004 source update traversal", E, 400, lambda c: c.raw("PUT", f"{P}/sources/{c.world.source.pk}", json.dumps({"config": {"path": "../../..", "format": "csv"}}))),
    Row("004 source oversized", E, 413, lambda c: c.raw("POST", f"{P}/sources", BIG_JSON), set_small_body_limit),
    Row("004 destination traversal", E, 400, lambda c: c.raw("POST", f"{P}/destinations", json.dumps({"name": "d2", "type": "csv", "version": "latest", "config": {"path": "../../labeling"}}))),
    Row("004 destination malformed json", E, 400, lambda c: c.raw("POST", f"{P}/destinations", h.MALFORMED_JSON)),
    Row("004 destination update traversal", E, 400, lambda c: c.raw("PUT", f"{P}/destinations/{c.world.destination.pk}", json.dumps({"config": {"path": "/tmp"}}))),
    Row("004 job malformed json", E, 400, lambda c: c.raw("POST", f"{P}/jobs", h.MALFORMED_JSON)),
    Row("004 job wrong types", E, 400, lambda c: c.raw("POST", f"{P}/jobs", json.dumps({"name": 1, "source": "files", "destination": ["out"], "frequency": 5, "streams_config": 7, "activate": "maybe"}))),
    Row("004 job destination config broken json string", E, 400, lambda c: c.raw("POST", f"{P}/jobs", json.dumps({"name": "j2", "source": {"name": "files"}, "destination": {"name": "d9", "type": "csv", "version": "latest", "config": '{"path": "x",'}}))),
    Row("004 job bad frequency", E, 400, lambda c: c.raw("POST", f"{P}/jobs", json.dumps({"name": "j2", "source": {"name": "files"}, "destination": {"name": "out"}, "frequency": "* * * * * * * rm -rf"}))),
    Row("004 job unknown stream", E, 400, lambda c: c.raw("POST", f"{P}/jobs", json.dumps({"name": "j2", "source": {"name": "files"}, "destination": {"name": "out"}, "streams_config": [{"name": "nope", "selected": True}]}))),
    Row("004 job update wrong types", E, 400, lambda c: c.raw("PUT", f"{P}/jobs/{c.world.job.pk}", json.dumps({"activate": "yes", "streams_config": "all"}))),
    Row("004 job oversized", E, 413, lambda c: c.raw("POST", f"{P}/jobs", BIG_JSON), set_small_body_limit),
    Row("004 spec wrong types", E, 400, lambda c: c.raw("POST", f"{P}/sources/spec", json.dumps({"type": ["file"], "version": 1}))),
    Row("004 discover traversal", E, 400, lambda c: c.raw("POST", f"{P}/source/streams", json.dumps({"type": "file", "version": "latest", "config": {"path": "../beta", "format": "csv"}}))),
]


@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_it_refuses_hostile_requests_and_keeps_what_is_stored(ctx, row):
    if row.setup:
        row.setup(ctx)
    before = {"pictures": Picture.objects.count(), "tasks": ConversionTask.objects.count()}
    response = row.call(ctx)
    assert response.status_code == row.status, (response.status_code, response.content[:500])
    row.check(response, row.status)
    ctx.settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    ctx.settings.DATA_UPLOAD_MAX_NUMBER_FILES = 100
    ctx.world.assert_intact()
    if row.id.startswith("003 pictures"):
        assert Picture.objects.count() == before["pictures"]  # no part of a refused upload was kept
    assert_still_serving(ctx)


# ---------------------------------------------------------------------------------------------
# SSRF: loopback spellings end to end against a canary that must receive nothing


@pytest.fixture
def canary():
    with h.FileServer({"/canary.png": h.png_bytes(), "/canary.csv": h.CSV_GOOD}) as server:
        yield server


def dataset_at(ctx, url):
    return dataset_publish(
        project=ctx.world.dataset.project, name=f"at {url}", datatoken_address="0x" + "D7" * 20,
        services=[{"index": 0, "type": "access", "price": "1"}], files=[{"url": url, "contentType": "text/csv"}], by=ctx.alice,
    )


def compute_download(ctx, url):
    """A paid download of a dataset whose file lives at ``url``: the provider fetches it in the request."""
    from eth_account import Account

    consumer = Account.create()
    dataset = dataset_at(ctx, url)
    order_mark_paid(order=order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address), tx_id=f"0x{dataset.pk:04x}")
    fields = {"documentId": dataset.did, "serviceId": 0, "serviceType": "access", "fileIndex": 0, "transferTxId": f"0x{dataset.pk:04x}"}
    return ctx.api(None).get("/api/v1/services/download", signed("download", consumer, fields))


def picture_import(ctx, url):
    return ctx.client.post(pictures_url(ctx), {"data": {"urls": [url]}}, format="json")


def expect_refused(endpoint, response):
    if endpoint == "labeling pictures":
        assert response.status_code == 400, response.content
        assert response.json()["errors"]["title"] == "bad picture url", response.content
    else:  # compute: 002 documents a refused or failing file host as 502, without the URL or host
        assert response.status_code == 502, response.content
        body = response.json()
        assert body["error"].startswith("file 0 cannot be served") and "127" not in body["error"] and "localhost" not in body["error"]


SSRF_ENDPOINTS = {"labeling pictures": picture_import, "compute download": compute_download}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", list(SSRF_ENDPOINTS))
def test_it_refuses_loopback_in_every_spelling_without_reaching_the_canary(ctx, canary, endpoint):
    ctx.settings.D2D_LABELING_URL_ALLOWLIST = []
    ctx.settings.D2D_COMPUTE_URL_ALLOWLIST = []
    for host in h.LOOPBACK_SPELLINGS:
        url = f"http://{host}:{canary.port}/canary.{'png' if endpoint == 'labeling pictures' else 'csv'}"
        expect_refused(endpoint, SSRF_ENDPOINTS[endpoint](ctx, url))
        ctx.world.assert_intact()
    time.sleep(0.05)
    assert canary.hits == []
    assert Picture.objects.count() == 1
    assert_still_serving(ctx)


REDIRECT_TARGETS = [f"{spelling}:{{canary}}" for spelling in h.LOOPBACK_SPELLINGS] + [h.url_host(a) for a in h.NON_LOOPBACK] + [h.FAKE_HOST]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", list(SSRF_ENDPOINTS))
def test_it_refuses_a_redirect_to_a_forbidden_address(ctx, canary, monkeypatch, endpoint):
    """An allowlisted loopback relay redirects to each forbidden form; only the relay is ever connected to."""
    path = "/jump.png" if endpoint == "labeling pictures" else "/jump.csv"
    with h.FileServer({}) as relay:
        ctx.settings.D2D_LABELING_URL_ALLOWLIST = [relay.hostport]
        ctx.settings.D2D_COMPUTE_URL_ALLOWLIST = [relay.hostport]
        for target in REDIRECT_TARGETS:
            relay.routes[path] = h.redirect_to("http://" + target.format(canary=canary.port) + "/canary.png")
            loopback = "{canary}" in target  # loopback spellings resolve for real: literals and /etc/hosts, no DNS query
            network = h.NetworkGuard(
                monkeypatch, answers={h.FAKE_HOST: ["169.254.169.254"]}, allowed={("127.0.0.1", relay.port)}, fake_dns=not loopback
            )
            hits = len(relay.hits)
            response = SSRF_ENDPOINTS[endpoint](ctx, relay.url(path))
            monkeypatch.undo()
            expect_refused(endpoint, response)
            assert relay.hits[hits:] == [path], target  # the relay was asked, once
            assert network.attempts == [], target
            ctx.world.assert_intact()
    assert canary.hits == []
    assert_still_serving(ctx)


# ---------------------------------------------------------------------------------------------
# SSRF outside loopback: at the guard, a fake resolver answers, and no connection is attempted


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", list(SSRF_ENDPOINTS))
def test_it_refuses_addresses_outside_loopback_at_the_guard_without_connecting(ctx, monkeypatch, endpoint):
    for address in h.NON_LOOPBACK:
        for host in (h.FAKE_HOST, h.url_host(address)):
            network = h.NetworkGuard(monkeypatch, answers={h.FAKE_HOST: [address]})
            response = SSRF_ENDPOINTS[endpoint](ctx, f"http://{host}/data.{'png' if endpoint == 'labeling pictures' else 'csv'}")
            monkeypatch.undo()
            expect_refused(endpoint, response)
            assert network.attempts == [], (address, host)
            assert network.resolved == [host.strip("[]")], (address, host)  # answered by the fake resolver only
            ctx.world.assert_intact()
    assert_still_serving(ctx)


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_conversion_whose_urls_resolve_outside_loopback_without_connecting(api, alice, project_a, settings, monkeypatch):
    """000's URL import, run by the worker code in this process: each URL refused unsent, the task FAILED with a reason."""
    settings.D2D_CONVERSIONS_URL_ALLOWLIST = []
    client = api(alice)
    world = h.build_world(alice, project_a, client)
    names = {f"n{index}.hostile.example": address for index, address in enumerate(h.NON_LOOPBACK)}
    urls = [f"http://{name}/a.csv" for name in names] + [f"http://{h.url_host(address)}/b.csv" for address in h.NON_LOOPBACK]
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "csv"}}, format="json").json()
    assert client.post(f"/api/v1/uploads/tasks/{task['id']}/urls", {"urls": urls}, format="json").status_code in (200, 201)
    assert client.post(f"/api/v1/uploads/tasks/{task['id']}/submit").status_code == 202
    network = h.NetworkGuard(monkeypatch, answers={name: [address] for name, address in names.items()})
    done = ConversionTask.objects.get(pk=task["id"])
    run_inline(done)
    monkeypatch.undo()
    assert network.attempts == []
    assert done.status == "failed" and done.error, (done.status, done.error)
    reasons = [item.failure_reason for item in done.inputs.all()]
    assert len(reasons) == len(urls) and all(reason.startswith("refused:") for reason in reasons), reasons
    world.assert_intact()
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "failure", "000's word for it"


# ---------------------------------------------------------------------------------------------
# Bad files and loopback URLs through a real worker: FAILED with a reason, nothing written outside


WORKER_FILES = {
    # name: (service, params, file name, content, words the reason must contain)
    "zip bomb": ("tabular", {"to": "csv"}, "bomb.zip", h.zip_bomb(), "compresses more than"),
    "zip slip": ("tabular", {"to": "csv"}, "slip.zip", h.zip_slip(), None),
    "bad csv": ("tabular", {"to": "parquet"}, "broken.csv", h.CSV_BAD, ""),
    "bad xlsx": ("tabular", {"to": "csv"}, "broken.xlsx", h.XLSX_BAD, ""),
    "html named pdf": ("pdf", {"operation": "text"}, "report.pdf", h.NOT_A_PDF, ""),
    "script named png": ("image", {"format": "jpeg"}, "photo.png", h.NOT_AN_IMAGE, ""),
    "svg named jpg": ("image", {"format": "png"}, "photo.jpg", h.SVG_AS_PNG, ""),
}


def test_it_fails_hostile_files_and_loopback_urls_in_a_real_worker(cluster_factory, api, alice, project_a, tmp_path, settings):
    client = api(alice)
    world = h.build_world(alice, project_a, client)
    media = settings.MEDIA_ROOT
    submitted, refused_at_upload = {}, {}
    with h.FileServer({"/canary.csv": h.CSV_GOOD}) as canary, h.FileServer({}) as relay:
        for index, spelling in enumerate(h.LOOPBACK_SPELLINGS):
            relay.routes[f"/jump{index}.csv"] = h.redirect_to(f"http://{spelling}:{canary.port}/canary.csv")
        cluster_factory(D2D_CONVERSIONS_URL_ALLOWLIST=relay.hostport)
        for row, (service, params, name, content, _) in WORKER_FILES.items():
            task = client.post("/api/v1/uploads/tasks", {"service": service, "params": params}, format="json").json()["id"]
            sent = client.post(f"/api/v1/uploads/tasks/{task}/files", files_of((name, content)), format="multipart")
            if sent.status_code == 400:  # refused before storing: as good as a FAILED task
                refused_at_upload[row] = sent.json()["error"]
                assert not ConversionTask.objects.get(pk=task).inputs.exists()
                continue
            assert sent.status_code == 201, (row, sent.content)
            assert client.post(f"/api/v1/uploads/tasks/{task}/submit").status_code == 202
            submitted[row] = task
        # 001: every loopback spelling straight, and each through an allowlisted relay's redirect
        common = client.post("/api/v1/task", {"service": "tabular"}, format="json").json()["data"]["task_id"]
        direct = [{"file_name": f"d{n}.csv", "download_url": f"http://{spelling}:{canary.port}/canary.csv"} for n, spelling in enumerate(h.LOOPBACK_SPELLINGS)]
        jumps = [{"file_name": f"j{n}.csv", "download_url": relay.url(f"/jump{n}.csv")} for n in range(len(h.LOOPBACK_SPELLINGS))]
        for start in range(0, len(direct + jumps), 20):
            batch = (direct + jumps)[start : start + 20]
            last = start + 20 >= len(direct + jumps)
            answer = client.post("/api/v1/assets", {"task_id": common, "data": batch, "last_batch": last}, format="json")
            assert answer.status_code == 200, answer.content
        submitted["001 loopback urls"] = common

        def finished():
            rows = ConversionTask.objects.filter(pk__in=submitted.values())
            return all(task.status in ("succeeded", "failed", "cancelled") for task in rows) and rows.count() == len(submitted)

        wait_until(finished, timeout=120, interval=0.25, message="hostile conversions finished")
        time.sleep(0.1)
        assert canary.hits == []
        assert sorted(relay.hits) == sorted(f"/jump{n}.csv" for n in range(len(h.LOOPBACK_SPELLINGS)))

    problems = []
    for row, task_id in submitted.items():
        task = ConversionTask.objects.get(pk=task_id)
        expected = WORKER_FILES[row][4] if row in WORKER_FILES else "no input could be used"
        if row == "zip slip":  # members land flat inside the task's folder, under names we built, or the task fails
            if task.status not in ("succeeded", "failed"):
                problems.append((row, task.status, task.error))
        elif task.status != "failed" or not task.error or expected not in task.error:
            problems.append((row, task.status, task.error))
        detail = client.get(f"/api/v1/tasks/{task_id}")
        assert detail.status_code == 200 and detail.json()["run_status"] == task.status
    assert problems == []
    status = client.get("/api/v1/task", {"id": submitted["001 loopback urls"]}).json()["data"]
    assert status["status"] == "FAILED" and status["reason"]
    inputs = ConversionTask.objects.get(pk=submitted["001 loopback urls"]).inputs.all()
    assert all(item.status == "failed" and item.failure_reason.startswith("refused:") for item in inputs)
    for name in h.ZIP_SLIP_NAMES:  # nothing escaped the task's folder
        assert not list(tmp_path.rglob(name)) or all("conversions" in str(path) for path in tmp_path.rglob(name))
        assert not (media.parent / name).exists() and not (tmp_path.parent / name).exists()
    assert not os.path.exists("/tmp/hostile-zip-slip-abs.csv")
    world.assert_intact()
    assert client.get(f"/api/v1/tasks/{world.conversion_task.pk}").status_code == 200
    assert client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_compute_job_whose_dataset_file_is_on_loopback_without_reaching_it(api, alice, project_a, settings):
    """002's compute: the job's input fetch is refused in every loopback spelling; the job ends stopped (7) with a reason."""
    from eth_account import Account

    from compute.models import ComputeJob

    settings.D2D_COMPUTE_URL_ALLOWLIST = []
    world = h.build_world(alice, project_a)
    consumer = Account.create()
    with h.FileServer({"/canary.csv": h.CSV_GOOD}) as canary:
        jobs = []
        for index, spelling in enumerate(h.LOOPBACK_SPELLINGS):
            dataset = dataset_publish(
                project=project_a, name=f"loop {index}", datatoken_address="0x" + "D7" * 20,
                services=[{"index": 0, "type": "compute", "price": "1", "allowRawAlgorithm": True}],
                files=[{"url": f"http://{spelling}:{canary.port}/canary.csv", "contentType": "text/csv"}], by=alice,
            )
            tx = f"0xc{index:03d}"
            order_mark_paid(order=order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address), tx_id=tx)
            fields = {"documentId": dataset.did, "serviceId": 0, "transferTxId": tx, "algorithmMeta": {"rawcode": "print(1)"}}
            started = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, fields), format="json")
            assert started.status_code == 200, started.content
            job = ComputeJob.objects.get(job_id=started.json()[0]["jobId"])
            run_inline(job)
            jobs.append((spelling, job))
        time.sleep(0.05)
        assert canary.hits == []
    for spelling, job in jobs:
        assert job.status == "failed", (spelling, job.status)
        body = signed("compute_status", consumer, {"jobId": str(job.job_id)})
        [status] = api(None).get("/api/v1/services/compute", body).json()
        assert status["status"] == 7 and status["statusText"] and "127" not in status["statusText"], (spelling, status)
    world.assert_intact()


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_sync_of_a_bad_csv_and_keeps_the_published_destination(api, alice, project_a, settings):
    """004's file source: a bad CSV fails the run with a reason; what the destination held stays."""
    from kernel.runner import execute
    from pipelines.services import job_sync_start

    settings.D2D_TASK_MAX_ATTEMPTS = 1
    world = h.build_world(alice, project_a)
    first = job_sync_start(job=world.job, user=alice, publish=False)
    execute("pipelines.JobTask", str(first.pk))
    first.refresh_from_db()
    assert first.status == "succeeded", first.error
    out = storages["default"]
    published = sorted(out.listdir("pipelines/alpha/out")[0])
    client = api(alice)
    body = {"name": "bad", "source": {"name": "badfiles", "type": "file", "version": "latest", "config": {"path": "bad", "format": "csv"}}, "destination": {"name": "out"}}
    out.save("pipelines/alpha/bad/rows.csv", io.BytesIO(h.CSV_BAD))
    refused = client.post(f"{P}/jobs", body, format="json")  # discovery reads the file: a 400 naming the fault
    assert refused.status_code == 400 and "CSV parse error" in refused.json()["message"], refused.content
    out.delete("pipelines/alpha/bad/rows.csv")
    out.save("pipelines/alpha/bad/rows.csv", io.BytesIO(h.CSV_GOOD))
    made = client.post(f"{P}/jobs", body, format="json")
    assert made.status_code == 200, made.content
    job_id = made.json()["data"]["id"]
    out.delete("pipelines/alpha/bad/rows.csv")  # the file turns bad between discovery and the sync
    out.save("pipelines/alpha/bad/rows.csv", io.BytesIO(h.CSV_BAD))
    from pipelines.models import Job

    run = job_sync_start(job=Job.objects.get(pk=job_id), user=alice, publish=False)
    execute("pipelines.JobTask", str(run.pk))
    run.refresh_from_db()
    assert run.status == "failed" and run.error, (run.status, run.error)
    tasks = client.get(f"{P}/jobs/{job_id}/tasks").json()["data"]
    assert tasks[0]["status"] == "failed" and tasks[0]["error"]
    assert sorted(out.listdir("pipelines/alpha/out")[0]) == published  # the earlier result is still published
    world.assert_intact()
    assert client.get(f"{P}/jobs").json()["success"] is True
