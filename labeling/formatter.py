"""The task formatter (which tags and attributes annotators may use) and the check of results against it."""

import json
import math

import nh3

from labeling.errors import AnnotationError, JsonError


def has_nul(value) -> bool:
    """Whether a string anywhere in a JSON value holds U+0000, which PostgreSQL text and jsonb refuse."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def description_clean(html: str) -> str:
    """Descriptions are shown as HTML in clients: keep formatting and images, drop scripts and handlers."""
    return nh3.clean(html or "")


def formatter_clean(value) -> dict:
    """The formatter in its canonical shape; attribute values are strings, as 003 asks of clients.

    {} means "no formatter": results are then stored without a check.
    """
    if value is None or value == {}:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise JsonError("formatter is not valid JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("tags"), list):
        raise JsonError("formatter must be {tags: [{name, description, attributes}]}")
    tags, seen = [], set()
    for index, tag in enumerate(value["tags"]):
        where = f"formatter.tags[{index}]"
        if not isinstance(tag, dict):
            raise JsonError(f"{where} must be an object")
        name = _name(tag, where)
        if name in seen:
            raise JsonError(f"{where}: tag {name!r} appears twice")
        seen.add(name)
        tags.append({"name": name, "description": _text(tag, "description", where), "attributes": _attributes(tag, where)})
    return {"tags": tags}


def _attributes(tag: dict, where: str) -> list[dict]:
    raw = tag.get("attributes")
    raw = [] if raw is None else raw
    if not isinstance(raw, list):
        raise JsonError(f"{where}.attributes must be a list")
    attributes, seen = [], set()
    for index, attribute in enumerate(raw):
        at = f"{where}.attributes[{index}]"
        if not isinstance(attribute, dict):
            raise JsonError(f"{at} must be an object")
        name = _name(attribute, at)
        if name in seen:
            raise JsonError(f"{at}: attribute {name!r} appears twice")
        seen.add(name)
        values = attribute.get("values")
        values = [] if values is None else values
        if not isinstance(values, list) or any(isinstance(item, (dict, list)) for item in values):
            raise JsonError(f"{at}.values must be a list of strings")
        attributes.append(
            {"name": name, "description": _text(attribute, "description", at), "values": [str(item) for item in values]}
        )
    return attributes


def _name(item: dict, where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise JsonError(f"{where}.name can not be null")
    return name.strip()


def _text(item: dict, key: str, where: str) -> str:
    value = item.get(key) or ""
    if not isinstance(value, str):
        raise JsonError(f"{where}.{key} must be a string")
    return value


def _has_non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


def _strict_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON (and jsonb) does not


def annotation_read(raw) -> tuple[str, object | None]:
    """(the text to store, its JSON reading or None); an object sent instead of a string is stored as JSON text."""
    if isinstance(raw, (dict, list)):
        parsed, raw = raw, None
    elif not isinstance(raw, str):
        raise AnnotationError("annotation_json must be a string (JSON or XML)")
    else:
        try:
            parsed = json.loads(raw, parse_constant=_strict_constant)
        except ValueError:
            return raw, None  # XML or free text: stored as given, reviewed by a person
    if has_nul(parsed):
        # The text can be stored, its JSON reading cannot (PostgreSQL jsonb has no U+0000).
        raise AnnotationError("annotation_json contains \\u0000, which cannot be stored")
    if _has_non_finite(parsed):
        # 1e400 reads as infinity, which neither jsonb nor SQLite's JSON can hold.
        raise AnnotationError("annotation_json holds a number too large for JSON")
    return (json.dumps(parsed, ensure_ascii=False) if raw is None else raw), parsed


def annotation_check(parsed, formatter: dict, *, where: str) -> None:
    """Tags and attributes must be the formatter's; chosen values must be among the allowed ones."""
    if parsed is None or not formatter.get("tags"):
        return
    if not isinstance(parsed, dict) or not isinstance(parsed.get("tags", []), list):
        raise AnnotationError(f"{where}: annotation_json must be {{tags: [...]}}")
    allowed = {tag["name"]: {a["name"]: a["values"] for a in tag["attributes"]} for tag in formatter["tags"]}
    for index, tag in enumerate(parsed.get("tags", [])):
        at = f"{where}.tags[{index}]"
        if not isinstance(tag, dict) or not isinstance(tag.get("name"), str) or tag["name"] not in allowed:
            name = tag.get("name") if isinstance(tag, dict) else tag
            raise AnnotationError(f"{at}: tag {name!r} is not one of the task's tags")
        attributes = allowed[tag["name"]]
        _position_check(tag.get("position"), at)
        chosen = tag.get("attributes") or []
        if not isinstance(chosen, list):
            raise AnnotationError(f"{at}.attributes must be a list")
        for number, attribute in enumerate(chosen):
            spot = f"{at}.attributes[{number}]"
            if (
                not isinstance(attribute, dict)
                or not isinstance(attribute.get("name"), str)
                or attribute["name"] not in attributes
            ):
                name = attribute.get("name") if isinstance(attribute, dict) else attribute
                raise AnnotationError(f"{spot}: attribute {name!r} is not one of tag {tag['name']!r}'s attributes")
            values = attribute.get("values", [])
            values = values if isinstance(values, list) else [values]
            options = attributes[attribute["name"]]
            if options:  # an empty list in the formatter means any value
                wrong = [str(value) for value in values if str(value) not in options]
                if wrong:
                    raise AnnotationError(f"{spot}: {', '.join(wrong)} not among {', '.join(options)}")


def _position_check(position, where: str) -> None:
    if position is None:
        return
    ok = isinstance(position, list) and all(
        isinstance(point, list) and len(point) == 2 and all(_is_number(c) for c in point) for point in position
    )
    if not ok:
        raise AnnotationError(f"{where}.position must be a list of [x, y] points")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
