"""Tenancy: another project's objects are 404s, viewers read, editors write."""

import pytest

from pipelines.models import Destination, Job, Source
from tests.pipelines.conftest import make_job

pytestmark = pytest.mark.django_db
A = "/api/v1/project/alpha"


@pytest.fixture
def job_of_a(project_a, alice, pg, folder):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    return make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})


def test_it_hides_project_a_from_a_member_of_project_b(project_b, charlie, api, job_of_a):
    client = api(charlie)
    for method, path in [
        ("get", "jobs"), ("get", f"jobs/{job_of_a.pk}"), ("put", f"jobs/{job_of_a.pk}"), ("delete", f"jobs/{job_of_a.pk}"),
        ("post", f"jobs/{job_of_a.pk}/sync"), ("post", f"jobs/{job_of_a.pk}/activate"), ("get", f"jobs/{job_of_a.pk}/tasks"),
        ("get", f"jobs/{job_of_a.pk}/task/1/logs"), ("get", "sources"), ("delete", f"sources/{job_of_a.source_id}"),
    ]:
        response = getattr(client, method)(f"{A}/{path}", {}, format="json")
        assert response.status_code == 404, (method, path, response.content)
        assert response.json() == {"success": False, "message": "Resource not found"}
    # Nor may B's own URLs reach A's objects by id.
    for path in (f"jobs/{job_of_a.pk}", f"sources/{job_of_a.source_id}", f"destinations/{job_of_a.destination_id}"):
        assert client.delete(f"/api/v1/project/beta/{path}").status_code == 404
    assert Job.objects.filter(pk=job_of_a.pk).exists() and Source.objects.count() == 1 and Destination.objects.count() == 1


def test_it_lets_viewers_read_and_refuses_their_writes(bob, api, job_of_a):
    client = api(bob)
    assert client.get(f"{A}/jobs").status_code == 200
    assert client.get(f"{A}/jobs/{job_of_a.pk}/tasks").status_code == 200
    for method, path in [("put", f"jobs/{job_of_a.pk}"), ("delete", f"jobs/{job_of_a.pk}"), ("post", f"jobs/{job_of_a.pk}/cancel"),
                         ("post", "source/streams"), ("post", "sources/test"), ("delete", f"destinations/{job_of_a.destination_id}")]:
        response = getattr(client, method)(f"{A}/{path}", {}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["success"] is False
