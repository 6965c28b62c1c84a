"""One DRF exception handler that answers in the format of the view's contract."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status

from kernel.api.contracts import BARE, contract_for_path
from kernel.errors import DomainError

logger = logging.getLogger(__name__)


def _contract(context):
    view = context.get("view")
    contract = getattr(view, "contract", None)
    if contract is not None:
        return contract
    request = context.get("request")
    return contract_for_path(request.path) if request is not None else BARE


def flatten_errors(detail) -> str:
    """DRF's nested validation detail as one readable sentence: 'name: This field is required.'"""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = flatten_errors(value)
            parts.append(text if field in ("non_field_errors", "detail") else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(flatten_errors(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    contract = _contract(context)
    request = context.get("request")
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, RequestDataTooBig):
        return contract.error(413, "the request body is larger than this server accepts", request=request)
    if isinstance(exc, (TooManyFilesSent, TooManyFieldsSent)):
        return contract.error(413, f"too many parts in the request: {exc}", request=request)
    if isinstance(exc, DomainError):
        errors = {exc.field: [exc.message]} if exc.field else None
        return contract.error(exc.status, exc.message, errors=errors, request=request)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.status_code
        if isinstance(exc, exceptions.ValidationError):
            errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            return contract.error(code, flatten_errors(exc.detail), errors=errors, request=request, headers=headers)
        if code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND):
            message = None  # each contract's documented wording
            if isinstance(exc, exceptions.AuthenticationFailed):
                message = str(exc.detail)
        else:
            message = flatten_errors(exc.detail)
        return contract.error(code, message, request=request, headers=headers)

    logger.exception("unhandled error in %s", request.path if request is not None else "?", exc_info=exc)
    return contract.error(500, request=request)
