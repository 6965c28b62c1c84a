"""OpenAPI additions: each contract's error bodies (accounts declares the security schemes).

Every operation can answer 400/401/403/404/409/413/429/500 through the global exception
handler; this hook declares those answers in the schema, in the body format of the
contract the path belongs to, instead of annotating each view by hand.
"""

from kernel.api.contracts import BARE, DEFAULT_MESSAGES, ENVELOPE, LABELING, contract_for_path

ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 429, 500)

ERROR_SCHEMAS = {
    "EnvelopeError": {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": True},
        },
        "required": ["success", "message"],
    },
    "LabelingError": {
        "type": "object",
        "properties": {
            "errors": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                },
                "required": ["status", "title", "detail"],
            }
        },
        "required": ["errors"],
    },
    "LabelingForbidden": {
        "type": "object",
        "description": "003's 403 body (Spring Security's)",
        "properties": {
            "timestamp": {"type": "string"},
            "status": {"type": "integer", "enum": [403]},
            "error": {"type": "string"},
            "message": {"type": "string"},
            "path": {"type": "string"},
        },
        "required": ["status", "error", "message", "path"],
    },
    "BareError": {
        "type": "object",
        "properties": {"error": {"type": "string"}, "errors": {"type": "object", "additionalProperties": True}},
        "required": ["error"],
    },
}


def _error_schema_name(contract, status: int) -> str:
    if contract is ENVELOPE:
        return "EnvelopeError"
    if contract is LABELING:
        return "LabelingForbidden" if status == 403 else "LabelingError"
    return "BareError"


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: declare each contract's error answers everywhere."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        contract = contract_for_path(path)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status in ERROR_STATUSES:
                if str(status) in responses:
                    continue
                ref = {"$ref": f"#/components/schemas/{_error_schema_name(contract, status)}"}
                responses[str(status)] = {
                    "description": DEFAULT_MESSAGES[status],
                    "content": {"application/json": {"schema": ref}},
                }
    return result


__all__ = ["add_error_responses", "BARE"]
