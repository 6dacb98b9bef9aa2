"""The one error shape every API answer uses: ``{"error": {"type", "code", "message", "param"}}``,
from DRF's exceptions, domain errors, database refusals and unrouted ``/api/`` paths."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "card_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def _errors_as_json(request: Any) -> None:
    """An error is JSON even where the success would not be (an invoice's PDF)."""
    from rest_framework.renderers import JSONRenderer

    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None and renderer.media_type != "application/json":
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"


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
            if path and name.isdigit():  # an item of a list: lines[0]
                return _first_error(value, f"{path}[{name}]")
            return _first_error(value, f"{path}.{name}" if path and name else path or name)
    if isinstance(detail, list) and detail:
        first = next((i for i, item in enumerate(detail) if item), 0)
        if isinstance(detail[first], dict):
            return _first_error(detail[first], f"{path}[{first}]" if path else str(first))
        return _first_error(detail[first], path)
    code = getattr(detail, "code", "invalid") or "invalid"
    return (path or None, str(detail), str(code))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    _errors_as_json(context.get("request"))
    if isinstance(exc, DomainError):
        return Response(
            error_body(status_code=exc.status, code=exc.code, message=exc.message, param=exc.param),
            status=exc.status,
        )
    if isinstance(exc, DataError):
        # A value the database refuses (out of range, bad encoding) is bad input,
        # never a 500; the service's transaction has already rolled back.
        return Response(
            error_body(status_code=400, code="invalid_value", message="A value is out of range."),
            status=400,
        )
    if isinstance(exc, RequestDataTooBig):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read it.
        return Response(
            error_body(
                status_code=413,
                code="request_too_large",
                message="The request body is too large.",
            ),
            status=413,
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            error_body(
                status_code=409,
                code="resource_in_use",
                message="Other records still refer to this object.",
            ),
            status=409,
        )
    if isinstance(exc, IntegrityError):
        # A unique constraint lost to a concurrent request: a conflict to retry.
        return Response(
            error_body(
                status_code=409,
                code="conflict",
                message="The request conflicted with another one; retry it.",
            ),
            status=409,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object.", code="resource_missing")
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
        code = str(getattr(detail, "code", None) or getattr(exc, "default_code", "error"))
        if code == "not_found":
            code = "resource_missing"
        body = error_body(status_code=response.status_code, code=code, message=str(detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    response.data = body
    return response


def api_not_found(request: Any, exception: Exception | None = None) -> Any:
    """Django's 404 for a URL no route matches: under /api/ it keeps the API's
    error shape (a malformed id never reaches a viewset); elsewhere, the page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(status_code=404, code="resource_missing", message="No such route."),
            status=404,
        )
    return page_not_found(request, exception)
