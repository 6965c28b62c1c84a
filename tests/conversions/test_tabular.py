"""Tabular round trips keep values and column types."""

import datetime
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conversions.converters import service_get
from conversions.converters.base import ConversionError, InputFile, Job

TABLE = pa.table(
    {
        "id": pa.array([1, 2, None, 4], pa.int64()),
        "price": [1.5, -2.25, 3.0, 1e10],
        "name": ["plain", 'comma, "quote"', "ёж", ""],
        "ok": [True, False, None, True],
        "at": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.datetime(2024, 2, 3), None, datetime.datetime(1999, 12, 31, 23, 59, 59)], pa.timestamp("ms")),
    }
)


def kind(arrow_type) -> str:
    return "timestamp" if pa.types.is_timestamp(arrow_type) else str(arrow_type)


def convert(tmp_path, name, path, to, tag):
    service = service_get("tabular")
    out = tmp_path / f"out-{tag}"
    out.mkdir()
    job = Job([InputFile(name, path)], service.validate_params({"to": to}), out)
    service.run(job)
    [output] = job.outputs
    return output


@pytest.mark.parametrize("middle", ["csv", "jsonl", "xlsx", "parquet"])
def test_it_round_trips_parquet_through_each_format(tmp_path, middle):
    source = tmp_path / "source.parquet"
    pq.write_table(TABLE, source)
    there = convert(tmp_path, "source.parquet", source, middle, "there")
    assert there.name == f"source.{middle}"
    back = convert(tmp_path, there.name, there.path, "parquet", "back")
    table = pq.read_table(back.path)
    assert table.schema.names == TABLE.schema.names
    # Text formats do not carry a timestamp's unit; the type (and every value) survives.
    assert [kind(field.type) for field in table.schema] == [kind(field.type) for field in TABLE.schema]
    if middle == "parquet":
        assert table.schema == TABLE.schema
    expected = TABLE.to_pylist()
    if middle in ("csv", "xlsx"):
        # CSV and XLSX cannot tell an empty string from a missing value
        expected[3]["name"] = table.to_pylist()[3]["name"]
    assert table.to_pylist() == expected


def test_it_reads_tsv_json_arrays_and_json_lines(tmp_path):
    (tmp_path / "a.tsv").write_text("x\ty\n1\tone\n2\ttwo\n")
    (tmp_path / "b.json").write_text(json.dumps([{"x": 1, "y": "one"}, {"x": 2, "y": "two"}]))
    (tmp_path / "c.jsonl").write_text('{"x": 1, "y": "one"}\n{"x": 2, "y": "two"}\n')
    for index, name in enumerate(["a.tsv", "b.json", "c.jsonl"]):
        output = convert(tmp_path, name, tmp_path / name, "parquet", str(index))
        table = pq.read_table(output.path)
        assert table.to_pylist() == [{"x": 1, "y": "one"}, {"x": 2, "y": "two"}]
        assert table.schema.field("x").type == pa.int64()


def test_it_refuses_a_file_it_cannot_read_as_a_table(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConversionError, match="notes.txt"):
        convert(tmp_path, "notes.txt", tmp_path / "notes.txt", "csv", "x")


def test_parquet_output_keeps_row_groups_whole_however_the_input_is_read(tmp_path):
    """200,000 rows are read in batches of 65,536; the Parquet written holds them in one row group, not four."""
    source = tmp_path / "many.parquet"
    pq.write_table(pa.table({"n": range(200_000), "label": [f"row {n}" for n in range(200_000)]}), source)
    output = convert(tmp_path, "many.parquet", source, "parquet", "many")
    file = pq.ParquetFile(output.path)
    assert file.metadata.num_rows == 200_000 and file.num_row_groups == 1
    assert file.read().column("n").to_pylist() == list(range(200_000))
