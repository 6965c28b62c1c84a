"""Stream difference: which streams of an updated streams_config, in OLake's or d2d's shape, would change the destination."""

import copy
import json

import pytest

from kernel.errors import DomainError
from pipelines import catalog
from pipelines.streams_diff import difference_stream_keys, streams_difference
from tests.pipelines.conftest import make_job

pytestmark = pytest.mark.django_db

EMPTY = {"selected_streams": {}, "streams": []}


@pytest.fixture
def job(project_a, alice, pg):
    """Saved: orders selected for full refresh, items known but not selected."""
    config, conn, _ = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL)")
    conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    streams = {"streams": [{"name": "orders"}, {"name": "items", "selected": False}]}
    return make_job(project_a, alice, "postgres", config, "parquet", {"path": "out"}, streams)


def olake_form(streams_config, *, selected=None, stream_changes=None, metadata_changes=None) -> dict:
    """A streams_config as the OLake UI sends it back: wrapped streams and selected_streams by namespace."""
    streams, chosen = [], {}
    for entry in catalog.normalize(streams_config):
        stream = {
            "name": entry["name"],
            "namespace": entry["namespace"],
            "type_schema": entry["json_schema"],
            "supported_sync_modes": entry["supported_sync_modes"],
            "available_cursor_fields": entry["available_cursor_fields"],
            "sync_mode": entry["sync_mode"],
            "cursor_field": entry["cursor_field"] or "",
            "destination_table": entry["destination_name"],
            **(stream_changes or {}).get(entry["name"], {}),
        }
        streams.append({"stream": stream})
        if entry["name"] in (selected if selected is not None else [e["name"] for e in catalog.normalize(streams_config) if e["selected"]]):
            chosen.setdefault(entry["namespace"], []).append(
                {
                    "stream_name": entry["name"],
                    "partition_regex": "",
                    "normalization": False,
                    "append_mode": False,
                    "filter": "",
                    **(metadata_changes or {}).get(entry["name"], {}),
                }
            )
    return {"selected_streams": chosen, "streams": streams}


def names(difference) -> list[str]:
    return [item["stream"]["name"] for item in difference["streams"]]


def test_it_finds_no_difference_in_an_unchanged_config_in_either_shape(job):
    assert streams_difference(job=job, updated_streams_config=olake_form(job.streams_config)) == EMPTY
    assert streams_difference(job=job, updated_streams_config=json.dumps(olake_form(job.streams_config))) == EMPTY
    assert streams_difference(job=job, updated_streams_config=job.streams_config) == EMPTY
    assert difference_stream_keys(EMPTY) == [] and difference_stream_keys(json.dumps(EMPTY)) == []


def test_it_lists_a_newly_selected_stream_in_olakes_wrapped_form(job):
    schema = job.source.config["schemas"][0]
    difference = streams_difference(job=job, updated_streams_config=olake_form(job.streams_config, selected=["orders", "items"]))
    assert names(difference) == ["items"]
    assert list(difference["selected_streams"]) == [schema], "the UI counts Object.keys(selected_streams)"
    assert difference["selected_streams"][schema][0]["stream_name"] == "items"
    assert difference_stream_keys(json.dumps(difference)) == [f"{schema}.items"]


def test_it_lists_a_stream_whose_sync_mode_changed_keeping_its_old_destination(job):
    changes = {"orders": {"sync_mode": "incremental", "cursor_field": "updated_at", "destination_table": "orders_new"}}
    difference = streams_difference(job=job, updated_streams_config=olake_form(job.streams_config, stream_changes=changes))
    assert names(difference) == ["orders"]
    stream = difference["streams"][0]["stream"]
    assert stream["sync_mode"] == "incremental"
    assert stream["destination_table"] == "orders", "the clear must remove where the old rows are"


def test_it_lists_a_stream_whose_columns_destination_or_normalization_changed(job):
    schema = job.source.config["schemas"][0]
    narrower = copy.deepcopy(job.streams_config)
    narrower["streams"][0]["columns"] = ["id", "name"]
    assert names(streams_difference(job=job, updated_streams_config=narrower)) == ["orders"]
    every = copy.deepcopy(job.streams_config)
    every["streams"][0]["columns"] = ["id", "name", "updated_at"]
    assert streams_difference(job=job, updated_streams_config=every) == EMPTY, "all columns listed is all columns"

    renamed = olake_form(job.streams_config, stream_changes={"orders": {"destination_table": "orders_v2"}})
    assert names(streams_difference(job=job, updated_streams_config=renamed)) == ["orders"]
    normalized = olake_form(job.streams_config, metadata_changes={"orders": {"normalization": True}})
    difference = streams_difference(job=job, updated_streams_config=normalized)
    assert difference["selected_streams"][schema][0]["normalization"] is True
    assert difference_stream_keys(difference) == [f"{schema}.orders"]
    # A cursor only matters to an incremental stream.
    cursor_only = olake_form(job.streams_config, stream_changes={"orders": {"cursor_field": "updated_at"}})
    assert streams_difference(job=job, updated_streams_config=cursor_only) == EMPTY


def test_it_leaves_out_a_stream_that_is_unselected(job):
    difference = streams_difference(job=job, updated_streams_config=olake_form(job.streams_config, selected=[]))
    assert difference == EMPTY
    flat = copy.deepcopy(job.streams_config)
    flat["streams"][0]["selected"] = False
    assert streams_difference(job=job, updated_streams_config=flat) == EMPTY


@pytest.mark.parametrize(
    "updated",
    [
        "",
        "{not json",
        "[1, 2]",
        "42",
        {"streams": "orders"},
        {"streams": [{"stream": "orders"}]},
        {"selected_streams": ["orders"], "streams": []},
        {"selected_streams": {"public": [{"partition_regex": ""}]}, "streams": []},
        {"streams": [{"stream": {"name": "orders", "type_schema": "nope"}}]},
        {"streams": [{"name": "orders", "columns": "id"}]},
    ],
)
def test_it_refuses_a_malformed_updated_config_naming_the_field(job, updated):
    with pytest.raises(DomainError) as caught:
        streams_difference(job=job, updated_streams_config=updated)
    assert caught.value.field == "updated_streams_config" and "updated_streams_config" in caught.value.message


def test_it_turns_a_job_updates_difference_into_stream_keys(job):
    assert difference_stream_keys(None) == [] and difference_stream_keys("") == [] and difference_stream_keys("{}") == []
    assert difference_stream_keys("[]") == []
    assert difference_stream_keys({"selected_streams": {"": ["a"], "s": [{"stream_name": "b"}, {"stream_name": "b"}]}}) == ["a", "s.b"]
    assert difference_stream_keys({"streams": [{"stream": {"name": "c", "namespace": "s"}}]}) == ["s.c"]
    with pytest.raises(DomainError) as caught:
        difference_stream_keys("{oops")
    assert caught.value.field == "difference_streams"
    with pytest.raises(DomainError):
        difference_stream_keys({"selected_streams": {"s": [{"no": "name"}]}})
