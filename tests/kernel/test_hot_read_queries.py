"""Every contract's hot read (bench/load_reads.py) answers in a fixed number of queries, however many
rows stand behind it, and scopes: the owner and a member get the answer, an outsider a 404 (issue 26)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from eth_account import Account

from compute.datasets import dataset_publish
from compute.models import ComputeJob, OceanStatus
from conversions.models import ConversionTask, InputAsset
from kernel.models import TaskStatus
from labeling.models import LabelingTask
from pipelines.models import Destination, Job, JobTask, Source
from pipelines.services import connector_create
from tests.compute.conftest import signed

pytestmark = pytest.mark.django_db

# Queries of each hot read once the caller's token is cached (the first request of a token adds
# its lookup). These are the figures of docs/load.md; a change that adds one must say why there.
QUERIES = {
    "000 task detail": 3,  # the task (scoped), its inputs, its results
    "000 task list": 2,  # the count, the page (one compiled statement, conversions/listing.py)
    "001 status": 1,  # the task with its asset counts
    "003 task list": 3,  # the page, its previews (a window function), their progress
    # 004: compiled statements, the related sets by subquery of the listing (pipelines/api/views/listings.py)
    "004 sources": 4,  # membership with its project, the sources, their jobs (newest run ids), those runs
    "004 jobs": 3,  # membership with its project, the jobs (newest run ids), those runs
    "004 job tasks": 3,  # membership with its project, the job, the page of runs
}


@pytest.fixture
def world(alice, bob, charlie, project_a, project_b, api):
    task = ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={"to": "parquet"})
    InputAsset.objects.create(task=task, file_name="a.csv", status=InputAsset.Status.DOWNLOADED)
    labeling = LabelingTask.objects.create(project=project_a, publisher=alice, name="cats", size=3)
    source = connector_create(model=Source, project=project_a, user=alice, name="orders", type="file", version="latest",
                              config={"path": "source", "format": "csv"})
    destination = connector_create(model=Destination, project=project_a, user=alice, name="out", type="parquet",
                                   version="latest", config={"path": "out"})
    job = Job.objects.create(project=project_a, name="job", source=source, destination=destination, created_by=alice)
    JobTask.objects.create(job=job, project=project_a, status=TaskStatus.SUCCEEDED)
    return {"task": task, "labeling": labeling, "source": source, "job": job, "project": project_a,
            "clients": {"owner": api(alice), "member": api(bob), "outsider": api(charlie)}}


def grow(world, alice):
    """More of every row the reads touch: their query counts must not follow (no N+1)."""
    project = world["project"]
    for number in range(3):
        other = ConversionTask.objects.create(project=project, owner=alice, service="tabular", params={"to": "csv"})
        InputAsset.objects.create(task=world["task"], file_name=f"more-{number}.csv")
        InputAsset.objects.create(task=other, file_name="b.csv")
        LabelingTask.objects.create(project=project, publisher=alice, name=f"dogs {number}", size=3)
        JobTask.objects.create(job=world["job"], project=project, status=TaskStatus.SUCCEEDED)
        destination = connector_create(model=Destination, project=project, user=alice, name=f"out-{number}",
                                       type="parquet", version="latest", config={"path": f"out-{number}"})
        Job.objects.create(project=project, name=f"job-{number}", source=world["source"], destination=destination,
                           created_by=alice)


def paths(world) -> dict:
    p = f"/api/v1/project/{world['project'].pk}"
    return {
        "000 task detail": f"/api/v1/tasks/{world['task'].pk}",
        "000 task list": "/api/v1/tasks/",
        "001 status": f"/api/v1/task?id={world['task'].pk}",
        "003 task list": f"/api/tasks/?project={world['project'].pk}",
        "004 sources": f"{p}/sources",
        "004 jobs": f"{p}/jobs",
        "004 job tasks": f"{p}/jobs/{world['job'].pk}/tasks",
    }


def counted(client, path: str):
    client.get("/api/v1/tasks/")  # the token's lookup is cached now
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, len(queries)


@pytest.mark.parametrize("who", ["owner", "member"])
def test_it_answers_each_hot_read_in_a_fixed_number_of_queries(world, who, alice):
    client = world["clients"][who]
    for when in ("as made", "grown"):
        if when == "grown":
            grow(world, alice)
        for name, path in paths(world).items():
            response, queries = counted(client, path)
            assert response.status_code == 200, (name, response.content[:300])
            assert queries == QUERIES[name], f"{name} ({when}): {queries} queries, expected {QUERIES[name]}"


def test_the_answers_are_the_callers_own(world):
    owner, member = world["clients"]["owner"], world["clients"]["member"]
    for client in (owner, member):
        assert client.get(paths(world)["000 task detail"]).json()["id"] == str(world["task"].pk)
        assert client.get(paths(world)["000 task list"]).json()["count"] == 1
        assert client.get(paths(world)["001 status"]).json()["data"]["assets_downloaded"] == 100
        assert [task["id"] for task in client.get(paths(world)["003 task list"]).json()["data"]["tasks"]] == [world["labeling"].pk]
        sources = client.get(paths(world)["004 sources"]).json()["data"]
        assert [source["name"] for source in sources] == ["orders"] and [job["name"] for job in sources[0]["jobs"]] == ["job"]
        jobs = client.get(paths(world)["004 jobs"]).json()["data"]
        assert [job["name"] for job in jobs] == ["job"] and jobs[0]["last_run_state"] == "succeeded"
        assert len(client.get(paths(world)["004 job tasks"]).json()["data"]) == 1


def test_an_outsider_gets_404_or_nothing(world):
    outsider = world["clients"]["outsider"]
    for name in ("000 task detail", "001 status", "004 sources", "004 jobs", "004 job tasks"):
        response, _ = counted(outsider, paths(world)[name])
        assert response.status_code == 404, (name, response.content[:300])
    assert outsider.get(paths(world)["000 task list"]).json()["count"] == 0  # lists answer the caller's own rows
    assert outsider.get(paths(world)["003 task list"]).json()["data"]["tasks"] == []


def test_compute_status_reads_the_signers_job_in_a_fixed_number_of_queries(world, alice, api):
    dataset = dataset_publish(
        project=world["project"], name="rows", datatoken_address="0x" + "d7" * 20,
        services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2"}],
        files=[{"url": "http://127.0.0.1:9/never-fetched.csv", "contentType": "text/csv"}], by=alice,
    )
    signer, stranger = Account.create(), Account.create()
    job = ComputeJob.objects.create(project=world["project"], dataset=dataset, owner_address=signer.address,
                                    status=TaskStatus.SUCCEEDED, stage=OceanStatus.COMPLETED)
    fields = {"jobId": job.job_id, "documentId": dataset.did}
    client = api(None)
    client.get("/api/v1/services/compute", signed("compute_status", signer, fields))  # the signer's first nonce is stored
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/services/compute", signed("compute_status", signer, fields))
        assert response.status_code == 200 and [item["jobId"] for item in response.json()] == [job.job_id]
        counts.append(len(queries))
        ComputeJob.objects.create(project=world["project"], dataset=dataset, owner_address=signer.address)
    # the signer's nonce advanced (one conditional UPDATE) and the jobs with their dataset
    assert counts == [2, 2], counts
    assert client.get("/api/v1/services/compute", signed("compute_status", stranger, fields)).json() == []


def test_the_job_listing_filters_and_the_connector_listings_group_their_jobs(world, alice):
    grow(world, alice)
    client, p, job = world["clients"]["member"], f"/api/v1/project/{world['project'].pk}", world["job"]
    by_source = client.get(f"{p}/jobs?source_id={world['source'].pk}").json()["data"]
    assert sorted(row["name"] for row in by_source) == ["job", "job-0", "job-1", "job-2"]
    by_destination = client.get(f"{p}/jobs?dest_id={job.destination_id}").json()["data"]
    assert [row["name"] for row in by_destination] == ["job"] and by_destination[0]["last_run_state"] == "succeeded"
    both = client.get(f"{p}/jobs?source_id={world['source'].pk}&dest_id={job.destination_id}").json()["data"]
    assert [row["name"] for row in both] == ["job"]
    assert client.get(f"{p}/jobs?source_id={world['source'].pk + 1000}").json()["data"] == []
    destinations = {row["name"]: [j["name"] for j in row["jobs"]] for row in client.get(f"{p}/destinations").json()["data"]}
    assert destinations == {"out": ["job"], "out-0": ["job-0"], "out-1": ["job-1"], "out-2": ["job-2"]}
    sources = client.get(f"{p}/sources").json()["data"]
    assert [j["name"] for j in sources[0]["jobs"]] == ["job", "job-0", "job-1", "job-2"]
    assert [j["last_run_state"] for j in sources[0]["jobs"]] == ["succeeded", None, None, None]
    runs = client.get(f"{p}/jobs/{job.pk}/tasks").json()["data"]
    assert sorted(run["id"] for run in runs) == sorted(str(pk) for pk in JobTask.objects.filter(job=job).values_list("pk", flat=True))
    assert len(runs) == 4 and client.get(f"{p}/jobs/{Job.objects.get(name='job-0').pk}/tasks").json()["data"] == []
