"""Stream difference: the streams of an updated streams_config whose next sync would change what the job's destination holds."""

import copy
import json

from kernel.errors import DomainError
from pipelines import catalog
from pipelines.models import Job

# OLake keeps these choices per stream in selected_streams; one that is missing has OLake's default,
# so a config that never mentions them equals one that sends the defaults.
METADATA_DEFAULTS = {"normalization": False, "partition_regex": "", "append_mode": False, "filter": "", "filter_config": None}


def streams_difference(*, job: Job, updated_streams_config) -> dict:
    """The difference in OLake's wrapped form: ``{selected_streams: {namespace: [...]}, streams: [{stream: {...}}]}``.

    A stream is in it when the updated config selects it and the saved one did not, or when a
    choice that shapes the destination changed: sync_mode, cursor_field (incremental only),
    destination_name, primary_key (incremental only: d2d upserts by it), selected columns,
    normalization, partition_regex, append_mode or filter. Unselected streams are not in it (as
    in OLake, only the updated selection counts). A changed stream keeps its saved
    destination_name, since that is where its old rows are, and so what a clear must remove.
    """
    field = "updated_streams_config"
    if updated_streams_config in (None, "", b""):
        raise DomainError(f"{field} is required", field=field)
    updated = _streams(_parse_json(updated_streams_config, field), field)
    saved = _streams(job.streams_config, "streams_config")
    difference = {"selected_streams": {}, "streams": []}
    for key, (entry, metadata, raw) in updated.items():
        if not entry.get("selected", True):
            continue
        namespace = entry.get("namespace") or ""
        if key not in saved and not namespace:
            # As when a job is saved: a name without a namespace is the one stream of that name.
            matches = [other for other, (old, _, _) in saved.items() if old["name"] == entry["name"]]
            if len(matches) == 1:
                key, namespace = matches[0], saved[matches[0]][0].get("namespace") or ""
        old = saved.get(key)
        if old is not None and old[0].get("selected", True):
            if not _changed(old[0], old[1], entry, metadata):
                continue
            raw = _keep_old_destination(raw, old[0], old[2])
        stream = copy.deepcopy(raw)
        stream.setdefault("name", entry["name"])
        stream["namespace"] = namespace
        difference["streams"].append({"stream": stream})
        difference["selected_streams"].setdefault(namespace, []).append(_metadata_entry(entry, metadata))
    return difference


def difference_stream_keys(difference) -> list[str]:
    """The stream keys ("namespace.name") of a difference, as a job update sends it: a dict or a string of JSON.

    None, "", "{}" and an empty difference give no keys (nothing to clear).
    """
    field = "difference_streams"
    if difference in (None, "", b""):
        return []
    difference = _parse_json(difference, field)
    if isinstance(difference, list) and all(isinstance(key, str) for key in difference):
        return list(dict.fromkeys(difference))
    if isinstance(difference, dict) and isinstance(difference.get("selected_streams"), dict):
        keys = []
        for namespace, items in difference["selected_streams"].items():
            if not isinstance(items, list):
                raise DomainError(f"{field}.selected_streams.{namespace} must be a list", field=field)
            for item in items:
                name = item.get("stream_name") if isinstance(item, dict) else item
                if not isinstance(name, str) or not name:
                    raise DomainError(f"{field}.selected_streams.{namespace} has an entry without a stream_name", field=field)
                keys.append(f"{namespace}.{name}" if namespace else name)
        return list(dict.fromkeys(keys))
    if difference in ({}, []):
        return []
    return list(dict.fromkeys(key for key in _streams(difference, field)))


def _parse_json(value, field: str):
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise DomainError(f"{field} is not JSON: {exc}", field=field) from exc
    return value


