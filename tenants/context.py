"""The current tenant: one context variable, set by every entry point.

Requests get it from ``tenants.middleware.TenantMiddleware`` (session, portal
slug or API key), tasks from ``tenants.tasks.TenantTask``, commands from
``tenant_context``. On PostgreSQL the same value is on the database session
(``ciclo.tenant_id``) of every statement, so row-level security filters every
query, even one that forgets its ``tenant`` filter: the backend writes it
before a statement whenever the session does not hold it yet
(``tenants.db.postgresql.base``), so entering or leaving a context costs no
round trip of its own.

Code that must see every tenant (looking up an API key before the tenant is
known, the scheduler's sweeps, platform commands) opts in explicitly with
``platform_access()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog

from core.errors import TenantNotSet

if TYPE_CHECKING:
    from tenants.models import Tenant

_tenant: ContextVar[Tenant | None] = ContextVar("ciclo_tenant", default=None)
_platform: ContextVar[bool] = ContextVar("ciclo_platform", default=False)

TENANT_SETTING = "ciclo.tenant_id"
PLATFORM_SETTING = "ciclo.platform"


def current_tenant() -> Tenant | None:
    return _tenant.get()


def require_tenant() -> Tenant:
    tenant = _tenant.get()
    if tenant is None:
        raise TenantNotSet("No tenant is set for this request, task or command.")
    return tenant


def platform_access_active() -> bool:
    return _platform.get()


def connection_settings() -> tuple[str, str]:
    """The values the database connection must carry for the current context."""
    tenant = _tenant.get()
    return (str(tenant.pk) if tenant is not None else "", "on" if _platform.get() else "")


def write_session_context(raw_connection: Any, values: tuple[str, str]) -> bool:
    """Write ``values`` (tenant id, platform) onto a psycopg connection's session.

    Called by the PostgreSQL backend before a statement when the session does
    not hold the current context yet (``tenants.db.postgresql.base``). Returns
    False when nothing could be written: a failed transaction refuses every
    statement until it is rolled back, and the rollback makes the backend
    write the context again.
    """
    from psycopg import pq

    if raw_connection.info.transaction_status == pq.TransactionStatus.INERROR:
        return False
    tenant_id, platform = values
    with raw_connection.cursor() as cursor:
        # is_local=false: the value lives for the session, not one transaction
        # (a rollback still restores the value of before, see the backend).
        cursor.execute(
            "SELECT set_config(%s, %s, false), set_config(%s, %s, false)",
            [TENANT_SETTING, tenant_id, PLATFORM_SETTING, platform],
        )
    return True


@contextmanager
def tenant_context(tenant: Tenant | None) -> Iterator[Tenant | None]:
    """Run the block as ``tenant`` (or with no tenant); restores what was before."""
    token = _tenant.set(tenant)
    platform_token = _platform.set(False)
    structlog.contextvars.bind_contextvars(tenant_id=tenant.pk if tenant else None)
    try:
        yield tenant
    finally:
        _platform.reset(platform_token)
        _tenant.reset(token)
        previous = _tenant.get()
        structlog.contextvars.bind_contextvars(tenant_id=previous.pk if previous else None)


@contextmanager
def platform_access() -> Iterator[None]:
    """Explicitly see every tenant's rows (scheduler sweeps, key lookup, admin)."""
    token = _platform.set(True)
    try:
        yield
    finally:
        _platform.reset(token)
