"""Each API contract's body shapes, so every path answers in its own document's format.

* ENVELOPE (004 OLake server, 001 Common application API): {success, message, data}
* LABELING (003): {data} on success, {errors: {status, title, detail}} on error,
  and the Spring-style body it documents for 403
* BARE (002 Ocean Provider, 000 Data 2 Data): the JSON itself; errors as {error}
"""

from django.utils import timezone
from rest_framework.response import Response

DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request entity too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}


class Contract:
    name = "bare"

    def success(self, data=None, *, message: str | None = None, status: int = 200, headers=None) -> Response:
        return Response(data, status=status, headers=headers)

    def error_body(self, status: int, message: str, *, errors=None, request=None) -> dict:
        body = {"error": message}
        if errors:
            body["errors"] = errors
        return body

    def error(self, status: int, message: str | None = None, *, errors=None, request=None, headers=None) -> Response:
        message = message or DEFAULT_MESSAGES.get(status, "Error")
        return Response(self.error_body(status, message, errors=errors, request=request), status=status, headers=headers)


class EnvelopeContract(Contract):
    name = "envelope"

    def success(self, data=None, *, message: str | None = None, status: int = 200, headers=None) -> Response:
        return Response({"success": True, "message": message or "success", "data": data}, status=status, headers=headers)

    def error_body(self, status: int, message: str, *, errors=None, request=None) -> dict:
        body = {"success": False, "message": message}
        if errors:
            body["errors"] = errors
        return body


class LabelingContract(Contract):
    name = "labeling"

    def success(self, data=None, *, message: str | None = None, status: int = 200, headers=None) -> Response:
        return Response({"data": data}, status=status, headers=headers)

    def error_body(self, status: int, message: str, *, errors=None, request=None, title: str | None = None) -> dict:
        if status == 403:
            return {
                # 003 shows Spring's form: 2018-06-08T08:20:04.158+0000
                "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
                "status": 403,
                "error": "Forbidden",
                "message": "Access Denied",
                "path": request.path if request is not None else "",
            }
        body = {"errors": {"status": status, "title": title or DEFAULT_MESSAGES.get(status, "error"), "detail": message}}
        if errors:
            body["errors"]["fields"] = errors
        return body


BARE = Contract()
ENVELOPE = EnvelopeContract()
LABELING = LabelingContract()

# Paths whose 404s and errors outside a view (no matching URL, say) belong to a contract.
PATH_CONTRACTS: list[tuple[str, Contract]] = [
    ("/api/v1/project/", ENVELOPE),
    ("/api/v1/platform/tasks", BARE),  # the kernel's staff API, before the OLake UI's platform routes
    ("/api/v1/platform/", ENVELOPE),
    ("/telemetry-id", ENVELOPE),
    ("/api/v1/tasks/", BARE),  # 000's tasks service, before 001's /api/v1/task prefix
    ("/api/v1/task", ENVELOPE),
    ("/api/v1/assets", ENVELOPE),
    ("/api/v1/result", ENVELOPE),
    ("/api/v1/services/", BARE),
    ("/api/tasks", LABELING),
    ("/api/commits", LABELING),
    ("/login", ENVELOPE),
    ("/signup", ENVELOPE),
    ("/logout", ENVELOPE),
    ("/auth", ENVELOPE),
]


def contract_for_path(path: str) -> Contract:
    for prefix, contract in PATH_CONTRACTS:
        if path.startswith(prefix):
            return contract
    return BARE
