"""The base class of every tenant-scoped Celery task.

A task is sent with ``tenant_id`` as a keyword argument; the worker sets the
tenant context (and so the connection's ``ciclo.tenant_id``) for exactly that
task and clears it afterwards, so a worker process never carries one tenant
into the next task.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task, shared_task

from core.request_context import RequestOrigin, reset_origin, set_origin
from tenants.context import tenant_context
from tenants.models import Tenant


class TenantTask(Task):
    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} must be called with tenant_id=…")
        tenant = Tenant.objects.get(pk=tenant_id)
        request_id = getattr(self.request, "id", None) or ""
        token = set_origin(RequestOrigin(request_id=str(request_id)))
        structlog.contextvars.bind_contextvars(task=self.name, task_id=request_id)
        try:
            with tenant_context(tenant):
                return super().__call__(*args, **kwargs)
        finally:
            reset_origin(token)
            structlog.contextvars.unbind_contextvars("task", "task_id")


@shared_task(base=TenantTask, name="tenants.count_visible_rows")
def count_visible_rows(*, tenant_id: int, table: str) -> dict[str, Any]:
    """Diagnostic: what one tenant's task sees of a table through a raw, unfiltered query.

    Used by the isolation tests with a real worker; harmless in production.
    """
    from django.apps import apps
    from django.db import connection

    allowed = {m._meta.db_table for m in apps.get_models() if hasattr(m, "tenant_id")}
    if table not in allowed:
        raise ValueError(f"Not a tenant-owned table: {table}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT tenant_id FROM {connection.ops.quote_name(table)}"  # noqa: S608
        )
        seen = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT current_setting('ciclo.tenant_id', true), current_user")
        setting, user = cursor.fetchone()
    return {"tenant_ids": seen, "setting": setting, "user": user}


# The name is the one it had in core, so scheduled and queued messages still find it.
@shared_task(name="core.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    """Hourly: forget Idempotency-Keys older than their 24-hour lifetime."""
    from core import clock
    from tenants.idempotency import idempotency_keys_purge

    return idempotency_keys_purge(now=clock.now())