def _streams(config, field: str) -> dict[str, tuple[dict, dict, dict]]:
    """Per stream key: its flattened entry, its selected_streams metadata and the stream as it was sent."""
    if config in (None, "", {}):
        return {}
    if not isinstance(config, (dict, list)):
        raise DomainError(f"{field} must be an object with a 'streams' list", field=field)
    items = config if isinstance(config, list) else config.get("streams")
    selected = config.get("selected_streams") if isinstance(config, dict) else None
    if selected is not None:
        _check_selected(selected, field)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict) and "stream" in item and not isinstance(item["stream"], dict):
                raise DomainError(f"{field}.streams[{index}].stream must be an object", field=field)
    try:
        entries = catalog.normalize(config)
    except DomainError as exc:
        raise DomainError(exc.message.replace("streams_config", field, 1), field=field) from exc
    except (AttributeError, TypeError, ValueError) as exc:  # a value of the wrong type somewhere inside a stream
        raise DomainError(f"{field} is malformed: {exc}", field=field) from exc
    result = {}
    for item, entry in zip(items, entries, strict=True):
        key = catalog.stream_key(entry)
        if not isinstance(entry.get("json_schema", {}), dict) or not isinstance(entry.get("columns") or [], list):
            raise DomainError(f"{field}: stream {key!r} has a schema or columns of the wrong type", field=field)
        raw = item.get("stream", item)
        metadata = raw  # d2d's flat form keeps such choices, if any, on the stream itself
        if selected is not None:
            chosen = [m for m in selected.get(entry.get("namespace") or "", []) if isinstance(m, dict)]
            metadata = next((m for m in chosen if m.get("stream_name") == entry["name"]), {})
        result[key] = (entry, metadata, raw)
    return result


def _check_selected(selected, field: str) -> None:
    if not isinstance(selected, dict):
        raise DomainError(f"{field}.selected_streams must be an object of namespaces", field=field)
    for namespace, items in selected.items():
        if not isinstance(items, list):
            raise DomainError(f"{field}.selected_streams.{namespace} must be a list", field=field)
        for item in items:
            name = item.get("stream_name") if isinstance(item, dict) else item
            if not isinstance(name, str):
                raise DomainError(f"{field}.selected_streams.{namespace} has an entry without a stream_name", field=field)


def _cursor(entry: dict):
    cursor = entry.get("cursor_field")
    if isinstance(cursor, list):  # Airbyte writes the cursor as a path
        cursor = cursor[0] if cursor else None
    return cursor or None


def _columns(entry: dict) -> set[str] | None:
    """The selected columns; None when all are (then new columns of the source join too)."""
    columns = entry.get("columns")
    return set(columns) if columns else None


def _choice(metadata: dict, name: str):
    value = metadata.get(name)
    return METADATA_DEFAULTS[name] if value in (None, "", {}) else value


def _changed(old: dict, old_metadata: dict, new: dict, new_metadata: dict) -> bool:
    mode = new.get("sync_mode") or "full_refresh"
    if (old.get("sync_mode") or "full_refresh") != mode:
        return True
    if mode == "incremental" and (
        _cursor(old) != _cursor(new) or list(old.get("primary_key") or []) != list(new.get("primary_key") or [])
    ):
        return True
    if (old.get("destination_name") or old["name"]) != (new.get("destination_name") or new["name"]):
        return True
    old_columns, new_columns = _columns(old), _columns(new)
    if old_columns != new_columns and (old_columns is not None or new_columns is not None):
        every_old = set(old.get("json_schema", {}).get("properties", {}))
        every_new = set(new.get("json_schema", {}).get("properties", {}))
        if (old_columns or every_old) != (new_columns or every_new):
            return True
    return any(_choice(old_metadata, name) != _choice(new_metadata, name) for name in METADATA_DEFAULTS)


def _keep_old_destination(raw: dict, old: dict, old_raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    destination = old.get("destination_name") or old["name"]
    raw["destination_table"] = destination
    if "destination_name" in raw:
        raw["destination_name"] = destination
    if "destination_database" in old_raw:
        raw["destination_database"] = old_raw["destination_database"]
    return raw


def _metadata_entry(entry: dict, metadata: dict) -> dict:
    if metadata and "stream_name" in metadata:
        return copy.deepcopy(metadata)
    defaults = {name: default for name, default in METADATA_DEFAULTS.items() if default is not None}
    return {"stream_name": entry["name"], **defaults, **{k: metadata[k] for k in METADATA_DEFAULTS if metadata.get(k) is not None}}
