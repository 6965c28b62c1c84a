"""MySQL and MariaDB source (PyMySQL, unbuffered cursor, batches of rows)."""

import datetime as dt

import pymysql
import pymysql.cursors

from pipelines.connectors.base import CDC_SYNC_MODES, CheckFailed, SourceConnector, Stream, catalog_stream
from pipelines.connectors.hosts import database_address
from pipelines.connectors.mysql_cdc import MySQLChangeReader
from pipelines.connectors.rows import rows_to_batch
from pipelines.connectors.types import decimal_type

# MySQL's data types and d2d's column types (pipelines.connectors.types). Integers keep their width,
# an unsigned one the next signed width; DATETIME is a wall-clock time, TIMESTAMP an instant (read in UTC).
TYPE_OF_DATA_TYPE = {
    "tinyint": "int16",
    "smallint": "int16",
    "mediumint": "int32",
    "int": "int32",
    "bigint": "integer",
    "year": "int16",
    "bit": "integer",
    "float": "float32",
    "double": "number",
    "date": "date",
    "datetime": "timestamp_ntz",
    "timestamp": "timestamp",
    "json": "json",
    "blob": "binary",
    "tinyblob": "binary",
    "mediumblob": "binary",
    "longblob": "binary",
    "binary": "binary",
    "varbinary": "binary",
}
UNSIGNED_WIDER = {"smallint": "int32", "mediumint": "int32", "int": "integer", "bigint": "decimal(20,0)"}


def column_type_of(data_type: str, column_type: str, precision: int | None, scale: int | None) -> str:
    """d2d's column type of a MySQL column, from information_schema.columns."""
    data_type = data_type.lower()
    if data_type == "decimal":
        return decimal_type(precision, scale)
    if "unsigned" in column_type.lower() and data_type in UNSIGNED_WIDER:
        return UNSIGNED_WIDER[data_type]
    return TYPE_OF_DATA_TYPE.get(data_type, "string")


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySQLSource(SourceConnector):
    type = "mysql"
    title = "MySQL"
    spec = {
        "type": "object",
        "title": "MySQL / MariaDB source",
        "required": ["host", "database", "username"],
        "properties": {
            "host": {"type": "string", "title": "Host"},
            "port": {"type": "integer", "default": 3306, "minimum": 1, "maximum": 65535},
            "database": {"type": "string", "title": "Database"},
            "username": {"type": "string", "title": "User"},
            "password": {"type": "string", "format": "password", "secret": True, "default": ""},
            "batch_size": {"type": "integer", "default": 10000, "minimum": 1, "title": "Rows per Arrow batch"},
        },
        "additionalProperties": False,
    }

    # connect_timeout covers only the TCP connect: a port that accepts and never answers (not a
    # MySQL server) would hang the handshake for good. Checks and discovery answer a person
    # waiting on the API, so their reads are bounded; a sync's reads are bounded by the task timeout.
    INTERACTIVE_READ_SECONDS = 30

    def __init__(self, config: dict, *, root: str = ""):
        super().__init__(config, root=root)
        self.snapshots: dict[str, pymysql.connections.Connection] = {}  # CDC loads' consistent snapshots, by token

    def address(self) -> str:
        """The checked address of the host (connect there, not to a new DNS answer)."""
        return database_address(self.config["host"], int(self.config.get("port", 3306)))

    def primary_keys(self, tables: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """Each (database, table)'s primary key columns, in key order."""
        conn = self.connect(read_timeout=self.INTERACTIVE_READ_SECONDS, write_timeout=self.INTERACTIVE_READ_SECONDS)
        keys: dict[tuple[str, str], list[str]] = {}
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT table_schema, table_name, column_name FROM information_schema.key_column_usage "
                    "WHERE constraint_name = 'PRIMARY' AND table_schema IN %s ORDER BY table_schema, table_name, ordinal_position",
                    [sorted({schema for schema, _ in tables}) or [""]],
                )
                for schema, table, column in cursor.fetchall():
                    keys.setdefault((schema, table), []).append(column)
        finally:
            conn.close()
        return keys

    def change_reader(self, slot: str) -> MySQLChangeReader:
        return MySQLChangeReader(self, slot)

    def connect(self, **extra):
        config = self.config
        port = int(config.get("port", 3306))
        address = self.address()
        try:
            return pymysql.connect(
                host=address,
                port=port,
                user=config["username"],
                password=config.get("password") or "",
                database=config["database"],
                connect_timeout=10,
                init_command="SET time_zone = '+00:00'",
                **extra,
            )
        except pymysql.MySQLError as exc:
            raise CheckFailed(f"cannot connect to MySQL at {config.get('host')}:{config.get('port', 3306)}: {exc}") from exc

    def check(self) -> None:
        conn = self.connect(read_timeout=self.INTERACTIVE_READ_SECONDS, write_timeout=self.INTERACTIVE_READ_SECONDS)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            conn.close()

    def discover(self) -> list[dict]:
        database = self.config["database"]
        conn = self.connect(read_timeout=self.INTERACTIVE_READ_SECONDS, write_timeout=self.INTERACTIVE_READ_SECONDS)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT table_name, column_name, data_type, column_type, numeric_precision, numeric_scale "
                    "FROM information_schema.columns WHERE table_schema = %s ORDER BY table_name, ordinal_position",
                    [database],
                )
                columns = cursor.fetchall()
                cursor.execute(
                    "SELECT table_name, column_name FROM information_schema.key_column_usage "
                    "WHERE table_schema = %s AND constraint_name = 'PRIMARY' ORDER BY table_name, ordinal_position",
                    [database],
                )
                keys = cursor.fetchall()
        finally:
            conn.close()
        tables: dict[str, dict] = {}
        for table, column, data_type, column_type, precision, scale in columns:
            tables.setdefault(table, {})[column] = column_type_of(data_type, column_type, precision, scale)
        primary: dict[str, list] = {}
        for table, column in keys:
            primary.setdefault(table, []).append(column)
        return [
            catalog_stream(
                name=table,
                namespace=database,
                columns=cols,
                primary_key=primary.get(table),
                # CDC from the binlog applies updates and deletes by the primary key.
                sync_modes=CDC_SYNC_MODES if primary.get(table) else None,
            )
            for table, cols in tables.items()
        ]

    def read(self, stream: Stream, *, cursor_after=None, tick=None, snapshot: str | None = None):
        """With ``snapshot`` (a CDC load's token), read in that transaction WITH CONSISTENT SNAPSHOT."""
        database = stream.namespace or self.config["database"]
        query = f"SELECT {', '.join(quote(c) for c in stream.columns)} FROM {quote(database)}.{quote(stream.name)}"
        params = []
        if cursor_after is not None and stream.cursor_field:
            if isinstance(cursor_after, dt.datetime) and cursor_after.tzinfo is not None:
                cursor_after = cursor_after.astimezone(dt.UTC).replace(tzinfo=None)
            query += f" WHERE {quote(stream.cursor_field)} > %s"
            params.append(cursor_after)
        batch_size = int(self.config.get("batch_size", 10000))
        held = self.snapshots.get(snapshot) if snapshot else None
        conn = held or self.connect(cursorclass=pymysql.cursors.SSCursor)
        try:
            with conn.cursor(pymysql.cursors.SSCursor) as cursor:
                cursor.execute(query, params)
                while rows := cursor.fetchmany(batch_size):
                    if tick:
                        tick()
                    yield rows_to_batch(rows, stream)
        finally:
            if held is None:
                conn.close()


class MariaDBSource(MySQLSource):
    type = "mariadb"
    title = "MariaDB"
