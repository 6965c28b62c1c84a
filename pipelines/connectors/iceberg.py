"""Apache Iceberg tables as a destination (pyiceberg): a SQL catalog on d2d's own database, files in Django storage.

Every publish is one Iceberg commit, so readers see a stream's previous snapshot until it lands:

* replace (full refresh): delete everything, then append the rows, in one transaction;
* append (incremental without a key) and upsert (incremental with one: the batch's keys are
  deleted, then its rows appended);
* merge (CDC): per key the change with the highest LSN wins; the keys of the batch are deleted
  and the rows whose last change is not a delete appended.

A column the source added is added to the table first (schema evolution by name); old rows read
it as null. A big full load in chunks (pipelines.chunked) writes each chunk's Parquet files in
the table's schema, then adds all of them in the one commit that deletes the old rows. Each warehouse folder (inside its project's storage folder) has its own catalog
name in the shared catalog tables, so projects never see each other's tables.
"""

import dataclasses
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pyarrow as pa
import sqlalchemy.exc
from django.conf import settings
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, And, EqualTo, In, Or

from kernel.row_groups import RowGroupWriter
from pipelines.connectors.base import (
    CDC_COLUMNS,
    CDC_OPERATION,
    CDC_POSITION,
    CheckFailed,
    DestinationConnector,
    Stream,
    StreamWriter,
)
from pipelines.connectors.filedest import STAGING, ChunkParts
from pipelines.connectors.iceberg_files import PARQUET_OPTIONS, DataFiles, in_schema
from pipelines.connectors.iceberg_olake import OLAKE_FIELDS, is_olake_form, olake_catalog, olake_problem
from pipelines.connectors.iceberg_olake import warehouse as olake_warehouse
from pipelines.connectors.s3 import bucket_check
from pipelines.connectors.storage import clean_path, default_storage, local_path

ROWS_PER_APPEND = 500_000


