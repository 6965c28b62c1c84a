"""Helpers of the hostile-input suite: hostile payloads, a loopback canary, a network guard, the stored world.

Nothing here sends traffic outside loopback: loopback spellings go to a canary HTTP server on
127.0.0.1 (and must never reach it), other addresses are only ever answered by a fake resolver
while every socket connect is checked against a short list of loopback servers the test owns.
"""

import hashlib
import io
import ipaddress
import json
import socket
import zipfile
from dataclasses import dataclass, field

from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from kernel import safe_http
from tests.conversions.support import FileServer, redirect_to  # noqa: F401  (the canary and the relay)
from tests.labeling.conftest import png_bytes  # noqa: F401  (used by the hostile-input table)

# ---------------------------------------------------------------------------------------------
# Addresses


def hosts_file_loopback_name() -> str | None:
    """A name other than localhost that /etc/hosts maps to 127.x (answered from the file: no DNS query)."""
    try:
        lines = open("/etc/hosts").read().splitlines()
    except OSError:
        return None
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or not words[0].startswith("127."):
            continue
        for name in words[1:]:
            if name != "localhost":
                return name
    return None


# Spellings of loopback the guard must see through; each is tested end to end against the canary.
LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]", "[::1]", "localhost"]
_name = hosts_file_loopback_name()
if _name:
    LOOPBACK_SPELLINGS.append(_name)  # "a DNS name resolving to loopback"

