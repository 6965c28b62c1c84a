"""On the embedded SQLite, big tables load in one go: a chunk's claim there would lock the whole database."""

import pytest
from django.db import connection

from kernel.models import TaskStatus
from pipelines.models import ChunkedLoad
from tests.pipelines.conftest import make_job, run_sync

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.sqlite_only,  # d2d's own database is SQLite
    pytest.mark.django_db(transaction=True),
]


def test_a_big_table_loads_in_one_go_with_progress_saved_meanwhile(project_a, alice, pg, folder, project_storage):
    import pyarrow.dataset as ds

    config, conn, _ = pg
    conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text)")
    conn.execute("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
    conn.execute("ANALYZE items")
    job = make_job(project_a, alice, "postgres", {**config, "chunk_rows": 1000, "read_parallelism": 2}, "parquet", {"path": folder})
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    assert "chunks" not in "\n".join(line.message for line in task.log_lines())
    assert not ChunkedLoad.objects.exists()
    assert ds.dataset(project_storage.path(f"{folder}/items"), format="parquet").to_table().num_rows == 20000
