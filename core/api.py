"""What every API resource shares.

- the one error shape: ``{"error": {"type", "code", "message", "param"}}``;
- ``ApiViewSet``: lookups by public id (``cus_…``), the acting API key, list
  filters declared as data (documented in the schema from the same data);
- ``StrictSerializer`` for request bodies: unknown fields are refused;
- ``Ref``: a body field naming another object by public id, resolved within
  the tenant (another tenant's id is a 404, exactly like an unknown one);
- the OpenAPI conventions (operation ids, error responses, ``Idempotency-Key``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.actors import Actor
from core.errors import DomainError, NotFound
from core.projection import Projection

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "card_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}

# Public ids: a short prefix, an underscore, lowercase letters and digits.
PUBLIC_ID = re.compile(r"^[a-z]{1,12}_[a-z0-9]{1,64}$")


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


# --- request bodies --------------------------------------------------------------


def _json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """What is wrong with ``value``'s JSON type for ``field``, or None.

    DRF coerces (``12`` becomes ``"12"``, ``"true"`` becomes ``True``); the API
    takes exactly the types its schema documents, so clients cannot come to
    depend on a coercion.
    """
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Expected true or false."
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Expected a whole number."
    if isinstance(field, serializers.DecimalField) and not field.coerce_to_string:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Expected a number."
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        return None if isinstance(value, str) else "Expected a string."
    if isinstance(field, serializers.DateTimeField):
        return None if isinstance(value, str) else "Expected an ISO 8601 time as a string."
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return None if isinstance(value, list) else "Expected a list."
    return None


class StrictSerializer(serializers.Serializer[Any]):
    """A request body: unknown fields are an error (a typo must not pass silently),
    and every value must have the JSON type the schema documents."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name: f for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(str(k) for k in data if k not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: [f"Unknown parameter: {unknown[0]}."]}, code="unknown_parameter"
                )
            for name, field in writable.items():
                if name in data and (problem := _json_type_error(field, data[name])):
                    raise serializers.ValidationError({name: [problem]}, code="invalid_type")
        return super().to_internal_value(data)


def api_id(value: Any) -> bool:
    return isinstance(value, str) and bool(PUBLIC_ID.match(value))


class Ref(serializers.CharField):
    """Another object, named by its public id and found within the tenant.

    ``queryset`` is called with the tenant; an unknown, malformed or other
    tenant's id raises ``NotFound`` (404) naming the parameter.
    """

    def __init__(
        self,
        *,
        queryset: Callable[[Any], QuerySet[Any]],
        what: str,
        **kwargs: Any,
    ) -> None:
        self.queryset_for = queryset
        self.what = what
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)  # a string of a sane length, or empty
        if value in (None, "", serializers.empty):
            return value
        request = self.context["request"]
        found = None
        if api_id(value):
            found = self.queryset_for(request.tenant).filter(public_id=value).first()
        if found is None:
            raise NotFound(f"No such {self.what}: '{value}'", param=self.field_name)
        return found


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 time between 1970 and 2200: far enough for any billing, near
    enough that adding periods and trials to it can never overflow."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        if not EARLIEST <= parsed < LATEST:
            raise serializers.ValidationError(
                "Expected a time from 1970 to 2199.", code="out_of_range"
            )
        return parsed


def validate_metadata(value: Any) -> dict[str, str]:
    """Up to 50 string keys (≤ 40 chars) with string values (≤ 500 chars)."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("metadata must be an object.", code="invalid")
    if len(value) > 50:
        raise serializers.ValidationError("metadata holds at most 50 keys.", code="invalid")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 40 or "\x00" in key:
            raise serializers.ValidationError(
                "metadata keys are strings of 1 to 40 characters.", code="invalid"
            )
        if not isinstance(item, str) or len(item) > 500 or "\x00" in item:
            raise serializers.ValidationError(
                "metadata values are strings of at most 500 characters.", code="invalid"
            )
    return value


class MetadataField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Your own key-value pairs: up to 50 keys of at most 40 characters, "
            "string values of at most 500.",
        )
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        return validate_metadata(data)


# --- responses ----------------------------------------------------------------------


class ObjectField(serializers.Field[Any, Any, Any, Any]):
    """The constant ``object`` of a representation (``"customer"``, ``"list"``…)."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        self.value = value
        kwargs.update(read_only=True, source="*")
        kwargs.setdefault("help_text", f'String representing the object\'s type: "{value}".')
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return self.value


class ObjectFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.ObjectField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "example": self.target.value}


class PublicIdOf(serializers.CharField):
    """A related object's public id (``source="customer.public_id"``), or null."""

    def __init__(self, source: str, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(source=source, read_only=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        try:
            return super().get_attribute(instance)
        except (AttributeError, KeyError):
            return None


class DeletedSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The id of the deleted object.")
    object = serializers.CharField(help_text="The type of the deleted object.")
    deleted = serializers.BooleanField(help_text="Always true.")


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        if isinstance(data, bytes):
            return data
        import json

        return json.dumps(data).encode()


# --- list filters -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilter:
    """One query parameter of a list: ``kind`` is string, id, boolean or datetime."""

    name: str
    lookup: str
    description: str
    kind: str = "string"
    enum: Sequence[str] = ()


CREATED_FILTERS = (
    ListFilter(
        "created[gte]",
        "created_at__gte",
        "Only objects created at or after this time: ISO 8601 with a time zone "
        "(2026-03-01T00:00:00Z) or a Unix timestamp in seconds (1772323200).",
        "datetime",
    ),
    ListFilter(
        "created[lte]",
        "created_at__lte",
        "Only objects created at or before this time: ISO 8601 with a time zone "
        "(2026-03-01T00:00:00Z) or a Unix timestamp in seconds (1772323200).",
        "datetime",
    ),
)


def _bad_filter(name: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [message]}, code="invalid")


def apply_list_filters(
    queryset: QuerySet[Any], params: Mapping[str, str], filters: Sequence[ListFilter]
) -> QuerySet[Any]:
    for spec in filters:
        raw = params.get(spec.name)
        if raw is None:
            continue
        if "\x00" in raw or len(raw) > 200:
            raise _bad_filter(spec.name, "Invalid value.")
        value: Any = raw
        if spec.kind == "datetime":
            value = _parse_time(raw)
            if value is None:
                raise _bad_filter(spec.name, "Expected an ISO 8601 time with a time zone.")
        elif spec.kind == "boolean":
            if raw not in ("true", "false"):
                raise _bad_filter(spec.name, "Expected true or false.")
            value = raw == "true"
        elif spec.kind == "id" and not api_id(raw):
            # Matches nothing, but the other filters are still checked.
            queryset = queryset.none()
            continue
        elif spec.enum and raw not in spec.enum:
            raise _bad_filter(spec.name, f"Expected one of: {', '.join(spec.enum)}.")
        queryset = queryset.filter(**{spec.lookup: value})
    return queryset


def _parse_time(raw: str) -> datetime | None:
    if re.fullmatch(r"[0-9]{1,11}", raw):  # a Unix timestamp
        return datetime.fromtimestamp(int(raw), tz=UTC)
    try:
        parsed = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


# --- viewsets -----------------------------------------------------------------------


class ApiViewSet(viewsets.GenericViewSet[Any]):
    """Base of the API's viewsets: public-id lookups, the acting key, list filters."""

    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    object_name = "object"
    list_filters: Sequence[ListFilter] = ()

    @property
    def actor(self) -> Actor:
        return Actor.api_key(self.request.auth)

    @property
    def tenant(self) -> Any:
        # core names no app: the apps' viewsets declare ``request: TenantApiRequest``.
        return self.request.tenant  # type: ignore[attr-defined]

    def get_object(self) -> Any:
        value = self.kwargs.get(self.lookup_url_kwarg, "")
        found = None
        if api_id(value):
            found = self.get_queryset().filter(public_id=value).first()
        if found is None:
            raise NotFound(f"No such {self.object_name}: '{value}'", param="id")
        self.check_object_permissions(self.request, found)
        return found

    def get_row(self, projection: Projection) -> dict[str, Any]:
        """``get_object``'s lookup, read and rendered as the one row ``projection`` prints."""
        value = self.kwargs.get(self.lookup_url_kwarg, "")
        row = None
        if api_id(value):
            row = self.get_queryset().filter(public_id=value).values(*projection.columns).first()
        if row is None:
            raise NotFound(f"No such {self.object_name}: '{value}'", param="id")
        return projection.render(row)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if getattr(self, "action", None) == "list":
            return apply_list_filters(
                queryset, self.request.query_params, (*self.list_filters, *CREATED_FILTERS)
            )
        return queryset

    def respond(
        self, serializer_class: type[serializers.Serializer[Any]], instance: Any, **kw: Any
    ) -> Response:
        data = serializer_class(instance, context=self.get_serializer_context()).data
        return Response(data, **kw)


def input_of(
    serializer_class: type[serializers.Serializer[Any]], request: Any, **context: Any
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- OpenAPI ------------------------------------------------------------------------


class ApiKeyAuthExtension(OpenApiAuthenticationExtension):
    target_class = "tenants.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret API key: `Authorization: Bearer sk_test_…`.",
        }


class ApiSchema(AutoSchema):
    """Operation ids are ``<resource>_<action>`` (``subscription_cancel``): stable,
    and readable in generated clients."""

    def get_operation_id(self) -> str:
        basename = getattr(self.view, "basename", None)
        action = getattr(self.view, "action", None)
        if basename and action:
            return f"{basename}_{action}"
        return super().get_operation_id()

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        view = self.view
        if getattr(view, "action", None) == "list" and isinstance(view, ApiViewSet):
            for spec in (*view.list_filters, *CREATED_FILTERS):
                schema_type: Any = {
                    # Both forms _parse_time takes (issue 12: the schema said one).
                    "datetime": {
                        "anyOf": [
                            {"type": "string", "format": "date-time"},
                            {"type": "string", "pattern": "^[0-9]{1,11}$"},
                        ]
                    },
                    "boolean": OpenApiTypes.BOOL,
                }.get(spec.kind, OpenApiTypes.STR)
                params.append(
                    OpenApiParameter(
                        spec.name,
                        schema_type,
                        OpenApiParameter.QUERY,
                        description=spec.description,
                        enum=list(spec.enum) or None,
                    )
                )
        return params


_ERRORS = {
    "400": "Invalid request: a parameter is missing, of the wrong type or out of range.",
    "401": "No valid API key.",
    "403": "The key may not do this (read-only or publishable key).",
    "404": "No such object (or it belongs to another account).",
    "409": "The object's state does not allow this, or the idempotency key was reused.",
    "429": "Too many requests: retry after the number of seconds in Retry-After.",
}


def schema_postprocess(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Every operation documents the error shape; every POST the Idempotency-Key."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorDetail"] = {
        "type": "object",
        "required": ["type", "code", "message", "param"],
        "properties": {
            "type": {"type": "string", "description": "invalid_request_error, …"},
            "code": {"type": "string", "description": "A machine-readable code."},
            "message": {"type": "string", "description": "What went wrong, for people."},
            "param": {
                "type": "string",
                "nullable": True,
                "description": "The parameter at fault, if any.",
            },
            "details": {"description": "Every field error, for validation errors."},
        },
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
    }
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if "402" in operation["responses"]:
                operation["responses"]["402"] = {
                    "description": "The payment failed (declined card); the error names it.",
                    "content": error_ref,
                }
            for code, description in _ERRORS.items():
                operation["responses"].setdefault(
                    code, {"description": description, "content": error_ref}
                )
            if method == "post":
                operation.setdefault("parameters", []).append(_idempotency_key_parameter())
    return result


def _idempotency_key_parameter() -> dict[str, Any]:
    """The rules tenants/idempotency.py enforces, stated where integrators read them."""
    from django.conf import settings

    hours = settings.IDEMPOTENCY_KEY_TTL // 3600
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": (
            "1 to 255 printable characters (no control characters), unique per request "
            "you mean once, scoped to the API key; a UUID is a good choice. Within "
            f"{hours} hours a retry with the same key, method, path and JSON body gets "
            "the first response again, with `Idempotent-Replayed: true`, and acts only "
            "once. The same key with another method, path or body answers 409 "
            "`idempotency_key_reused`; while the first request still runs, 409 "
            "`idempotency_key_in_use`; a malformed key, 400 `idempotency_key_invalid`. "
            "A 5xx or 429 is not kept: retrying with the same key runs afresh."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[^\\x00-\\x1f\\x7f]+$",
        },
    }


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