def catalog_uri() -> str:
    """SQLAlchemy's URL of the catalog: D2D_PIPELINES_ICEBERG_CATALOG_URI, else d2d's own database."""
    if settings.D2D_PIPELINES_ICEBERG_CATALOG_URI:
        return settings.D2D_PIPELINES_ICEBERG_CATALOG_URI
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    credentials = quote(database.get("USER") or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgresql+psycopg://{credentials}@{host}{port}/{quote(database['NAME'], safe='')}"


def _storage_properties(storage, name: str) -> tuple[str, dict]:
    """The warehouse location of a storage name, and the FileIO properties that reach it."""
    local = local_path(storage, name)
    if local is not None:
        return f"file://{local}", {}
    options = {
        "s3.endpoint": getattr(storage, "endpoint_url", None),
        "s3.region": getattr(storage, "region_name", None),
        "s3.access-key-id": getattr(storage, "access_key", None),
        "s3.secret-access-key": getattr(storage, "secret_key", None),
    }
    prefix = "/".join(part for part in (getattr(storage, "location", ""), name) if part)
    return f"s3://{storage.bucket_name}/{prefix}", {key: value for key, value in options.items() if value}


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([field.with_nullable(True) for field in schema])


def _keys_filter(keys: list[str], rows: list[dict]):
    """The rows of the table whose key is one of ``rows``' keys."""
    if len(keys) == 1:
        return In(keys[0], {row[keys[0]] for row in rows})
    terms = [And(*[EqualTo(key, row[key]) for key in keys]) for row in rows]
    return terms[0] if len(terms) == 1 else Or(*terms)


class IcebergDestination(DestinationConnector):
    type = "iceberg"
    title = "Apache Iceberg tables"
    merges_changes = True
    spec = {
        "type": "object",
        "title": "Iceberg destination",
        "properties": {
            "path": {"type": "string", "default": "iceberg", "title": "Warehouse folder, a path in d2d's storage (local or S3)"},
            "namespace": {"type": "string", "default": "d2d", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", "title": "Namespace"},
            **OLAKE_FIELDS,  # OLake's form (pipelines.connectors.iceberg_olake): its catalog and its S3 warehouse
        },
        "additionalProperties": False,
    }

    @classmethod
    def config_problem(cls, config: dict) -> str | None:
        return olake_problem(config)

    @property
    def olake(self) -> bool:
        return is_olake_form(self.config)

    def catalog(self):
        """The job's catalog; its caller closes it (``opened_catalog``, ``close_catalog``)."""
        if self.olake:
            return olake_catalog(self.config)
        location = clean_path(self.config.get("path", "iceberg"), self.root)
        warehouse, properties = _storage_properties(default_storage(), location)
        # The catalog's name scopes its rows in the shared catalog tables: one catalog per warehouse
        # folder, which lies inside the project's storage root, so projects never share one.
        try:
            return SqlCatalog(f"d2d:{location}", uri=catalog_uri(), warehouse=warehouse, **properties)
        except sqlalchemy.exc.IntegrityError:
            # Two first users at once both created the catalog's tables; one won, and they are there now.
            return SqlCatalog(f"d2d:{location}", uri=catalog_uri(), warehouse=warehouse, **properties)

    @contextmanager
    def opened_catalog(self) -> Iterator[SqlCatalog]:
        """The catalog, its database connections closed afterwards (each catalog has its own pool)."""
        catalog = self.catalog()
        try:
            yield catalog
        finally:
            close_catalog(catalog)

    @property
    def namespace(self) -> str:
        return (self.config.get("iceberg_db") if self.olake else None) or self.config.get("namespace") or "d2d"

    def check(self) -> None:
        if self.olake:
            bucket, prefix = olake_warehouse(self.config)
            bucket_check(bucket, write_prefix=prefix)  # the warehouse: its data and metadata files go there
        try:
            with self.opened_catalog() as catalog:
                try:
                    catalog.create_namespace(self.namespace)
                except NamespaceAlreadyExistsError:
                    pass
                catalog.list_tables(self.namespace)
        except CheckFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here means the destination cannot be used; say why
            raise CheckFailed(f"Iceberg catalog not usable: {type(exc).__name__}: {exc}") from exc

    def identifier(self, stream: Stream) -> tuple[str, str]:
        return (self.namespace, stream.destination_name or stream.name)

    def local_warehouse(self) -> str | None:
        if self.olake:
            return None  # the warehouse is in a bucket
        return local_path(default_storage(), clean_path(self.config.get("path", "iceberg"), self.root))

    def open_stream(self, stream: Stream, *, mode: str, generation: int) -> StreamWriter:
        return _IcebergWriter(self, stream, mode)

    def open_parts(self, stream: Stream, *, key: str) -> "_IcebergParts | None":
        """Durable parts of a chunked full load (pipelines.chunked): Parquet files in a private folder of the
        warehouse, added to the table in one commit; None where the warehouse has no local path (S3)."""
        warehouse = self.local_warehouse()
        return _IcebergParts(self, stream, key, warehouse) if warehouse is not None else None

    def clear_stream(self, stream: Stream) -> None:
        with self.opened_catalog() as catalog:
            try:
                catalog.purge_table(self.identifier(stream))
            except NoSuchTableError:
                pass
        warehouse = self.local_warehouse()
        staging = os.path.join(warehouse, STAGING) if warehouse else None
        if staging and os.path.isdir(staging):  # the parts of a chunked load cut short
            mine = re.compile(rf"[0-9a-f]{{32}}-{_digest(self.identifier(stream))}")
            for entry in os.listdir(staging):
                if mine.fullmatch(entry):
                    shutil.rmtree(os.path.join(staging, entry), ignore_errors=True)


def _table_for(catalog: SqlCatalog, destination: "IcebergDestination", stream: Stream, schema: pa.Schema):
    """The stream's table, made if missing; a column the source added is added to it (old rows read it as null)."""
    try:
        catalog.create_namespace(destination.namespace)
    except NamespaceAlreadyExistsError:
        pass
    identifier = destination.identifier(stream)
    table = catalog.create_table_if_not_exists(identifier, schema=schema)
    known = set(table.schema().column_names)
    if any(name not in known for name in schema.names):
        with table.update_schema() as update:
            update.union_by_name(schema)
        table = catalog.load_table(identifier)
    return table


class _IcebergWriter(StreamWriter):
    """One Iceberg transaction per publish: data files are written as batches come, committed at once."""

    def __init__(self, destination: IcebergDestination, stream: Stream, mode: str):
        self.mode = mode
        columns = {c: t for c, t in stream.columns.items() if c not in CDC_COLUMNS} if mode == "merge" else stream.columns
        self.stream = dataclasses.replace(stream, columns=columns)
        self.keys = [key for key in stream.primary_key if key in columns]
        if mode in ("merge", "upsert") and not self.keys:
            self.mode = "append" if mode == "upsert" else mode
            if mode == "merge":
                raise CheckFailed(f"stream {stream.key}: applying changes needs a primary key")
        self.catalog = catalog = destination.catalog()
        self.schema = _nullable(self.stream.arrow_schema)
        table = _table_for(catalog, destination, self.stream, self.schema)
        self.transaction = table.transaction()
        if mode == "replace" and table.current_snapshot() is not None:
            self.transaction.delete(AlwaysTrue())
        # Loads (replace, append) stream into data files; upserts and changes are applied per publish.
        self.files = DataFiles(table) if self.mode in ("replace", "append") else None
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.files is not None:
            self.files.write(batch)
            return
        self.pending.append(batch)
        self.pending_rows += batch.num_rows

    def _flush(self) -> None:
        if not self.pending:
            return
        data = pa.Table.from_batches(self.pending)
        self.pending, self.pending_rows = [], 0
        if self.mode == "merge":
            self._apply_changes(data)
            return
        data = data.select(self.schema.names).cast(self.schema)
        if self.mode == "upsert":
            self.transaction.delete(_keys_filter(self.keys, data.select(self.keys).to_pylist()))
        self.transaction.append(data)

    def _apply_changes(self, data: pa.Table) -> None:
        last: dict[tuple, dict] = {}
        for row in sorted(data.to_pylist(), key=lambda row: row[CDC_POSITION]):
            last[tuple(row[key] for key in self.keys)] = row
        if not last:
            return
        self.transaction.delete(_keys_filter(self.keys, list(last.values())))
        kept = [{name: row.get(name) for name in self.schema.names} for row in last.values() if row[CDC_OPERATION] != "d"]
        if kept:
            self.transaction.append(pa.Table.from_pylist(kept, schema=self.schema))

    def publish(self) -> None:
        try:
            if self.files is not None:
                self.files.close()
                if self.files.paths:  # named by this writer: new to the table
                    self.transaction.add_files(self.files.paths, check_duplicate_files=False)
            self._flush()
            self.transaction.commit_transaction()
        finally:
            close_catalog(self.catalog)

    def abort(self) -> None:
        # Nothing was committed: readers never see the data files this attempt wrote, and
        # Iceberg's orphan-file maintenance removes them.
        self.pending = []
        try:
            if self.files is not None:
                self.files.close()
        finally:
            close_catalog(self.catalog)


def close_catalog(catalog) -> None:
    """Release a catalog's connections: a SQL catalog's pool (each catalog has its own), a REST catalog's session."""
    if hasattr(catalog, "engine"):
        catalog.engine.dispose()
    elif hasattr(catalog, "_session"):
        catalog._session.close()


def _digest(identifier: tuple[str, str]) -> str:
    return hashlib.sha256(".".join(identifier).encode()).hexdigest()[:16]


class _IcebergParts(ChunkParts):
    """Parts of an Iceberg table: per chunk Parquet files in the table's schema.

    ``publish`` moves every file into the table's data folder and commits, in one transaction,
    the delete of the old rows and the new files (Iceberg's add_files): readers see the old
    snapshot until then. Files moved by a publish cut short are orphans Iceberg's maintenance
    removes; their chunks are read again.
    """

    def __init__(self, destination: IcebergDestination, stream: Stream, key: str, warehouse: str):
        self.destination, self.stream = destination, stream
        self.key = key
        self.folder = os.path.join(warehouse, STAGING, f"{key}-{_digest(destination.identifier(stream))}")
        self._schema: pa.Schema | None = None

    def _table(self, catalog):
        return _table_for(catalog, self.destination, self.stream, _nullable(self.stream.arrow_schema))

    def schema(self) -> pa.Schema:
        """The table's own Arrow schema (Iceberg has no int16: it stores those as int): what the files are written in."""
        if self._schema is None:
            with self.destination.opened_catalog() as catalog:
                self._schema = self._table(catalog).schema().as_arrow()
        return self._schema

    def prepare(self) -> None:
        """Before any chunk is read (in the run's own thread): the table exists, and half-written parts are gone."""
        self.schema()
        super().prepare()

    def write_files(self, folder: str, batches) -> tuple[int, int]:
        schema = self.schema()
        writer, files, rows, nbytes, in_file = None, 0, 0, 0, 0
        try:
            for batch in batches:
                if writer is None or in_file >= ROWS_PER_APPEND:
                    if writer is not None:
                        writer.close()
                    writer = RowGroupWriter(os.path.join(folder, f"part-{files:05d}.parquet"), schema, **PARQUET_OPTIONS)
                    files, in_file = files + 1, 0
                writer.write(in_schema(batch, schema))
                rows, nbytes, in_file = rows + batch.num_rows, nbytes + batch.nbytes, in_file + batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        return rows, nbytes

    def publish(self, indexes: list[int]) -> None:
        with self.destination.opened_catalog() as catalog:
            table = self._table(catalog)
            data = table.location().removeprefix("file://") + "/data"
            os.makedirs(data, exist_ok=True)
            paths = []
            for index in indexes:
                for path in self.part_files(index):
                    target = os.path.join(data, f"d2d-{self.key}-{index:05d}-{os.path.basename(path)}")
                    os.rename(path, target)
                    paths.append(target)
            transaction = table.transaction()
            if table.current_snapshot() is not None:
                transaction.delete(AlwaysTrue())
            if paths:
                transaction.add_files(paths, check_duplicate_files=False)  # named by this load: new to the table
            transaction.commit_transaction()
        shutil.rmtree(self.folder, ignore_errors=True)
