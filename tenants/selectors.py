"""Reads for tenants, memberships and API keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet

from tenants.context import platform_access
from tenants.models import ApiKey, AuditEntry, Membership, Tenant

_LAST_USED_RESOLUTION = timedelta(minutes=1)


def memberships_of(user: AbstractBaseUser) -> list[Membership]:
    """Every tenant seat of a staff user: crosses tenants, so opts in explicitly."""
    with platform_access():
        return list(
            Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
        )


def api_key_authenticate(raw: str, *, now: datetime) -> ApiKey | None:
    """The live key matching ``raw``, or None. Looked up before any tenant is known."""
    with platform_access():
        key = (
            ApiKey.objects.select_related("tenant")
            .filter(key_hash=ApiKey.hash(raw), revoked_at__isnull=True)
            .first()
        )
        if key is not None and (
            key.last_used_at is None or now - key.last_used_at >= _LAST_USED_RESOLUTION
        ):
            # Kept to the minute: a conditional UPDATE, not a write per request.
            ApiKey.objects.filter(pk=key.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - _LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
            key.last_used_at = now
    return key


def api_keys_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).order_by("-created_at")


def audit_entries_list(*, tenant: Tenant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_tenant(tenant).order_by("-at", "-id")
