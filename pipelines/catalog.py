"""streams_config: read it in d2d's or OLake's shape, check it against a discovered catalog, merge re-discoveries."""

import copy

from kernel.errors import DomainError
from pipelines.connectors.base import Stream
from pipelines.connectors.types import type_of_property

SYNC_MODES = ("full_refresh", "incremental", "cdc")
# OLake's per-stream settings, kept with the stream so they come back as they were chosen:
# append_mode makes an incremental stream append instead of upserting by its primary key;
# normalization (flattening nested JSON) changes nothing for d2d's flat relational sources.
OLAKE_CHOICES = ("append_mode", "normalization", "partition_regex", "filter")
USER_CHOICES = ("selected", "sync_mode", "cursor_field", "primary_key", "columns", "destination_name", *OLAKE_CHOICES)


def stream_key(stream: dict) -> str:
    namespace = stream.get("namespace") or ""
    return f"{namespace}.{stream['name']}" if namespace else stream["name"]


def _flatten(item: dict, selected: dict | None) -> dict:
    """One stream entry; accepts OLake's {"stream": {...}} wrapping and its selected_streams map."""
    inner = dict(item.get("stream", item))
    if "name" not in inner and "stream_name" in inner:
        inner["name"] = inner["stream_name"]
    if "json_schema" not in inner and "type_schema" in inner:
        inner["json_schema"] = inner["type_schema"]
    if "destination_name" not in inner and inner.get("destination_table"):
        inner["destination_name"] = inner["destination_table"]
    if isinstance(inner.get("cursor_field"), str):
        # OLake writes "primary:fallback"; d2d's cursor is the primary column, and "" means none.
        inner["cursor_field"] = inner["cursor_field"].split(":", 1)[0] or None
    if selected is not None and "selected" not in inner:
        entries = selected.get(inner.get("namespace") or "", [])
        chosen = {(e.get("stream_name") if isinstance(e, dict) else e): e for e in entries}
        inner["selected"] = inner.get("name") in chosen
        entry = chosen.get(inner.get("name"))
        if isinstance(entry, dict):
            for name in OLAKE_CHOICES:
                if name in entry and name not in inner:
                    inner[name] = entry[name]
        columns = (entry.get("selected_columns") or {}).get("columns") if isinstance(entry, dict) else None
        if columns:
            every = set(inner.get("json_schema", {}).get("properties", {}))
            inner["columns"] = None if set(columns) == every else list(columns)
    return inner


def normalize(streams_config) -> list[dict]:
    """The stream entries of a streams_config (dict with "streams", or a bare list)."""
    if streams_config in (None, "", {}):
        return []
    if isinstance(streams_config, list):
        items, selected = streams_config, None
    elif isinstance(streams_config, dict) and isinstance(streams_config.get("streams"), list):
        items, selected = streams_config["streams"], streams_config.get("selected_streams")
    else:
        raise DomainError("streams_config must be an object with a 'streams' list", field="streams_config")
    streams = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DomainError(f"streams_config.streams[{index}] must be an object", field="streams_config")
        stream = _flatten(item, selected)
        if not stream.get("name"):
            raise DomainError(f"streams_config.streams[{index}] has no name", field="streams_config")
        streams.append(stream)
    return streams


def validate(streams_config, discovered: list[dict]) -> dict:
    """The job's catalog: the discovered streams with the user's choices, or a 400 naming what is unknown.

    Without a streams_config every discovered stream is selected for full refresh.
    """
    known = {stream_key(s): s for s in discovered}
    chosen = normalize(streams_config)
    if not chosen:
        return {"streams": copy.deepcopy(discovered)}
    result = []
    for choice in chosen:
        key = stream_key(choice)
        if key not in known and not choice.get("namespace"):
            # A name without a namespace matches the one stream of that name.
            matches = [s for s in discovered if s["name"] == choice["name"]]
            if len(matches) == 1:
                key = stream_key(matches[0])
        if key not in known:
            raise DomainError(f"unknown stream {key!r}: the source has no such table or file", field="streams_config")
        stream = copy.deepcopy(known[key])
        for name in USER_CHOICES:
            if name in choice and choice[name] is not None:
                stream[name] = choice[name]
        _check_stream(stream)
        result.append(stream)
    return {"streams": result}


