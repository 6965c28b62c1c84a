"""Full loads read page ranges on parallel connections in one snapshot; psql or libpq drains each COPY."""

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from kernel.models import TaskStatus
from pipelines.connectors import source_connector
from pipelines.connectors.base import Stream
from pipelines.connectors.pg_copy import ctid_chunks
from pipelines.services import source_discover
from tests.pipelines.conftest import PG, make_job, run_sync
from tests.pipelines.test_type_fidelity import PG_NULLS, PG_ROW, PG_TABLE

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 30_000


@pytest.fixture
def big_table(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    conn.execute(f"INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g")
    conn.execute("ANALYZE items")
    return config, conn, schema


def stream_of(config, name):
    streams = source_discover(type="postgres", version="latest", config=config, project_id="alpha")["streams"]
    entry = next(s for s in streams if s["name"] == name)
    return Stream(name=name, namespace=entry["namespace"], columns={"id": "int32", "label": "string"})


@pytest.mark.parametrize("client", ["psql", "libpq"])
def test_it_loads_a_table_in_page_ranges_exactly_once(project_a, alice, big_table, folder, project_storage, client):
    config, conn, _ = big_table
    job = make_job(project_a, alice, "postgres", {**config, "read_parallelism": 4, "copy_client": client}, "parquet", {"path": folder})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    table = ds.dataset(project_storage.path(f"{folder}/items"), format="parquet").to_table()
    assert table.num_rows == ROWS and sorted(table.column("id").to_pylist()) == list(range(1, ROWS + 1))


def test_the_ranges_read_the_table_as_of_one_moment_while_rows_move(big_table):
    """Rows updated (moved to other pages) and inserted while the load runs are read as they were when it began."""
    config, conn, schema = big_table
    assert len(ctid_chunks(conn, schema, "items", 3)) == 3, "the table is big enough to be cut"
    source = source_connector("postgres", {**config, "read_parallelism": 3, "read_block_bytes": 16384})
    batches = source.read(stream_of(config, "items"))
    first = next(batches)
    conn.execute("UPDATE items SET label = 'moved'")  # every row gets a new version on another page
    conn.execute(f"INSERT INTO items SELECT g, 'new' FROM generate_series({ROWS + 1}, {ROWS + 500}) g")
    table = pa.Table.from_batches([first, *batches])
    assert sorted(table.column("id").to_pylist()) == list(range(1, ROWS + 1))
    assert "moved" not in set(table.column("label").to_pylist())


def test_a_small_table_or_a_view_is_read_on_one_connection(pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE tiny (id int PRIMARY KEY, label text)")
    conn.execute("INSERT INTO tiny VALUES (1, 'a'), (2, 'b')")
    conn.execute("CREATE VIEW tiny_view AS SELECT * FROM tiny")
    source = source_connector("postgres", {**config, "read_parallelism": 8})
    for name in ("tiny", "tiny_view"):
        rows = pa.Table.from_batches(list(source.read(stream_of(config, name)))).to_pylist()
        assert sorted(row["id"] for row in rows) == [1, 2]


def test_psql_and_libpq_read_every_type_the_same(pg):
    config, conn, _ = pg
    conn.execute(PG_TABLE)
    conn.execute(PG_ROW)
    conn.execute(PG_NULLS)
    streams = source_discover(type="postgres", version="latest", config=config, project_id="alpha")["streams"]
    from pipelines import catalog

    (stream,) = catalog.selected_streams({"streams": streams})
    tables = {}
    for client in ("psql", "libpq"):
        source = source_connector("postgres", {**config, "copy_client": client})
        tables[client] = pa.Table.from_batches(list(source.read(stream)), schema=stream.arrow_schema).sort_by("id")
    assert tables["psql"].equals(tables["libpq"]) and tables["psql"].num_rows == 2


def test_a_copy_that_fails_in_psql_says_why_without_the_password(project_a, alice, pg, folder):
    config, conn, schema = pg
    conn.execute("CREATE TABLE gone (id int PRIMARY KEY)")
    job = make_job(project_a, alice, "postgres", {**config, "copy_client": "psql"}, "parquet", {"path": folder})
    conn.execute("DROP TABLE gone")
    task = run_sync(job)
    assert task.status != TaskStatus.SUCCEEDED
    assert f'relation "{schema}.gone" does not exist' in task.error and PG["password"] not in task.error
    assert PG["password"] not in "\n".join(line.message for line in task.log_lines())


def test_closing_a_parallel_read_early_stops_every_copy(big_table):
    import os
    import subprocess
    import time

    config, conn, _ = big_table
    source = source_connector("postgres", {**config, "read_parallelism": 3, "read_block_bytes": 4096, "copy_client": "psql"})
    batches = source.read(stream_of(config, "items"))
    next(batches)
    started = time.monotonic()
    batches.close()
    assert time.monotonic() - started < 10
    children = subprocess.run(["pgrep", "-P", str(os.getpid()), "psql"], capture_output=True, text=True).stdout.split()
    assert children == [], "every psql was reaped"
