"""CSV files in storage, a folder per stream, with a header row."""

import pyarrow.csv as pacsv

from pipelines.connectors.filedest import FileDestination


class CsvDestination(FileDestination):
    type = "csv"
    title = "CSV files in storage"
    extension = ".csv"
    spec = {**FileDestination.spec, "title": "CSV destination"}

    def open_file(self, path, schema):
        return pacsv.CSVWriter(path, schema)

    def write_batch(self, handle, batch):
        handle.write_batch(batch)
