"""The OpenAPI conventions: operation ids, error responses, API-key auth, ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.api.filters import CREATED_FILTERS
from core.api.viewsets import ApiViewSet


class ObjectFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.fields.ObjectField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "example": self.target.value}


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
