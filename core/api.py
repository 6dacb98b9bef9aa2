"""The API's one error shape: ``{"error": {"type", "code", "message", "param"}}``."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(
    *, status_code: int, code: str, message: str, param: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "type": _TYPES.get(status_code, "api_error"),
            "code": code,
            "message": message,
            "param": param,
        }
    }


def _first_error(detail: Any, path: str = "") -> tuple[str | None, str, str]:
    """The first (param, message, code) of a DRF ValidationError detail tree."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else ""
            return _first_error(value, f"{path}.{name}" if path and name else path or name)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    code = getattr(detail, "code", "invalid") or "invalid"
    return (path or None, str(detail), str(code))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(
            error_body(status_code=exc.status, code=exc.code, message=exc.message, param=exc.param),
            status=exc.status,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        param, message, code = _first_error(exc.detail)
        body = error_body(status_code=response.status_code, code=code, message=message, param=param)
        body["error"]["details"] = exc.detail
    else:
        detail = getattr(exc, "detail", "")
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(status_code=response.status_code, code=str(code), message=str(detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    response.data = body
    return response
