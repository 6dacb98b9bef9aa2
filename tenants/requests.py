"""The request types that ``TenantMiddleware`` fills in, for views to annotate with.

They are never instantiated: Django passes its ``HttpRequest`` (DRF its ``Request``) and
these classes only tell the type checker which attributes the middleware has set on it.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from tenants.models import ApiKey, Membership, Tenant, User


class ResolvingRequest(HttpRequest):
    """A request as ``TenantMiddleware`` leaves it: the tenant may be unknown."""

    tenant: Tenant | None
    membership: Membership | None
    memberships: list[Membership]
    api_key: ApiKey | None
    api_key_error: str | None


class TenantRequest(ResolvingRequest):
    """A request on a tenant's page: a portal path, a seated staff user or an API key."""

    tenant: Tenant


class StaffRequest(TenantRequest):
    """A request that passed ``tenants.access.staff_view``: signed in and seated."""

    user: User
    membership: Membership


class TenantApiRequest(Request):
    """A DRF request that passed ``ApiKeyAuthentication`` and ``HasTenantApiKey``."""

    tenant: Tenant
    auth: ApiKey
