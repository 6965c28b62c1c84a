"""Django-level 404 and 500 pages that answer API paths in their contract's format."""

import json

from django.http import HttpResponse
from django.views.defaults import page_not_found, server_error

from kernel.api.contracts import DEFAULT_MESSAGES, contract_for_path


def _api_response(request, status: int) -> HttpResponse:
    contract = contract_for_path(request.path)
    body = contract.error_body(status, DEFAULT_MESSAGES[status], request=request)
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def handler404_view(request, exception=None):
    if request.path.startswith(("/api/", "/login", "/signup", "/logout", "/auth")):
        return _api_response(request, 404)
    return page_not_found(request, exception)


def handler500_view(request):
    if request.path.startswith(("/api/", "/login", "/signup", "/logout", "/auth")):
        return _api_response(request, 500)
    return server_error(request)
