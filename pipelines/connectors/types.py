"""Column types: what a sync knows of each column, exact enough to write it back as it was.

A column's type is a short string, stored in the job's catalog (as JSON schema) and in each run:

* ``integer`` (64-bit), ``int32``, ``int16``; ``number`` (double), ``float32``; ``boolean``
* ``decimal(p,s)``: exact, Arrow decimal128 (p <= 38) or decimal256 (p <= 76); ``decimal`` is a
  numeric without a declared precision, kept as its text so no digit is lost
* ``timestamp`` (an instant, UTC) and ``timestamp_ntz`` (a wall-clock time without a zone); ``date``
* ``string``, ``json`` (the document as JSON text), ``binary``
* ``array<T>``: a list of T (PostgreSQL arrays)

Each type has a *kind*, its family (``int32`` is an ``integer``, ``decimal(10,2)`` a ``decimal``),
which is what code that does not care about width or precision compares.
"""

import re
from functools import lru_cache

import pyarrow as pa

CURSOR_KINDS = {"integer", "number", "decimal", "string", "timestamp", "date"}
MAX_DECIMAL_PRECISION = 76

_SIMPLE = {
    "integer": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "number": pa.float64(),
    "float32": pa.float32(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "decimal": pa.string(),
    "json": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
    "date": pa.date32(),
    "binary": pa.binary(),
}
_KIND_OF_SIMPLE = {"int32": "integer", "int16": "integer", "float32": "number", "timestamp_ntz": "timestamp"}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")
_ARRAY = re.compile(r"array<(.+)>")
_INTEGER_FORMATS = {"int16": "int16", "int32": "int32", "int64": "integer"}


def decimal_type(precision: int | None, scale: int | None) -> str:
    """``decimal(p,s)`` for a declared precision Arrow can hold exactly, else ``decimal`` (text)."""
    if not precision or precision > MAX_DECIMAL_PRECISION:
        return "decimal"
    scale = scale or 0
    if not 0 <= scale <= precision:
        return "decimal"
    return f"decimal({precision},{scale})"


def array_type(element: str) -> str:
    return f"array<{element}>"


def array_element(column_type: str) -> str:
    match = _ARRAY.fullmatch(column_type)
    if not match:
        raise ValueError(f"{column_type} is not an array type")
    return match.group(1)


def decimal_parts(column_type: str) -> tuple[int, int] | None:
    match = _DECIMAL.fullmatch(column_type)
    return (int(match.group(1)), int(match.group(2))) if match else None


def kind_of(column_type: str) -> str:
    """The family of a column type: ``int32`` -> ``integer``, ``decimal(10,2)`` -> ``decimal``."""
    if column_type in _KIND_OF_SIMPLE:
        return _KIND_OF_SIMPLE[column_type]
    if column_type in _SIMPLE:
        return column_type
    if _DECIMAL.fullmatch(column_type):
        return "decimal"
    if _ARRAY.fullmatch(column_type):
        return "array"
    return "string"


@lru_cache(maxsize=512)
def arrow_type(column_type: str) -> pa.DataType:
    if column_type in _SIMPLE:
        return _SIMPLE[column_type]
    if parts := decimal_parts(column_type):
        precision, scale = parts
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if _ARRAY.fullmatch(column_type):
        return pa.list_(arrow_type(array_element(column_type)))
    return pa.string()


def type_of_arrow(data_type: pa.DataType) -> str:
    """The column type that writes ``data_type`` back unchanged (the nearest one when there is none)."""
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type):
        # An unsigned integer needs the next signed width: uint16 is an int32, uint64 a decimal(20,0).
        bits = data_type.bit_width * (2 if pa.types.is_unsigned_integer(data_type) else 1)
        return "int16" if bits <= 16 else "int32" if bits <= 32 else "integer" if bits <= 64 else "decimal(20,0)"
    if pa.types.is_floating(data_type):
        return "float32" if data_type.bit_width <= 32 else "number"
    if pa.types.is_timestamp(data_type):
        return "timestamp" if data_type.tz else "timestamp_ntz"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_decimal(data_type):
        return decimal_type(data_type.precision, data_type.scale)
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type) or pa.types.is_fixed_size_binary(data_type):
        return "binary"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return array_type(type_of_arrow(data_type.value_type))
    return "string"


def json_schema(column_type: str) -> dict:
    """The catalog's JSON-schema property of a column type (nullable); ``type_of_property`` reads it back."""
    kind = kind_of(column_type)
    if kind == "array":
        return {"type": ["array", "null"], "items": json_schema(array_element(column_type))}
    if kind == "integer":
        schema = {"type": ["integer", "null"]}
        if column_type != "integer":
            schema["format"] = column_type
        return schema
    if kind == "number":
        return {"type": ["number", "null"], **({"format": "float"} if column_type == "float32" else {})}
    if kind == "boolean":
        return {"type": ["boolean", "null"]}
    if kind == "decimal":
        schema = {"type": ["string", "null"], "format": "decimal"}
        if parts := decimal_parts(column_type):
            schema["precision"], schema["scale"] = parts
        return schema
    if kind == "timestamp":
        return {"type": ["string", "null"], "format": "date-time" if column_type == "timestamp" else "local-date-time"}
    formats = {"json": {"format": "json"}, "date": {"format": "date"}, "binary": {"contentEncoding": "base64"}}
    return {"type": ["string", "null"], **formats.get(kind, {})}


def type_of_property(prop: dict) -> str:
    """The column type a catalog JSON-schema property describes (catalogs saved before widths: the kind)."""
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    main = next((t for t in types if t != "null"), "string")
    if main == "array":
        return array_type(type_of_property(prop.get("items") or {}))
    if main == "integer":
        return _INTEGER_FORMATS.get(prop.get("format", ""), "integer")
    if main == "number":
        return "float32" if prop.get("format") == "float" else "number"
    if main == "boolean":
        return "boolean"
    if main != "string":
        return "string"
    if prop.get("contentEncoding") == "base64":
        return "binary"
    form = prop.get("format", "")
    if form == "decimal":
        return decimal_type(prop.get("precision"), prop.get("scale")) if prop.get("precision") else "decimal"
    return {"date-time": "timestamp", "local-date-time": "timestamp_ntz", "date": "date", "json": "json"}.get(form, "string")
