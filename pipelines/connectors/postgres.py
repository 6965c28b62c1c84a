"""PostgreSQL source (COPY streamed through Arrow's CSV reader) and destination (COPY in, atomic swap or upsert)."""

import contextlib
import dataclasses
import decimal
import io
import json
import queue
import re
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from pipelines.connectors.base import (
    CDC_COLUMNS,
    CDC_OPERATION,
    CDC_POSITION,
    CDC_SYNC_MODES,
    CheckFailed,
    DestinationConnector,
    SourceConnector,
    Stream,
    StreamWriter,
    catalog_stream,
)
from pipelines.connectors.hosts import database_address
from pipelines.connectors.pg_cdc import PostgresChangeReader
from pipelines.connectors.pg_copy import LibpqCopyReader, PsqlCopyReader, chunk_condition, ctid_chunks, plan_chunks, psql_path
from pipelines.connectors.types import array_element, array_type, arrow_type, decimal_parts, decimal_type, kind_of

CONNECTION_SPEC = {
    "host": {"type": "string", "title": "Host"},
    "port": {"type": "integer", "title": "Port", "default": 5432, "minimum": 1, "maximum": 65535},
    "database": {"type": "string", "title": "Database"},
    "username": {"type": "string", "title": "User"},
    "password": {"type": "string", "title": "Password", "format": "password", "secret": True, "default": ""},
    "sslmode": {
        "type": "string",
        "enum": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        "default": "prefer",
    },
}

# PostgreSQL's type names (pg_type.typname, as information_schema's udt_name gives them) and d2d's
# column types (pipelines.connectors.types); numeric takes its declared precision, arrays their element's.
TYPE_OF_UDT = {
    "int2": "int16",
    "int4": "int32",
    "int8": "integer",
    "oid": "integer",
    "float4": "float32",
    "float8": "number",
    "numeric": "decimal",
    "bool": "boolean",
    "timestamptz": "timestamp",
    "timestamp": "timestamp_ntz",
    "date": "date",
    "bytea": "binary",
    "json": "json",
    "jsonb": "json",
}
SQL_TYPES = {
    "integer": "bigint",
    "int32": "integer",
    "int16": "smallint",
    "number": "double precision",
    "float32": "real",
    "boolean": "boolean",
    "string": "text",
    "decimal": "numeric",
    "json": "jsonb",
    "timestamp": "timestamptz",
    "timestamp_ntz": "timestamp",
    "date": "date",
    "binary": "bytea",
}


def column_type_of(udt_name: str, precision: int | None, scale: int | None) -> str:
    """d2d's column type of a PostgreSQL column, from information_schema.columns."""
    if udt_name.startswith("_"):  # an array: its element's type; bytea elements are read as their text
        element = TYPE_OF_UDT.get(udt_name[1:], "string")
        return array_type("string" if element == "binary" else element)
    if udt_name == "numeric":
        return decimal_type(precision, scale)
    return TYPE_OF_UDT.get(udt_name, "string")


def sql_type(column_type: str) -> str:
    if kind_of(column_type) == "array":
        return f"{sql_type(array_element(column_type))}[]"
    if parts := decimal_parts(column_type):
        return "numeric({},{})".format(*parts)
    return SQL_TYPES.get(column_type, "text")


SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3"


def psql_environment(config: dict) -> dict:
    """libpq's environment for psql: the same server, checked address, TLS mode and session options as ``connect``."""
    port = config.get("port", 5432)
    environment = {
        "PGHOST": config["host"],
        "PGHOSTADDR": database_address(config["host"], port),
        "PGPORT": str(port),
        "PGDATABASE": config["database"],
        "PGUSER": config["username"],
        "PGSSLMODE": config.get("sslmode", "prefer"),
        "PGCONNECT_TIMEOUT": "10",
        "PGAPPNAME": "d2d",
        "PGOPTIONS": SESSION_OPTIONS,
    }
    if config.get("password"):
        environment["PGPASSWORD"] = config["password"]
    return environment


