"""Reads for tenants, memberships and API keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from django.core.cache import cache
from django.db.models import Q, QuerySet

from core.ratelimit import Budget, count_and_get
from tenants.context import platform_access, tenant_context
from tenants.models import ApiKey, AuditEntry, Membership, Tenant, User

_LAST_USED_RESOLUTION = timedelta(minutes=1)
logger = structlog.get_logger(__name__)


def memberships_of(user: User) -> list[Membership]:
    """Every tenant seat of a staff user: crosses tenants, so opts in explicitly."""
    with platform_access():
        return list(
            Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
        )


# A live key's identity is remembered briefly in the shared cache, so a request
# does not cross into platform access (two round trips) plus a lookup each time.
# Revoking a key forgets it at once (tenants.services.api_key_revoke); the
# tenant row itself is always read fresh.
KEY_CACHE_SECONDS = 30
_KEY_FIELDS = ("id", "tenant_id", "name", "kind", "mode", "prefix", "last4", "read_only")


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def api_key_authenticate(raw: str, *, now: datetime) -> ApiKey | None:
    """The live key matching ``raw``, or None. Looked up before any tenant is known."""
    return api_key_identify(raw, now=now, budget=None)[0]


def api_key_identify(
    raw: str, *, now: datetime, budget: Budget | None
) -> tuple[ApiKey | None, int | None]:
    """The live key matching ``raw`` (or None), and the request counted against
    ``budget`` (the key hash's rate limit), both in one Redis round trip."""
    key_hash = ApiKey.hash(raw)
    count, remembered = count_and_get(budget, api_key_cache_key(key_hash))
    return _api_key_from(key_hash, remembered, now=now), count


def _api_key_from(
    key_hash: str, remembered: dict[str, Any] | None, *, now: datetime
) -> ApiKey | None:
    if remembered is not None and not remembered.get("revoked"):
        # Read under the key's own tenant: the session is switched (if at all)
        # once, for this read and the whole request after it, instead of to
        # "no tenant" for this read and back to the tenant for the view.
        with tenant_context(Tenant(pk=remembered["tenant_id"])):
            tenant = Tenant.objects.filter(pk=remembered["tenant_id"]).first()
        if tenant is not None:
            cached = ApiKey(key_hash=key_hash, **remembered)
            cached.tenant = tenant
            return cached
    with platform_access():
        key = (
            ApiKey.objects.select_related("tenant")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
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
    if key is not None:
        # add, not set: a revocation's tombstone must win over this late write.
        _cache_add(
            api_key_cache_key(key_hash),
            {field: getattr(key, field) for field in _KEY_FIELDS},
        )
    return key


def _cache_add(name: str, value: dict[str, Any]) -> None:
    try:
        cache.add(name, value, KEY_CACHE_SECONDS)
    except Exception:  # the cache is down: nothing to remember
        logger.warning("api_key.cache_unavailable", exc_info=True)


def api_key_forget(key_hash: str) -> None:
    """Mark a revoked key in the cache (a tombstone outliving any live entry)."""
    cache.set(api_key_cache_key(key_hash), {"revoked": True}, KEY_CACHE_SECONDS * 2)


def api_keys_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).order_by("-created_at")


def audit_entries_list(*, tenant: Tenant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_tenant(tenant).order_by("-at", "-id")
