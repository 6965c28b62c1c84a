"""d2d's Iceberg catalog over the Iceberg REST protocol, against a live d2d (uvicorn in its own process) with pyiceberg's REST client."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import requests
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError, NoSuchTableError

from accounts.services import token_issue
from kernel.models import TaskStatus
from pipelines.connectors import destination_connector
from pipelines.secrets import MASK
from tests.pipelines.conftest import make_job, run_sync
from tests.support.processes import child_env, free_port, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web(transactional_db, tmp_path):
    """A live d2d web process on the test database, as a client elsewhere would reach it."""
    port = free_port()
    log = open(tmp_path / "web.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "d2d.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def token_of(user) -> str:
    return token_issue(user=user, name="iceberg")[1]


def rest_catalog(web, project, user) -> RestCatalog:
    return RestCatalog("d2d", uri=f"{web}/api/v1/project/{project}/iceberg", token=token_of(user))


ORDERS = pa.schema([pa.field("id", pa.int64()), pa.field("note", pa.string())])


def test_it_serves_the_projects_catalog_to_pyiceberg(web, project_a, alice, bob, project_b, charlie):
    catalog = rest_catalog(web, "alpha", alice)
    catalog.create_namespace("sales")
    assert ("sales",) in catalog.list_namespaces()
    table = catalog.create_table(("sales", "orders"), schema=ORDERS)
    table.append(pa.table({"id": [1, 2], "note": ["a", None]}, schema=ORDERS))  # data files, then a commit over REST
    assert catalog.list_tables("sales") == [("sales", "orders")]
    loaded = catalog.load_table(("sales", "orders"))
    assert sorted(loaded.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "note": "a"}, {"id": 2, "note": None}]

    # The same table is the project's own: d2d's Iceberg destination (default warehouse) sees it.
    with destination_connector("iceberg", {"path": "iceberg"}, project_id="alpha").opened_catalog() as own:
        assert own.load_table(("sales", "orders")).metadata_location == loaded.metadata_location

    stale = catalog.load_table(("sales", "orders"))
    old_snapshot = stale.current_snapshot().snapshot_id
    loaded.append(pa.table({"id": [3], "note": ["c"]}, schema=ORDERS))
    stale.append(pa.table({"id": [4], "note": ["d"]}, schema=ORDERS))  # a 409 first; pyiceberg refreshes and retries
    assert len(catalog.load_table(("sales", "orders")).scan().to_arrow()) == 4, "both appends, none lost"
    conflict = requests.post(
        f"{web}/api/v1/project/alpha/iceberg/v1/iceberg/namespaces/sales/tables/orders",
        json={"identifier": {"namespace": ["sales"], "name": "orders"}, "updates": [],
              "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": old_snapshot}]},
        headers={"Authorization": f"Bearer {token_of(alice)}"},
    )
    assert conflict.status_code == 409 and conflict.json()["error"]["type"] == "CommitFailedException", conflict.text

    viewer = rest_catalog(web, "alpha", bob)
    assert len(viewer.load_table(("sales", "orders")).scan().to_arrow()) == 4, "viewers read"
    with pytest.raises(ForbiddenError):
        viewer.create_namespace("mine")
    with pytest.raises(NoSuchTableError):
        catalog.load_table(("sales", "ghost"))

    outsider = requests.get(f"{web}/api/v1/project/alpha/iceberg/v1/config", headers={"Authorization": f"Bearer {token_of(charlie)}"})
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == 404
    anonymous = requests.get(f"{web}/api/v1/project/alpha/iceberg/v1/iceberg/namespaces")
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert rest_catalog(web, "beta", charlie).list_namespaces() == [], "beta's catalog is its own"
    bad = requests.post(
        f"{web}/api/v1/project/alpha/iceberg/v1/iceberg/namespaces/sales/tables", data=b'{"name": 1}',
        headers={"Authorization": f"Bearer {token_of(alice)}", "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "BadRequestException"


def test_it_syncs_into_another_d2ds_catalog_over_rest(web, project_a, alice, project_b, charlie, pg, api, s3_server, s3_bucket):
    config, conn, _ = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2))")
    conn.execute("INSERT INTO orders VALUES (1, 1.50), (2, 2.25)")
    token = token_of(charlie)
    destination = {
        "catalog_type": "rest", "rest_catalog_url": f"{web}/api/v1/project/beta/iceberg", "token": token,
        "iceberg_s3_path": f"s3://{s3_bucket}/warehouse", "iceberg_db": "from_alpha", "aws_region": s3_server.region,
        "aws_access_key": s3_server.access_key, "aws_secret_key": s3_server.secret_key, "s3_endpoint": s3_server.endpoint,
    }
    tested = api(alice).post("/api/v1/project/alpha/destinations/test", {"type": "iceberg", "config": destination}, format="json")
    assert tested.status_code == 200, tested.content
    assert tested.json()["data"]["config"]["token"] == MASK and token not in tested.content.decode()
    job = make_job(project_a, alice, "postgres", config, "iceberg", destination)
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert token not in "\n".join(line.message for line in task.log_lines())
    table = rest_catalog(web, "beta", charlie).load_table(("from_alpha", "orders"))
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": 1, "amount": Decimal("1.50")}, {"id": 2, "amount": Decimal("2.25")}]
    wrong = {**destination, "token": "not-a-token"}
    refused = api(alice).post("/api/v1/project/alpha/destinations/test", {"type": "iceberg", "config": wrong}, format="json")
    assert refused.status_code == 400 and "not-a-token" not in refused.content.decode()
