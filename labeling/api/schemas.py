"""OpenAPI request bodies of 003's JSON endpoints: {"data": {...}} with the fields the server requires.

Written as JSON Schema so the document says exactly what is accepted: strings without NUL
(PostgreSQL cannot store it), names that are not blank, 0-based integers in range, ISO-8601
times (003's "Sat Jun 30 15:04:20 GMT+08:00 2018" form is accepted too), a formatter of
tags and attributes. Fuzzing checks server and schema agree.
"""

MAX_COUNT = 2**31 - 1
TEXT = {"type": "string", "pattern": r"^[^\x00]*$"}
NAME = {"type": "string", "pattern": r"^[^\x00]*[^\x00\s][^\x00]*$", "maxLength": 200}
COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_COUNT}
ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
TIME = {"type": "string", "format": "date-time", "description": "ISO-8601, or 003's Sat Jun 30 15:04:20 GMT+08:00 2018"}
USER_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "description": "the caller's id, or 0 for the caller"}


def _named_list(item_properties: dict) -> dict:
    return {
        "type": "array",
        "maxItems": 20,
        "items": {
            "type": "object",
            "properties": {"name": NAME, "description": TEXT, **item_properties},
            "required": ["name"],
        },
        "description": "names are unique within the list",
    }


FORMATTER = {
    "type": "object",
    "properties": {
        "tags": _named_list({"attributes": _named_list({"values": {"type": "array", "items": TEXT, "maxItems": 20}})})
    },
    "required": ["tags"],
}


def envelope(properties: dict, required: list[str]) -> dict:
    return {
        "application/json": {
            "type": "object",
            "properties": {"data": {"type": "object", "properties": properties, "required": required}},
            "required": ["data"],
        }
    }


TASK_FIELDS = {
    "name": NAME,
    "description": {**TEXT, "description": "HTML; sanitized"},
    "size": COUNT,
    "goal": COUNT,
    "start_time": TIME,
    "deadline": TIME,
}
TASK_CREATE = envelope(
    {
        "user_id": USER_ID,
        "type": {"type": "integer", "enum": [0, 1], "description": "0 annotation, 1 collection"},
        **TASK_FIELDS,
        "formatter": FORMATTER,
        "project": {**TEXT, "description": "project id (default D2D_LABELING_DEFAULT_PROJECT)"},
    },
    ["user_id", "type", "name"],
)
TASK_PATCH = envelope({"id": ID, **TASK_FIELDS}, ["id"])
APPLY = envelope({"task_id": ID, "user_id": USER_ID}, ["task_id"])
COMMIT = envelope(
    {
        "commit_id": ID,
        "task_type": {"type": "integer", "enum": [0, 1]},
        "task_id": ID,
        "user_id": USER_ID,
        "size": ID,
        "result": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"picture_url": TEXT, "annotation_json": TEXT},
                "required": ["picture_url", "annotation_json"],
            },
        },
    },
    ["commit_id"],
)
