"""A job's advanced settings (OLake's max_discover_threads): stored, returned in both dialects, refused when wrong, used by discovery."""

import json
import threading

import pytest

from accounts.models import Project, Role
from accounts.services import membership_set
from pipelines.connectors.base import each_at_once
from pipelines.models import Job
from pipelines.services import source_discover

pytestmark = pytest.mark.django_db

BASE = "/api/v1/project/alpha"
UI = "/api/v1/project/123"


@pytest.fixture
def csv_folder(project_storage, folder):
    from django.core.files.base import ContentFile

    for index in range(6):
        project_storage.save(f"{folder}/t{index}.csv", ContentFile(f"id,v{index}\n1,x\n2,y\n".encode()))
    return folder


def job_body(folder, **extra):
    return {
        "name": "files",
        "source": {"name": "in", "type": "file", "version": "latest", "config": {"path": folder, "format": "csv"}},
        "destination": {"name": "out", "type": "parquet", "version": "latest", "config": {"path": folder + "-out"}},
        **extra,
    }


def test_it_stores_returns_updates_and_clears_advanced_settings(project_a, api, alice, bob, csv_folder):
    client = api(alice)
    created = client.post(f"{BASE}/jobs", job_body(csv_folder, advanced_settings={"max_discover_threads": 3}), format="json")
    assert created.status_code == 200, created.content
    job_id = created.json()["data"]["id"]
    assert created.json()["data"]["advanced_settings"] == {"max_discover_threads": 3}
    assert Job.objects.get().advanced_settings == {"max_discover_threads": 3}
    assert api(bob).get(f"{BASE}/jobs/{job_id}").json()["data"]["advanced_settings"] == {"max_discover_threads": 3}
    assert client.get(f"{BASE}/jobs").json()["data"][0]["advanced_settings"] == {"max_discover_threads": 3}

    renamed = client.put(f"{BASE}/jobs/{job_id}", {"name": "renamed"}, format="json")
    assert renamed.json()["data"]["advanced_settings"] == {"max_discover_threads": 3}, "an update without them keeps them"
    more = client.put(f"{BASE}/jobs/{job_id}", {"advanced_settings": {"max_discover_threads": 8}}, format="json")
    assert more.json()["data"]["advanced_settings"] == {"max_discover_threads": 8}
    cleared = client.put(f"{BASE}/jobs/{job_id}", {"advanced_settings": {"max_discover_threads": None}}, format="json")
    assert cleared.json()["data"]["advanced_settings"] == {} and Job.objects.get().advanced_settings == {}


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"max_discover_threads": 0}, "from 1 to 256"),
        ({"max_discover_threads": "many"}, "must be an integer"),
        ({"max_discover_threads": 1000}, "from 1 to 256"),
        ({"max_threads": 4}, "unknown setting(s) max_threads"),
        ([4], "must be a JSON object"),
    ],
)
def test_it_refuses_advanced_settings_it_cannot_use_and_creates_nothing(project_a, api, alice, csv_folder, settings, words):
    response = api(alice).post(f"{BASE}/jobs", job_body(csv_folder, advanced_settings=settings), format="json")
    assert response.status_code == 400 and words in response.json()["message"], response.content
    assert response.json()["success"] is False
    assert not Job.objects.exists()


@pytest.fixture
def olake_csv_folder(storage, csv_folder):
    """The same files in the olake project's storage folder (the UI's project 123)."""
    import shutil

    shutil.copytree(storage.path(f"pipelines/alpha/{csv_folder}"), storage.path(f"pipelines/olake/{csv_folder}"))
    yield csv_folder
    shutil.rmtree(storage.path(f"pipelines/olake/{csv_folder}"), ignore_errors=True)


def test_it_takes_and_gives_them_as_the_olake_ui_does(api, alice, olake_csv_folder):
    csv_folder = olake_csv_folder
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    ui = api(alice)
    body = job_body(csv_folder, frequency="0 */6 * * *", streams_config="", advanced_settings={"max_discover_threads": 50})
    for side in ("source", "destination"):
        body[side] = {**body[side], "version": "v0.2.7", "config": json.dumps(body[side]["config"])}
    created = ui.post(f"{UI}/jobs", body, format="json")
    assert created.status_code == 200, created.content
    listed = ui.get(f"{UI}/jobs").json()["data"][0]
    assert listed["advanced_settings"] == {"max_discover_threads": 50}, "an object, as OLake's server sends it"
    assert isinstance(listed["streams_config"], str), "while configs stay strings of JSON in this dialect"
    streams = ui.post(
        f"{UI}/source/streams",
        {"name": "in", "type": "file", "version": "v0.2.7", "config": body["source"]["config"], "job_id": -1,
         "job_name": "files", "max_discover_threads": 4},
        format="json",
    )
    assert streams.status_code == 200 and len(streams.json()["data"]["streams"]) == 6
    bad = ui.post(f"{UI}/source/streams", {"type": "file", "config": body["source"]["config"], "max_discover_threads": 0}, format="json")
    assert bad.status_code == 400


def test_it_infers_that_many_streams_at_once():
    threads = 4
    barrier = threading.Barrier(threads, timeout=10)

    def infer(item):
        barrier.wait()  # breaks (BrokenBarrierError) unless ``threads`` calls run at the same time
        return item * 2

    assert each_at_once(infer, list(range(threads)), threads) == [0, 2, 4, 6]
    with pytest.raises(threading.BrokenBarrierError):
        each_at_once(lambda item: threading.Barrier(2, timeout=0.5).wait(), [1, 2], 1)


def test_it_discovers_the_same_catalog_one_or_many_at_once(project_a, csv_folder):
    config = {"path": csv_folder, "format": "csv"}
    one = source_discover(type="file", version=None, config=config, project_id="alpha", threads=1)
    many = source_discover(type="file", version=None, config=config, project_id="alpha", threads=6)
    assert one == many and [stream["name"] for stream in many["streams"]] == [f"t{i}" for i in range(6)]
