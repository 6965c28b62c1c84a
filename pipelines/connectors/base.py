"""The interface every connector implements; the column types they share are pipelines.connectors.types."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.connectors.types import CURSOR_KINDS, arrow_type, json_schema, kind_of

# The columns a change batch adds to its stream's (OLake's names): c, u or d, and the change's LSN.
CDC_OPERATION = "_op_type"
CDC_POSITION = "_cdc_lsn"
CDC_COLUMNS = {CDC_OPERATION: "string", CDC_POSITION: "integer"}
# What a source offers for a table with a primary key when it can capture changes.
CDC_SYNC_MODES = ["full_refresh", "incremental", "cdc"]


class CheckFailed(Exception):
    """A connector could not reach or use what its config describes; the message says why."""


def catalog_stream(
    *, name: str, namespace: str, columns: dict[str, str], primary_key: list[str] | None = None, sync_modes=None
) -> dict:
    """A discovered stream in d2d's catalog shape (the user's choices get defaults); columns map to types."""
    primary_key = list(primary_key or [])
    return {
        "name": name,
        "namespace": namespace,
        "json_schema": {"type": "object", "properties": {col: json_schema(column_type) for col, column_type in columns.items()}},
        # JSON objects (and PostgreSQL's jsonb) do not keep key order: the column order is kept here.
        "column_order": list(columns),
        "supported_sync_modes": list(sync_modes or ["full_refresh", "incremental"]),
        "source_defined_primary_key": primary_key,
        "available_cursor_fields": [col for col, column_type in columns.items() if kind_of(column_type) in CURSOR_KINDS],
        "selected": True,
        "sync_mode": "full_refresh",
        "cursor_field": None,
        "primary_key": primary_key,
        "columns": None,
        "destination_name": name,
    }


@dataclass
class Stream:
    """One stream as a sync moves it: selected columns with their types, and the user's choices."""

    name: str
    namespace: str
    columns: dict[str, str]
    sync_mode: str = "full_refresh"
    cursor_field: str | None = None
    primary_key: list[str] = field(default_factory=list)
    destination_name: str = ""
    append_mode: bool = False  # incremental rows are appended, not upserted by the primary key

    @property
    def key(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(col, arrow_type(column_type)) for col, column_type in self.columns.items()])


Tick = Callable[[], None]


class Connector(ABC):
    type: str = ""
    title: str = ""
    versions: tuple[str, ...] = ("latest", "v1.0.0")
    spec: dict = {}
    # How many streams discover() may infer at once (a job's max_discover_threads). Sources whose
    # discovery reads every stream's data (files) spread that over this many threads; database
    # sources read their whole catalog in one query and have nothing to spread.
    discover_threads: int = 1

    @classmethod
    def config_problem(cls, config: dict) -> str | None:
        """What is wrong with a config past its JSON schema (a 400 says it), or None."""
        return None

    def __init__(self, config: dict, *, root: str = ""):
        # root: the storage folder file paths are relative to (a project's own), "" for all of it
        self.config = config
        self.root = root

    @abstractmethod
    def check(self) -> None:
        """Raise CheckFailed with the cause when the config cannot be used."""


def each_at_once(function: Callable, items: list, threads: int) -> list:
    """``function`` over ``items``, up to ``threads`` calls at a time; results in the items' order.

    The first error (in the items' order) is raised once every call has ended, so no thread is
    left reading after discovery answers.
    """
    threads = max(1, min(int(threads or 1), len(items)))
    if threads == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="d2d-discover") as pool:
        futures = [pool.submit(function, item) for item in items]
        wait(futures)
    return [future.result() for future in futures]


class SourceConnector(Connector):
    @abstractmethod
    def discover(self) -> list[dict]:
        """The streams this source offers, as ``catalog_stream`` dicts."""

    @abstractmethod
    def read(self, stream: Stream, *, cursor_after=None, tick: Tick | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches of ``stream.arrow_schema``; with ``cursor_after``, only rows past it."""


class StreamWriter(ABC):
    """Writes one stream somewhere private; ``publish`` makes it visible at once, ``abort`` forgets it."""

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None:
        """Add a batch to the private copy."""

    @abstractmethod
    def publish(self) -> None:
        """Make everything written visible in one step."""

    @abstractmethod
    def abort(self) -> None:
        """Forget everything written; nothing becomes visible."""


class DestinationConnector(Connector):
    # Whether open_stream takes mode "merge": a batch of changes (CDC_COLUMNS added) applied to the
    # rows by primary key, the last change of a key winning. Other destinations append the changes.
    merges_changes = False

    @abstractmethod
    def open_stream(self, stream: Stream, *, mode: str, generation: int) -> StreamWriter:
        """mode: "replace" (full refresh), "append" or "upsert" (incremental, upsert needs a primary key),
        or "merge" (CDC changes, where ``merges_changes``).

        ``generation`` names an increment, so a retried increment replaces its failed twin.
        """

    @abstractmethod
    def clear_stream(self, stream: Stream) -> None:
        """Remove everything syncs of ``stream`` wrote here, leftovers of failed runs included.

        Clearing what is not there succeeds, so a retried clear does no harm.
        """


ZONE_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)$"


def text_to_timestamp(array: pa.Array, target: pa.DataType = arrow_type("timestamp")) -> pa.Array:
    """ISO timestamps in text, with a zone offset or without one (then taken as UTC), or some of each."""
    try:
        return array.cast(target)
    except pa.ArrowInvalid:
        pass
    try:
        return array.cast(pa.timestamp("us")).cast(target)
    except pa.ArrowInvalid:
        pass
    zoned = pc.fill_null(pc.match_substring_regex(array, ZONE_OFFSET), False)
    instants = pc.if_else(zoned, array, pa.scalar(None, pa.string())).cast(pa.timestamp("us", tz="UTC"))
    walls = pc.if_else(zoned, pa.scalar(None, pa.string()), array).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return pc.coalesce(instants, walls).cast(target)


def to_schema(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a batch onto the stream's schema (column order and types), naming the column that refuses."""
    if batch.schema.equals(schema):
        return batch
    arrays = []
    for target in schema:
        index = batch.schema.get_field_index(target.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, target.type))
            continue
        column = batch.column(index)
        try:
            if column.type.equals(target.type):
                arrays.append(column)
            elif pa.types.is_string(column.type) and pa.types.is_timestamp(target.type):
                arrays.append(text_to_timestamp(column, target.type))
            else:
                arrays.append(column.cast(target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"column {target.name}: cannot read {column.type} as {target.type}: {exc}") from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