def _check_stream(stream: dict) -> None:
    key = stream_key(stream)
    for name in ("partition_regex", "filter"):
        if stream.get(name):
            # Refused rather than ignored: a sync that skipped them would not be what the user asked for.
            raise DomainError(f"stream {key!r}: d2d does not apply {name} yet; leave it empty", field="streams_config")
    for name in ("append_mode", "normalization"):
        if not isinstance(stream.get(name, False), bool):
            raise DomainError(f"stream {key!r}: {name} must be true or false", field="streams_config")
    columns = stream["json_schema"].get("properties", {})

    def need_columns(names, what):
        for name in names:
            if name not in columns:
                raise DomainError(f"unknown column {name!r} in stream {key!r} ({what})", field="streams_config")

    if stream.get("columns") is not None:
        if not isinstance(stream["columns"], list) or not stream["columns"]:
            raise DomainError(f"stream {key!r}: columns must be a non-empty list", field="streams_config")
        need_columns(stream["columns"], "columns")
    if stream.get("sync_mode") not in SYNC_MODES:
        raise DomainError(f"stream {key!r}: sync_mode must be one of {', '.join(SYNC_MODES)}", field="streams_config")
    primary_key = stream.get("primary_key") or []
    if isinstance(primary_key, str):
        primary_key = stream["primary_key"] = [primary_key]
    need_columns(primary_key, "primary_key")
    if stream["sync_mode"] not in stream.get("supported_sync_modes", SYNC_MODES[:2]):
        raise DomainError(f"stream {key!r}: its source does not offer {stream['sync_mode']}", field="streams_config")
    if stream["sync_mode"] == "cdc" and not primary_key:
        raise DomainError(f"stream {key!r}: cdc needs a primary key, to apply updates and deletes", field="streams_config")
    cursor = stream.get("cursor_field")
    if isinstance(cursor, list):  # Airbyte writes the cursor as a path
        cursor = stream["cursor_field"] = cursor[0] if cursor else None
    if stream["sync_mode"] == "incremental":
        if not cursor:
            raise DomainError(f"stream {key!r}: incremental needs a cursor_field", field="streams_config")
        need_columns([cursor], "cursor_field")
        if cursor not in stream.get("available_cursor_fields", []):
            raise DomainError(f"column {cursor!r} of stream {key!r} cannot be a cursor", field="streams_config")
    elif cursor:
        need_columns([cursor], "cursor_field")
    selected_columns = stream.get("columns")
    if selected_columns is not None:
        for name in [*primary_key, *([cursor] if cursor else [])]:
            if name not in selected_columns:
                raise DomainError(f"stream {key!r}: column {name!r} is a key or cursor, so it must be selected", field="streams_config")
    if not isinstance(stream.get("destination_name") or stream["name"], str):
        raise DomainError(f"stream {key!r}: destination_name must be text", field="streams_config")


def merge(saved, discovered: list[dict]) -> dict:
    """A re-discovery that keeps the user's choices for streams and columns that still exist."""
    previous = {stream_key(s): s for s in normalize(saved)}
    merged = []
    for stream in discovered:
        stream = copy.deepcopy(stream)
        old = previous.get(stream_key(stream))
        if old:
            columns = stream["json_schema"].get("properties", {})
            for name in USER_CHOICES:
                if name in old and old[name] is not None:
                    stream[name] = old[name]
            if stream.get("cursor_field") not in columns:
                stream["cursor_field"], stream["sync_mode"] = None, "full_refresh"
            stream["primary_key"] = [c for c in stream.get("primary_key") or [] if c in columns]
            if stream.get("columns"):
                stream["columns"] = [c for c in stream["columns"] if c in columns] or None
        else:
            stream["selected"] = not previous  # new tables join only a catalog nobody has chosen from yet
        merged.append(stream)
    return {"streams": merged}


def selected_streams(catalog: dict) -> list[Stream]:
    streams = []
    for entry in normalize(catalog):
        if not entry.get("selected", True):
            continue
        properties = entry["json_schema"].get("properties", {})
        order = [c for c in entry.get("column_order") or [] if c in properties]
        order += [c for c in properties if c not in order]
        chosen = entry.get("columns")
        names = [c for c in order if c in chosen] if chosen else order
        streams.append(
            Stream(
                name=entry["name"],
                namespace=entry.get("namespace") or "",
                columns={name: type_of_property(properties[name]) for name in names},
                sync_mode=entry.get("sync_mode") or "full_refresh",
                cursor_field=entry.get("cursor_field"),
                primary_key=list(entry.get("primary_key") or []),
                destination_name=entry.get("destination_name") or entry["name"],
                append_mode=bool(entry.get("append_mode", False)),
            )
        )
    return streams


def to_olake(catalog) -> dict:
    """A job's catalog in the OLake server's shape: wrapped streams and a selected_streams map by namespace.

    ``normalize`` reads this shape back, so a catalog survives the UI's round trip; d2d's own
    keys (column_order, primary_key, columns) ride along inside each stream.
    """
    streams, selected = [], {}
    for entry in normalize(catalog):
        properties = entry.get("json_schema", {}).get("properties", {})
        stream = {
            **{k: v for k, v in entry.items() if k not in ("json_schema", "selected", "destination_name", "columns", *OLAKE_CHOICES)},
            "type_schema": {"properties": properties},
            "supported_sync_modes": list(entry.get("supported_sync_modes") or SYNC_MODES),
            "source_defined_primary_key": list(entry.get("source_defined_primary_key") or []),
            "available_cursor_fields": list(entry.get("available_cursor_fields") or []),
            "cursor_field": entry.get("cursor_field") or "",
            "sync_mode": entry.get("sync_mode") or "full_refresh",
            "destination_database": entry.get("namespace") or "",
            "destination_table": entry.get("destination_name") or entry["name"],
        }
        streams.append({"stream": stream})
        if entry.get("selected", True):
            columns = entry.get("columns") or list(properties)
            selected.setdefault(entry.get("namespace") or "", []).append(
                {
                    "stream_name": entry["name"],
                    "partition_regex": entry.get("partition_regex") or "",
                    "normalization": bool(entry.get("normalization", False)),
                    "append_mode": bool(entry.get("append_mode", False)),
                    "filter": entry.get("filter") or "",
                    "selected_columns": {"columns": list(columns), "sync_new_columns": not entry.get("columns")},
                }
            )
    return {"selected_streams": selected, "streams": streams}
