"""API authentication: ``Authorization: Bearer sk_…``.

``TenantMiddleware`` resolves the key once per request (it sets the tenant
context before any view runs); this class reports the outcome to DRF.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tenants.models import ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        django_request = request._request
        error = getattr(django_request, "api_key_error", None)
        if error is not None:
            raise exceptions.AuthenticationFailed(error, code="invalid_api_key")
        key: ApiKey | None = getattr(django_request, "api_key", None)
        if key is None:
            return None
        return (None, key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HasTenantApiKey(BasePermission):
    """A secret key is required; read-only keys may only read."""

    message = "This endpoint needs a secret API key."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated(
                "Provide your secret key as 'Authorization: Bearer sk_…'.",
                code="missing_api_key",
            )
        if key.kind != ApiKey.Kind.SECRET:
            raise exceptions.PermissionDenied(
                "A publishable key can only be used by the checkout.", code="publishable_key"
            )
        if key.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied("This API key is read-only.", code="read_only_key")
        return True
