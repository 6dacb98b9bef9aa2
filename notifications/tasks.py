"""Celery tasks of the notifications app: thin, they read the clock and call services."""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from django.core.cache import cache

from core import clock
from tenants.tasks import TenantTask

# --- Outbox dispatch and webhooks ---------------------------------------------------

# A tenant's dispatch (or send sweep) is enqueued once until it has run, not once
# per beat; the key lapses on its own if a worker dies with it.
_DISPATCH_KEY = "notifications:dispatch:{}"
_SEND_KEY = "notifications:webhooks-send:{}"
_ENQUEUED_TTL = 120
# One send task works this long at most, then leaves the rest to the next beat.
_SEND_BUDGET_SECONDS = 60.0


def _queue_of(task: Task) -> str | None:
    """Follow-up tasks go to the queue this one came from (its workers' queue)."""
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


@shared_task(bind=True, name="notifications.dispatch_outbox", acks_late=True, ignore_result=True)
def dispatch_outbox_task(self: Task) -> None:
    """Beat, every few seconds: a dispatch task for each tenant with undispatched events."""
    from notifications.outbox import pending_tenant_ids
    from tenants.context import platform_access

    with platform_access():
        tenant_ids = pending_tenant_ids()
    queue = _queue_of(self)
    for tenant_id in tenant_ids:
        if cache.add(_DISPATCH_KEY.format(tenant_id), 1, _ENQUEUED_TTL):
            dispatch_tenant_task.apply_async(kwargs={"tenant_id": tenant_id}, queue=queue)


@shared_task(
    bind=True,
    base=TenantTask,
    name="notifications.dispatch_tenant",
    acks_late=True,
    ignore_result=True,
)
def dispatch_tenant_task(self: Task, *, tenant_id: int) -> dict[str, Any]:
    from notifications.outbox import dispatch_pending
    from tenants.context import require_tenant

    try:
        stats = dispatch_pending(
            tenant=require_tenant(), now=clock.now(), send_queue=_queue_of(self)
        )
    finally:
        cache.delete(_DISPATCH_KEY.format(tenant_id))
    return {"events": stats.events, "deliveries": stats.deliveries, "failed": stats.failed}


@shared_task(bind=True, name="notifications.webhooks_send_due", acks_late=True, ignore_result=True)
def webhooks_send_due_task(self: Task) -> None:
    """Beat: a send task for each tenant with deliveries due (retries, lapsed claims)."""
    from notifications.webhooks import due_tenant_ids
    from tenants.context import platform_access

    with platform_access():
        tenant_ids = due_tenant_ids(now=clock.now())
    queue = _queue_of(self)
    for tenant_id in tenant_ids:
        if cache.add(_SEND_KEY.format(tenant_id), 1, _ENQUEUED_TTL):
            webhooks_send_task.apply_async(
                kwargs={"tenant_id": tenant_id, "sweep": True}, queue=queue
            )


@shared_task(
    bind=True,
    base=TenantTask,
    name="notifications.webhooks_send",
    acks_late=True,
    ignore_result=True,
)
def webhooks_send_task(
    self: Task, *, tenant_id: int, delivery_ids: list[int] | None = None, sweep: bool = False
) -> dict[str, int]:
    """Send the given deliveries (after a dispatch or a replay), or every due one."""
    from notifications.webhooks import SEND_CHUNK, deliveries_send, http_client
    from tenants.context import require_tenant

    tenant = require_tenant()
    totals = {"attempted": 0, "delivered": 0, "failed": 0}
    started = time.monotonic()
    chunks = (
        [delivery_ids[i : i + SEND_CHUNK] for i in range(0, len(delivery_ids), SEND_CHUNK)]
        if delivery_ids is not None
        else None
    )
    try:
        with http_client() as client:
            while time.monotonic() - started < _SEND_BUDGET_SECONDS:
                ids = chunks.pop(0) if chunks else None
                if chunks is not None and ids is None:
                    break
                stats = deliveries_send(
                    tenant=tenant, now=clock.now(), delivery_ids=ids, client=client
                )
                for key in totals:
                    totals[key] += getattr(stats, key)
                if chunks is None and not stats.attempted:
                    break
    finally:
        if sweep:
            cache.delete(_SEND_KEY.format(tenant_id))
    return totals


# --- Subscriber messages (email, SMS) and scheduled notices -----------------------


@shared_task(
    base=TenantTask, name="notifications.send_messages", acks_late=True, ignore_result=True
)
def send_messages_task(*, tenant_id: int, delivery_ids: list[int]) -> dict[str, int]:
    """Send the messages an event's planning wrote (enqueued after its commit)."""
    from notifications.messages import deliver_many
    from tenants.context import require_tenant

    return deliver_many(tenant=require_tenant(), delivery_ids=delivery_ids, now=clock.now())


@shared_task(name="notifications.send_due_messages", acks_late=True, ignore_result=True)
def send_due_messages_task() -> int:
    """Beat, every minute: messages still due (retries, sends a dead worker left)."""
    from notifications.messages import send_due

    return send_due(now=clock.now())


@shared_task(name="notifications.notices", acks_late=True, ignore_result=True)
def notices_task() -> int:
    """Beat, hourly: trial-ending and renewal-upcoming notices, once per period."""
    from notifications.notices import notices_sweep

    return notices_sweep(now=clock.now())
