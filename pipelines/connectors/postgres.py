"""PostgreSQL source (COPY streamed through Arrow's CSV reader) and destination (COPY in, atomic swap or upsert)."""

import io
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
    ARROW_TYPES,
    CheckFailed,
    DestinationConnector,
    SourceConnector,
    Stream,
    StreamWriter,
    catalog_stream,
)
from pipelines.connectors.hosts import database_address

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

KIND_OF_TYPE = {
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "real": "number",
    "double precision": "number",
    "numeric": "decimal",
    "boolean": "boolean",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp",
    "date": "date",
    "bytea": "binary",
    "json": "json",
    "jsonb": "json",
}
SQL_TYPE_OF_KIND = {
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "string": "text",
    "decimal": "numeric",
    "json": "jsonb",
    "timestamp": "timestamptz",
    "date": "date",
    "binary": "bytea",
}


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
                """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
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
        for schema, table, column, data_type in columns:
            tables.setdefault((schema, table), {})[column] = KIND_OF_TYPE.get(data_type, "string")
        primary: dict[tuple, list] = {}
        for schema, table, column in keys:
            primary.setdefault((schema, table), []).append(column)
        return [
            catalog_stream(name=table, namespace=schema, columns=cols, primary_key=primary.get((schema, table)))
            for (schema, table), cols in tables.items()
        ]

    def _select(self, stream: Stream, cursor_after):
        expressions = []
        for column, kind in stream.columns.items():
            ident = sql.Identifier(column)
            if kind == "timestamp":
                expressions.append(sql.SQL("{}::timestamptz").format(ident))
            elif kind == "binary":
                expressions.append(sql.SQL("encode({}, 'hex')").format(ident))
            elif kind in ("string", "json", "decimal"):
                expressions.append(sql.SQL("{}::text").format(ident))
            else:
                expressions.append(ident)
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(expressions), sql.Identifier(stream.namespace or "public", stream.name)
        )
        if cursor_after is not None and stream.cursor_field:
            query += sql.SQL(" WHERE {} > {}").format(sql.Identifier(stream.cursor_field), sql.Literal(cursor_after))
        return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)

    def read(self, stream: Stream, *, cursor_after=None, tick=None):
        statement = self._select(stream, cursor_after)
        read_types = {
            column: (pa.string() if kind == "binary" else ARROW_TYPES[kind]) for column, kind in stream.columns.items()
        }
        binary = [column for column, kind in stream.columns.items() if kind == "binary"]
        schema = stream.arrow_schema
        conn = connect(self.config, autocommit=True)
        raw = None
        try:
            raw = _CopyReader(conn, statement.as_bytes(conn))
            try:
                reader = self._csv_reader(raw, stream, read_types)
            except pa.ArrowInvalid as exc:
                if "Empty CSV" in str(exc):
                    return  # no rows: the table or the increment is empty
                raise
            for batch in reader:
                if binary:
                    batch = _hex_to_binary(batch, binary, schema)
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


def _hex_to_binary(batch: pa.RecordBatch, columns: list[str], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for name in schema.names:
        column = batch.column(name)
        if name in columns:
            column = pa.array([None if v is None else bytes.fromhex(v) for v in column.to_pylist()], type=pa.binary())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class PostgresDestination(DestinationConnector):
    type = "postgres"
    title = "PostgreSQL"
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
        self.stream, self.mode = stream, mode
        self.schema_name = config.get("schema") or "public"
        self.table = stream.destination_name or stream.name
        self.conn = connect(config)
        self.columns = list(stream.columns)
        self.binary = [c for c, k in stream.columns.items() if k == "binary"]
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
        self.copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            self.load_table, sql.SQL(", ").join(map(ident, self.columns))
        )

    def _create(self, table, pk_name: str, *, if_not_exists: bool):
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(SQL_TYPE_OF_KIND[k])) for c, k in self.stream.columns.items()
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
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
        with self.conn.cursor().copy(self.copy_sql) as copy:
            copy.write(buffer.getbuffer())

    def publish(self) -> None:
        ident = sql.Identifier
        target = ident(self.schema_name, self.table)
        if self.mode == "replace":
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

