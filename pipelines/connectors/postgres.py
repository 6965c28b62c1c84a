"""PostgreSQL source (COPY streamed through Arrow's CSV reader) and destination (COPY in, atomic swap or upsert)."""

import decimal
import io
import json
import queue
import re
import select
import threading
import uuid

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import pq, sql

from pipelines.connectors.base import (
    CDC_COLUMNS,
    CDC_OPERATION,
    CDC_POSITION,
    CheckFailed,
    DestinationConnector,
    SourceConnector,
    Stream,
    StreamWriter,
    catalog_stream,
)
from pipelines.connectors.hosts import database_address
from pipelines.connectors.pg_cdc import PostgresChangeReader
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

CDC_SYNC_MODES = ["full_refresh", "incremental", "cdc"]

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
            options="-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3",
            **extra,
        )
    except psycopg.OperationalError as exc:
        raise CheckFailed(f"cannot connect to PostgreSQL at {config.get('host')}:{config.get('port', 5432)}: {exc}".strip()) from exc


class _CopyReader(io.RawIOBase):
    """COPY ... TO STDOUT as a file for Arrow's CSV reader.

    A thread drains the COPY into large blocks while Arrow parses the previous block, so the
    two halves of the work overlap. libpq hands over one row per call, so the thread talks to
    psycopg's libpq wrapper (``pgconn``) directly: the cheapest Python call per row there is.
    It waits for the socket with select(), which lets the other threads run meanwhile.
    """

    BLOCK = 1 << 20

    # No cancel check in here: Arrow calls read() from its own read-ahead thread, where a
    # database query would open a connection nobody closes. The engine checks between batches.
    def __init__(self, connection, statement: bytes):
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._buffer = memoryview(b"")
        self._stop = threading.Event()
        self._hungry = False
        self._thread = threading.Thread(target=self._pump, args=(connection, statement), daemon=True)
        self._thread.start()

    def _pump(self, connection, statement: bytes):
        pgconn = connection.pgconn
        encoding = connection.info.encoding
        try:
            pgconn.send_query(statement)
            result = self._next_result(pgconn)
            if result.status != pq.ExecStatus.COPY_OUT:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
            get, block = pgconn.get_copy_data, bytearray()
            while True:
                nbytes, data = get(1)
                if nbytes > 0:
                    block += data
                    # A full block goes over; so does a partial one the reader is waiting for (a slow source).
                    if len(block) >= self.BLOCK or self._hungry:
                        self._hungry = False
                        self._put(block)
                        block = bytearray()
                        if self._stop.is_set():
                            return
                elif nbytes == 0:
                    select.select([pgconn.socket], [], [], 0.5)
                    pgconn.consume_input()
                else:
                    break
            result = self._next_result(pgconn)
            while self._next_result(pgconn) is not None:
                pass
            if result is None or result.status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
            if block:
                self._put(block)
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading side, which raises it
            self._put(exc)

    @staticmethod
    def _next_result(pgconn):
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [], 0.5)
            pgconn.consume_input()
        return pgconn.get_result()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def readable(self):
        return True

    def readinto(self, target):
        while not self._buffer:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return 0  # stopped early: end of file for Arrow's read-ahead thread
                self._hungry = True
                continue
            if item is None:
                self._queue.put(None)
                return 0
            if isinstance(item, BaseException):
                raise item
            self._buffer = memoryview(item)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def stop(self, connection) -> None:
        """Stop early (a cancel, or the reader gave up): cancel the server's COPY and let the thread end."""
        self._stop.set()
        if self._thread.is_alive():
            connection.cancel_safe()
            self._thread.join(timeout=10)


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

    def _select(self, stream: Stream, cursor_after):
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
            elif kind in ("string", "json") or column_type == "decimal":
                expressions.append(sql.SQL("{}::text").format(ident))
            else:
                expressions.append(ident)
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(expressions), sql.Identifier(stream.namespace or "public", stream.name)
        )
        if cursor_after is not None and stream.cursor_field:
            query += sql.SQL(" WHERE {} > {}").format(sql.Identifier(stream.cursor_field), sql.Literal(cursor_after))
        return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)

    def read(self, stream: Stream, *, cursor_after=None, tick=None, snapshot: str | None = None):
        """With ``snapshot`` (a CDC slot's exported snapshot), the rows as of the slot's creation."""
        statement = self._select(stream, cursor_after)
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
        conn = connect(self.config, autocommit=True)
        raw = None
        try:
            if snapshot:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            raw = _CopyReader(conn, statement.as_bytes(conn))
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
            if raw is not None:
                raw.stop(conn)
            conn.close()

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
            stream = Stream(**{**stream.__dict__, "columns": {c: t for c, t in stream.columns.items() if c not in CDC_COLUMNS}})
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