# Addresses outside loopback: only ever tested at the guard, with a fake resolver and no connection.
NON_LOOPBACK = ["100.64.0.1", "169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.1.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "::ffff:169.254.169.254", "fd00::1", "0.0.0.0"]

FAKE_HOST = "files.hostile.example"


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _own_services() -> set:
    """d2d's own loopback services (the database, and Redis when REDIS_URL is set, as in CI):
    the channel layer and a connection pool may connect to them during a test; they are not
    the URLs under test."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.db import connection

    services = set()
    if settings.REDIS_URL:
        parts = urlsplit(settings.REDIS_URL)
        services.add((parts.hostname or "127.0.0.1", parts.port or 6379))
    if connection.vendor == "postgresql":
        services.add((connection.settings_dict["HOST"] or "127.0.0.1", int(connection.settings_dict["PORT"] or 5432)))
    return {(host, port) for host, port in services if host in ("127.0.0.1", "::1")}


class NetworkGuard:
    """Patches name resolution and every socket connect of this process.

    ``answers`` {host: [addresses]} is what the fake resolver says (an IP literal answers itself);
    connects are allowed only to ``allowed`` (host, port) pairs on loopback, every other attempt is
    recorded in ``attempts`` and fails the test.
    """

    def __init__(self, monkeypatch, *, answers=None, allowed=(), fake_dns=True):
        self.answers = dict(answers or {})
        self.allowed = set(allowed) | _own_services()
        self.attempts: list = []
        self.resolved: list = []
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        guard = self

        def check(address):
            host, port = address[0], address[1]
            if (host, port) in guard.allowed and ipaddress.ip_address(host.split("%")[0]).is_loopback:
                return
            guard.attempts.append(address)
            raise AssertionError(f"a connection to {address} was attempted")

        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                check(address)
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                check(address)
            return real_connect_ex(sock, address)

        def resolver(host, port):
            guard.resolved.append(host)
            try:
                return [str(ipaddress.ip_address(host))]
            except ValueError:
                pass
            if host not in guard.answers:
                raise safe_http.UrlRefused(f"cannot resolve {host}", kind="resolve")
            return list(guard.answers[host])

        real_getaddrinfo = socket.getaddrinfo

        def no_dns(*args, **kwargs):
            try:  # an IP literal (create_connection passes the checked address through here) needs no lookup
                ipaddress.ip_address(str(args[0]).split("%")[0])
                return real_getaddrinfo(*args, **{**kwargs, "flags": kwargs.get("flags", 0) | socket.AI_NUMERICHOST})
            except ValueError:
                pass
            guard.attempts.append(("getaddrinfo",) + tuple(args[:2]))
            raise AssertionError(f"a real name lookup was attempted: {args[:2]}")

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        if fake_dns:
            monkeypatch.setattr(safe_http, "system_resolver", resolver)
            monkeypatch.setattr(socket, "getaddrinfo", no_dns)


# ---------------------------------------------------------------------------------------------
# Contracts' error bodies


def envelope_error(response, status):  # 004 and 001
    body = response.json()
    assert body["success"] is False and isinstance(body["message"], str) and body["message"], body


def bare_error(response, status):  # 000 and 002
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body


def labeling_error(response, status):  # 003
    body = response.json()
    if status == 403:
        assert body["status"] == 403 and body["error"] == "Forbidden", body
        return
    assert body["errors"]["status"] == status and body["errors"]["title"] is not None, body


# ---------------------------------------------------------------------------------------------
# Hostile files


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


CSV_GOOD = b"id,name\n1,a\n2,b\n"
CSV_BAD = b"id,name\n1,a\n2,b,c,d,e\n3\n"  # rows of 2, 5 and 1 columns
XLSX_BAD = b"PK\x03\x04 this is not a workbook at all" + b"\x00" * 64
NOT_A_PDF = b"<html><script>alert(1)</script></html>"
NOT_AN_IMAGE = b"#!/bin/sh\necho pwned\n"
SVG_AS_PNG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
MALFORMED_JSON = '{"data": {"name": "x", '


def zip_slip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../../../hostile-zip-slip.csv", CSV_GOOD)
        archive.writestr("/tmp/hostile-zip-slip-abs.csv", CSV_GOOD)
        archive.writestr("..\\..\\hostile-zip-slip-win.csv", CSV_GOOD)
    return buffer.getvalue()


ZIP_SLIP_NAMES = ["hostile-zip-slip.csv", "hostile-zip-slip-abs.csv", "hostile-zip-slip-win.csv"]


def zip_bomb(expanded: int = 20 * 1024 * 1024) -> bytes:
    """One member of zeros compressed about 1000:1 (20 MiB in ~20 KiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.csv", "w") as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(expanded // len(chunk)):
                member.write(chunk)
    data = buffer.getvalue()
    assert expanded / len(data) > 900, expanded / len(data)
    return data


# ---------------------------------------------------------------------------------------------
# The world stored before a hostile request, and the proof it is intact afterwards


def digest(name: str) -> str:
    with storages["default"].open(name, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@dataclass
class World:
    conversion_task: object = None
    conversion_input: object = None
    labeling_task: object = None
    picture: object = None
    dataset: object = None
    source: object = None
    destination: object = None
    job: object = None
    files: dict = field(default_factory=dict)  # storage name -> sha256
    rows: dict = field(default_factory=dict)  # label -> snapshot

    def snapshot(self) -> dict:
        from accounts.models import Membership, Project
        from compute.models import Dataset
        from conversions.models import ConversionTask, InputAsset
        from labeling.models import LabelingTask, Picture
        from pipelines.models import Destination, Job, Source

        return {
            "projects": sorted(Project.objects.values_list("pk", flat=True)),
            "memberships": sorted(Membership.objects.values_list("project_id", "user__username", "role")),
            "conversion": list(ConversionTask.objects.filter(pk=self.conversion_task.pk).values("status", "service", "params", "deleted_at")),
            "inputs": list(InputAsset.objects.filter(task=self.conversion_task).values("file", "file_name", "status")),
            "labeling": list(LabelingTask.objects.filter(pk=self.labeling_task.pk).values("name", "size", "type", "description")),
            "pictures": list(Picture.objects.filter(task=self.labeling_task).values("file", "original_name")),
            "dataset": list(Dataset.objects.filter(pk=self.dataset.pk).values("did", "name", "encrypted_files", "services", "deleted_at")),
            "source": [(s.name, s.type, json.dumps(s.config, sort_keys=True)) for s in Source.objects.filter(pk=self.source.pk)],
            "destination": [(d.name, d.type, json.dumps(d.config, sort_keys=True)) for d in Destination.objects.filter(pk=self.destination.pk)],
            "job": list(Job.objects.filter(pk=self.job.pk).values("name", "source_id", "destination_id", "frequency", "streams_config", "activate")),
        }

    def record(self):
        self.rows = self.snapshot()
        self.files = {name: digest(name) for name in self.stored_names()}

    def stored_names(self) -> list[str]:
        return [self.conversion_input.file.name, self.picture.file.name]

    def assert_intact(self):
        assert self.snapshot() == self.rows
        assert {name: digest(name) for name in self.stored_names()} == self.files


def build_world(alice, project, client=None) -> World:
    from compute.datasets import dataset_publish
    from labeling.models import LabelingTask, PictureSource
    from labeling.pictures import content_file, picture_store
    from pipelines.models import Destination, Source
    from pipelines.services import connector_create, job_create

    world = World()
    world.conversion_task = _conversion_task(alice, project)
    world.conversion_input = world.conversion_task.inputs.get()
    world.labeling_task = LabelingTask.objects.create(project=project, publisher=alice, name="cats", size=2)
    world.picture = picture_store(
        task=world.labeling_task, handle=content_file(png_bytes(), "cat.png"), name="cat.png", source=PictureSource.UPLOAD, user=alice
    )
    world.dataset = dataset_publish(
        project=project,
        name="stored",
        datatoken_address="0x" + "D7" * 20,
        services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True}],
        files=[{"url": "https://files.example.com/data.csv", "contentType": "text/csv"}],
        by=alice,
    )
    storages["default"].save("pipelines/alpha/in/rows.csv", io.BytesIO(CSV_GOOD))
    world.source = connector_create(
        model=Source, project=project, user=alice, name="files", type="file", version="latest", config={"path": "in", "format": "csv"}
    )
    world.destination = connector_create(
        model=Destination, project=project, user=alice, name="out", type="csv", version="latest", config={"path": "out"}
    )
    world.job = job_create(project=project, user=alice, name="copy", source={"name": "files"}, destination={"name": "out"})
    world.record()
    return world


def _conversion_task(user, project):
    from conversions import lifecycle

    task = lifecycle.task_register(user=user, service="tabular", params={"to": "jsonl"}, project_id=project.pk)
    lifecycle.files_upload(task=task, uploads=[upload("stored.csv", CSV_GOOD)])
    return task
