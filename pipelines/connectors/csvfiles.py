"""CSV files in storage, a folder per stream, with a header row. Lists (arrays) are written as JSON text."""

import json

import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.connectors.filedest import FileDestination


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) if pa.types.is_list(f.type) else f for f in schema])


def _lists_as_json(batch: pa.RecordBatch) -> pa.RecordBatch:
    arrays = [
        pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()], type=pa.string())
        if pa.types.is_list(column.type)
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class CsvDestination(FileDestination):
    type = "csv"
    title = "CSV files in storage"
    extension = ".csv"
    spec = {**FileDestination.spec, "title": "CSV destination"}

    def open_file(self, path, schema):
        return pacsv.CSVWriter(path, _csv_schema(schema))

    def write_batch(self, handle, batch):
        if any(pa.types.is_list(field.type) for field in batch.schema):
            batch = _lists_as_json(batch)
        handle.write_batch(batch)
