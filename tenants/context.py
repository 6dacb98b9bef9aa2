"""The current tenant: one context variable, set by every entry point.

Requests get it from ``tenants.middleware.TenantMiddleware`` (session, portal
slug or API key), tasks from ``tenants.tasks.TenantTask``, commands from
``tenant_context``. On PostgreSQL the same value is written to the database
connection (``ciclo.tenant_id``) so row-level security filters every query,
even one that forgets its ``tenant`` filter.

Code that must see every tenant (looking up an API key before the tenant is
known, the scheduler's sweeps, platform commands) opts in explicitly with
``platform_access()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import structlog
from django.db import connections

from core.errors import TenantNotSet

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

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


def sync_connections() -> None:
    """Write the current context onto every open PostgreSQL connection.

    Connections that are not open yet pick it up when they open
    (``tenants.db.postgresql.base.DatabaseWrapper.init_connection_state``).
    """
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "postgresql" and conn.connection is not None:
            apply_to_connection(conn)


def apply_to_connection(conn: BaseDatabaseWrapper) -> None:
    from psycopg import pq

    if conn.connection.info.transaction_status == pq.TransactionStatus.INERROR:
        # The failed transaction is about to be rolled back, which restores the
        # value the connection had when it began: the enclosing context's.
        return
    tenant_id, platform = connection_settings()
    with conn.connection.cursor() as cursor:
        # is_local=false: the value lives for the session, not one
        # transaction; every context exit writes the previous value back.
        cursor.execute(
            "SELECT set_config(%s, %s, false), set_config(%s, %s, false)",
            [TENANT_SETTING, tenant_id, PLATFORM_SETTING, platform],
        )


@contextmanager
def tenant_context(tenant: Tenant | None) -> Iterator[Tenant | None]:
    """Run the block as ``tenant`` (or with no tenant); restores what was before."""
    token = _tenant.set(tenant)
    platform_token = _platform.set(False)
    sync_connections()
    structlog.contextvars.bind_contextvars(tenant_id=tenant.pk if tenant else None)
    try:
        yield tenant
    finally:
        _platform.reset(platform_token)
        _tenant.reset(token)
        sync_connections()
        previous = _tenant.get()
        structlog.contextvars.bind_contextvars(tenant_id=previous.pk if previous else None)


@contextmanager
def platform_access() -> Iterator[None]:
    """Explicitly see every tenant's rows (scheduler sweeps, key lookup, admin)."""
    token = _platform.set(True)
    sync_connections()
    try:
        yield
    finally:
        _platform.reset(token)
        sync_connections()