def connect(config: dict, **extra) -> psycopg.Connection:
    port = config.get("port", 5432)
    address = database_address(config["host"], port)
    try:
        return psycopg.connect(
            host=config["host"],  # still given: libpq checks TLS certificates against the name
            hostaddr=address,  # the address database_address checked, not a second DNS answer
            port=port,
            dbname=config["database"],
            user=config["username"],
            password=config.get("password") or None,
            sslmode=config.get("sslmode", "prefer"),
            connect_timeout=10,
            application_name="d2d",
            options=SESSION_OPTIONS,
            **extra,
        )
    except psycopg.OperationalError as exc:
        raise CheckFailed(f"cannot connect to PostgreSQL at {config.get('host')}:{config.get('port', 5432)}: {exc}".strip()) from exc


class PostgresSource(SourceConnector):
    type = "postgres"
    title = "PostgreSQL"
    spec = {
        "type": "object",
        "title": "PostgreSQL source",
        "required": ["host", "database", "username"],
        "properties": {
            **CONNECTION_SPEC,
            "schemas": {"type": "array", "items": {"type": "string"}, "default": ["public"], "title": "Schemas to discover"},
            "read_block_bytes": {"type": "integer", "default": 4 << 20, "minimum": 1024, "title": "Bytes per Arrow batch"},
            "read_parallelism": {
                "type": "integer", "default": 1, "minimum": 1, "maximum": 16,
                "title": "Full loads: connections reading page ranges of a table at once",
            },
            "chunk_rows": {
                "type": "integer", "default": 5_000_000, "minimum": 1000,
                "title": "Full loads: rows per chunk of a big table (a killed run resumes at its first chunk not loaded)",
            },
            "chunk_by": {
                "type": "string", "enum": ["primary_key", "pages"], "default": "primary_key",
                "title": "Full loads: chunks by primary-key ranges (a resumed load is exact) or by page ranges "
                "(a plain scan, faster; a row updated between a kill and the retry may be missed or repeated)",
            },
            "copy_client": {
                "type": "string", "enum": ["auto", "psql", "libpq"], "default": "auto",
                "title": "What drains COPY: psql when installed (fastest), or libpq through psycopg",
            },
            "cdc_batch_changes": {
                "type": "integer", "default": 10000, "minimum": 1, "maximum": 1000000,
                "title": "CDC: changes read and published at a time",
            },
            "cdc_run_seconds": {
                "type": "integer", "default": 0, "minimum": 0, "maximum": 86400,
                "title": "CDC: seconds a run keeps streaming changes (0: publish what is there, then end)",
            },
        },
        "additionalProperties": False,
    }

    def check(self) -> None:
        with connect(self.config) as conn:
            conn.execute("SELECT 1")

    def discover(self) -> list[dict]:
        schemas = self.config.get("schemas") or ["public"]
        with connect(self.config) as conn:
            columns = conn.execute(
                """SELECT table_schema, table_name, column_name, udt_name, numeric_precision, numeric_scale
                   FROM information_schema.columns
                   WHERE table_schema = ANY(%s) ORDER BY table_schema, table_name, ordinal_position""",
                [schemas],
            ).fetchall()
            keys = conn.execute(
                """SELECT n.nspname, c.relname, a.attname FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                   WHERE i.indisprimary AND n.nspname = ANY(%s) ORDER BY n.nspname, c.relname, k.ord""",
                [schemas],
            ).fetchall()
        tables: dict[tuple, dict] = {}
        for schema, table, column, udt_name, precision, scale in columns:
            tables.setdefault((schema, table), {})[column] = column_type_of(udt_name, precision, scale)
        primary: dict[tuple, list] = {}
        for schema, table, column in keys:
            primary.setdefault((schema, table), []).append(column)
        return [
            catalog_stream(
                name=table,
                namespace=schema,
                columns=cols,
                primary_key=primary.get((schema, table)),
                # CDC applies updates and deletes by the primary key, so only tables with one offer it.
                sync_modes=CDC_SYNC_MODES if primary.get((schema, table)) else None,
            )
            for (schema, table), cols in tables.items()
        ]

    def change_reader(self, slot: str) -> PostgresChangeReader:
        return PostgresChangeReader(lambda **extra: connect(self.config, **extra), slot)

    def _select(self, stream: Stream, cursor_after, *, where=None):
        expressions = []
        for column, column_type in stream.columns.items():
            ident = sql.Identifier(column)
            kind = kind_of(column_type)
            if column_type == "timestamp":
                expressions.append(sql.SQL("{}::timestamptz").format(ident))
            elif kind == "binary":
                expressions.append(sql.SQL("encode({}, 'hex')").format(ident))
            elif kind == "array":
                expressions.append(sql.SQL("array_to_json({})::text").format(ident))
            else:  # COPY writes every other value as its type's output text, which Arrow parses (no cast: it costs)
                expressions.append(ident)
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(expressions), sql.Identifier(stream.namespace or "public", stream.name)
        )
        if cursor_after is not None and stream.cursor_field:
            query += sql.SQL(" WHERE {} > {}").format(sql.Identifier(stream.cursor_field), sql.Literal(cursor_after))
        elif where is not None:
            query += sql.SQL(" WHERE {}").format(where)
        return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)

    def read(self, stream: Stream, *, cursor_after=None, tick=None, snapshot: str | None = None):
        """Batches of the stream; with ``snapshot`` (an exported one, a CDC slot's), the rows as of it.

        A full load with read_parallelism > 1 reads page ranges of the table on that many connections
        at once, all in one snapshot, so together they read the table as of one moment.
        """
        parts = int(self.config.get("read_parallelism", 1))
        if parts > 1 and cursor_after is None:
            yield from self._read_in_chunks(stream, parts, snapshot)
        else:
            yield from self._read_one(stream, self._select(stream, cursor_after), snapshot)

    def plan_chunks(self, stream: Stream) -> list[dict] | None:
        """The bounds a resumable full load of the stream is cut into (pg_copy.plan_chunks); None for a small table."""
        with connect(self.config) as conn:
            return plan_chunks(
                conn,
                stream.namespace or "public",
                stream.name,
                parts=int(self.config.get("read_parallelism", 1)),
                chunk_rows=int(self.config.get("chunk_rows", 5_000_000)),
                by_key=self.config.get("chunk_by", "primary_key") != "pages",
            )

    def read_chunk(self, stream: Stream, bounds: dict, *, snapshot: str | None = None, opened: list | None = None):
        """The rows of one chunk; ``opened`` collects (connection, pump) so another thread can interrupt the read."""
        yield from self._read_one(stream, self._select(stream, None, where=chunk_condition(bounds)), snapshot, opened)

    @contextlib.contextmanager
    def chunk_snapshot(self) -> Iterator[str]:
        """An exported snapshot, held open while the block runs: every chunk read in it sees the table as of one moment."""
        with connect(self.config, autocommit=True) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn.execute("SELECT pg_export_snapshot()").fetchone()[0]

    def _read_one(self, stream: Stream, statement, snapshot: str | None, opened: list | None = None):
        """One COPY's batches; ``opened`` collects (connection, pump) so another thread can interrupt it."""
        # Binary columns come as hex, arrays as JSON text and decimals past 38 digits as text (Arrow's CSV
        # reader parses decimal128 only); everything else the CSV reader parses exactly.
        as_text = {
            column
            for column, column_type in stream.columns.items()
            if kind_of(column_type) in ("binary", "array") or pa.types.is_decimal256(arrow_type(column_type))
        }
        read_types = {
            column: (pa.string() if column in as_text else arrow_type(column_type)) for column, column_type in stream.columns.items()
        }
        schema = stream.arrow_schema
        conn, raw = self._open_copy(statement, snapshot)
        if opened is not None:
            opened.append((conn, raw))
        try:
            try:
                reader = self._csv_reader(raw, stream, read_types)
            except pa.ArrowInvalid as exc:
                if "Empty CSV" in str(exc):
                    return  # no rows: the table or the increment is empty
                raise
            for batch in reader:
                if as_text:
                    batch = _text_columns_to_schema(batch, as_text, schema)
                yield batch
        finally:
            raw.stop(conn)
            if conn is not None:
                conn.close()

    def _open_copy(self, statement, snapshot: str | None):
        """(connection or None, raw file) of the COPY: through psql when it is installed, else through libpq."""
        begin = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", f"SET TRANSACTION SNAPSHOT {sql.quote(snapshot)}"] if snapshot else []
        client = self.config.get("copy_client", "auto")
        if client == "psql" or (client == "auto" and psql_path()):
            return None, PsqlCopyReader(psql_environment(self.config), [*begin, statement.as_string(None)])
        conn = connect(self.config, autocommit=True)
        for command in begin:
            conn.execute(command)
        return conn, LibpqCopyReader(conn, statement.as_bytes(conn))

    def _read_in_chunks(self, stream: Stream, parts: int, snapshot: str | None):
        """Page ranges read on parallel connections in one snapshot; batches in the order they come."""
        coordinator = connect(self.config, autocommit=True)
        try:
            if snapshot is None:  # the coordinator's transaction holds the exported snapshot until all are read
                coordinator.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                snapshot = coordinator.execute("SELECT pg_export_snapshot()").fetchone()[0]
            conditions = ctid_chunks(coordinator, stream.namespace or "public", stream.name, parts)
            if conditions is None:
                yield from self._read_one(stream, self._select(stream, None), snapshot)
                return
            opened: list = []
            readers = [self._read_one(stream, self._select(stream, None, where=condition), snapshot, opened) for condition in conditions]
            yield from _merged(readers, interrupt=lambda: [raw.interrupt(conn) for conn, raw in list(opened)])
        finally:
            coordinator.close()

    def _csv_reader(self, raw, stream: Stream, read_types: dict):
        return pacsv.open_csv(
            io.BufferedReader(raw, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(
                column_names=list(stream.columns), block_size=int(self.config.get("read_block_bytes", 4 << 20))
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=read_types,
                true_values=["t"],
                false_values=["f"],
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )


def _merged(readers, *, interrupt=lambda: None) -> Iterator[pa.RecordBatch]:
    """Batches of several readers, each drained by its own thread, as they come; the first failure stops all.

    On a failure or an early close, ``interrupt`` stops the others' COPYs, so no thread is left
    waiting on a server.
    """
    readers = list(readers)
    out: queue.Queue = queue.Queue(maxsize=2 * len(readers))
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def drain(reader):
        try:
            for batch in reader:
                if not put(batch):
                    return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming side, which raises it
            put(exc)
        finally:
            reader.close()

    threads = [threading.Thread(target=drain, args=(reader,), daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < len(threads):
            item = out.get()
            if item is done:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        interrupt()
        for thread in threads:
            thread.join(timeout=15)


def _text_columns_to_schema(batch: pa.RecordBatch, columns: set[str], schema: pa.Schema) -> pa.RecordBatch:
    """Hex text to bytes, wide decimals' text to decimal256, JSON text of arrays to lists (numbers kept exact)."""
    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if field.name in columns:
            values = column.to_pylist()
            if pa.types.is_binary(field.type):
                column = pa.array([None if v is None else bytes.fromhex(v) for v in values], type=pa.binary())
            elif pa.types.is_decimal(field.type):
                column = column.cast(field.type)
            else:
                column = _json_lists(values, field.type)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _json_lists(values: list, target: pa.DataType) -> pa.Array:
    element = target.value_type
    parsed = [None if v is None else json.loads(v, parse_float=decimal.Decimal) for v in values]
    if pa.types.is_integer(element) or pa.types.is_floating(element) or pa.types.is_boolean(element) or pa.types.is_decimal(element):
        return pa.array(parsed, type=target)
    texts = [None if v is None else [None if item is None else _element_text(item) for item in v] for v in parsed]
    return pa.array(texts, type=pa.list_(pa.string())).cast(target)


def _element_text(item) -> str:
    """An array element as its text: numbers as written (1.50 stays 1.50), JSON documents as JSON."""
    if isinstance(item, str):
        return item
    if isinstance(item, (dict, list, bool)):
        return json.dumps(item)
    return str(item)


class PostgresDestination(DestinationConnector):
    type = "postgres"
    title = "PostgreSQL"
    merges_changes = True
    spec = {
        "type": "object",
        "title": "PostgreSQL destination",
        "required": ["host", "database", "username"],
        "properties": {**CONNECTION_SPEC, "schema": {"type": "string", "default": "public", "title": "Target schema"}},
        "additionalProperties": False,
    }

    def check(self) -> None:
        with connect(self.config) as conn:
            conn.execute("CREATE TEMP TABLE d2d_check (id int)")

    def open_stream(self, stream: Stream, *, mode: str, generation: int) -> StreamWriter:
        return _PostgresWriter(self.config, stream, mode)

    def clear_stream(self, stream: Stream) -> None:
        schema = self.config.get("schema") or "public"
        table = stream.destination_name or stream.name
        # A replace run loads into <table[:40]>__d2d_<token> inside one transaction, so another
        # run's load table is never visible here: any found was left behind.
        staging = re.compile(rf"{re.escape(table[:40])}__d2d_[0-9a-f]{{8}}")
        with connect(self.config) as conn:
            names = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND starts_with(tablename, %s)",
                [schema, f"{table[:40]}__d2d_"],
            ).fetchall()
            for name in [table, *(name for (name,) in names if staging.fullmatch(name))]:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))


class _PostgresWriter(StreamWriter):
    """Everything happens in one transaction: readers see the old table until the commit in publish."""

    def __init__(self, config: dict, stream: Stream, mode: str):
        self.mode = mode
        self.stream = stream
        if mode == "merge":  # the table holds the rows; the change columns live in the staging table only
            stream = dataclasses.replace(stream, columns={c: t for c, t in stream.columns.items() if c not in CDC_COLUMNS})
            self.stream = stream
        self.schema_name = config.get("schema") or "public"
        self.table = stream.destination_name or stream.name
        self.conn = connect(config)
        self.columns = list(stream.columns)
        self.binary = [c for c, t in stream.columns.items() if kind_of(t) == "binary"]
        self.arrays = [c for c, t in stream.columns.items() if kind_of(t) == "array"]
        token = uuid.uuid4().hex[:8]
        ident = sql.Identifier
        target = ident(self.schema_name, self.table)
        self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident(self.schema_name)))
        if mode == "replace":
            self.load_table = ident(self.schema_name, f"{self.table[:40]}__d2d_{token}")
            self.conn.execute(self._create(self.load_table, f"{self.table[:40]}_pk_{token}", if_not_exists=False))
        else:
            self.conn.execute(self._create(target, f"{self.table[:40]}_pk_{token}", if_not_exists=True))
            self.load_table = ident(f"d2d_stage_{token}")
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(self.load_table, target)
            )
        if mode == "merge":
            self.conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} text, ADD COLUMN {} bigint").format(
                    self.load_table, ident(CDC_OPERATION), ident(CDC_POSITION)
                )
            )
            self.columns = [*self.columns, CDC_OPERATION, CDC_POSITION]
        self.copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            self.load_table, sql.SQL(", ").join(map(ident, self.columns))
        )

    def _create(self, table, pk_name: str, *, if_not_exists: bool):
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(sql_type(t))) for c, t in self.stream.columns.items()
        ]
        keys = [k for k in self.stream.primary_key if k in self.stream.columns]
        if keys:
            columns.append(
                sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(
                    sql.Identifier(pk_name), sql.SQL(", ").join(map(sql.Identifier, keys))
                )
            )
        create = "CREATE TABLE IF NOT EXISTS {} ({})" if if_not_exists else "CREATE TABLE {} ({})"
        return sql.SQL(create).format(table, sql.SQL(", ").join(columns))

    def write(self, batch: pa.RecordBatch) -> None:
        if self.binary:
            batch = _binary_to_hex(batch, self.binary)
        if self.arrays:
            batch = _lists_to_array_literals(batch, self.arrays)
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
        with self.conn.cursor().copy(self.copy_sql) as copy:
            copy.write(buffer.getbuffer())

    def publish(self) -> None:
        ident = sql.Identifier
        target = ident(self.schema_name, self.table)
        if self.mode == "merge":
            self._merge(target)
        elif self.mode == "replace":
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
            self.conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self.load_table, ident(self.table)))
        else:
            names = sql.SQL(", ").join(map(ident, self.columns))
            statement = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(target, names, names, self.load_table)
            keys = [k for k in self.stream.primary_key if k in self.stream.columns]
            if self.mode == "upsert" and keys:
                others = [c for c in self.columns if c not in keys]
                action = (
                    sql.SQL("DO UPDATE SET {}").format(
                        sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(ident(c), ident(c)) for c in others)
                    )
                    if others
                    else sql.SQL("DO NOTHING")
                )
                statement += sql.SQL(" ON CONFLICT ({}) {}").format(sql.SQL(", ").join(map(ident, keys)), action)
            self.conn.execute(statement)
        self.conn.commit()
        self.conn.close()

    def _merge(self, target) -> None:
        """Apply the staged changes: per key the last change (by LSN) wins; a delete removes the row."""
        ident = sql.Identifier
        keys = sql.SQL(", ").join(map(ident, self.stream.primary_key))
        last = sql.SQL("(SELECT DISTINCT ON ({}) * FROM {} ORDER BY {}, {} DESC) AS last").format(
            keys, self.load_table, keys, ident(CDC_POSITION)
        )
        match = sql.SQL(" AND ").join(sql.SQL("t.{} = last.{}").format(ident(k), ident(k)) for k in self.stream.primary_key)
        self.conn.execute(
            sql.SQL("DELETE FROM {} AS t USING {} WHERE last.{} = 'd' AND {}").format(target, last, ident(CDC_OPERATION), match)
        )
        names = [c for c in self.stream.columns]
        others = [c for c in names if c not in self.stream.primary_key]
        action = (
            sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(ident(c), ident(c)) for c in others))
            if others
            else sql.SQL("DO NOTHING")
        )
        columns = sql.SQL(", ").join(map(ident, names))
        self.conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE last.{} <> 'd' ON CONFLICT ({}) {}").format(
                target, columns, columns, last, ident(CDC_OPERATION), keys, action
            )
        )

    def abort(self) -> None:
        if not self.conn.closed:
            try:
                self.conn.rollback()
            finally:
                self.conn.close()


def _binary_to_hex(batch: pa.RecordBatch, columns: list[str]) -> pa.RecordBatch:
    arrays = []
    for name in batch.schema.names:
        column = batch.column(name)
        if name in columns:
            column = pa.array([None if v is None else "\\x" + v.hex() for v in column.to_pylist()], type=pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _lists_to_array_literals(batch: pa.RecordBatch, columns: list[str]) -> pa.RecordBatch:
    """List columns as PostgreSQL array literals ({1,2,NULL}, {"a \\"b\\""}), which COPY reads into T[]."""
    arrays = []
    for name in batch.schema.names:
        column = batch.column(name)
        if name in columns:
            column = pa.array([None if v is None else _array_literal(v) for v in column.to_pylist()], type=pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _array_literal(items: list) -> str:
    def element(item) -> str:
        if item is None:
            return "NULL"
        if isinstance(item, bool):
            return "t" if item else "f"
        text = item.isoformat() if hasattr(item, "isoformat") else str(item)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(element(item) for item in items) + "}"
