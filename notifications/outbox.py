"""The outbox dispatcher: from domain events to webhooks and messages.

``tenants.outbox`` writes ``Event`` rows in the same transaction as each change
(DESIGN.md invariant 6). This module delivers them: per tenant, it claims
undispatched events in id order with ``SELECT … FOR UPDATE SKIP LOCKED`` (so
several workers can run it at once without taking the same event), and in one
transaction per batch calls the fan-outs — ``webhooks.plan_deliveries_many``
and ``messages.plan_messages`` for each event — then marks the events
dispatched. What the fan-outs write is unique per event (deliveries per
endpoint, messages per recipient), so an event is planned once; the sending
happens after commit, in tasks. A worker killed mid-batch rolls the batch
back: its events stay undispatched and the next run takes them.

One event whose planning raises must not hold up the others: the batch is then
planned again event by event, each in a savepoint; the failing event stays
undispatched (logged) and is tried again on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.db import transaction

from notifications import merchant_notices, messages, webhooks
from tenants.models import Event, Tenant
from tenants.outbox import events_mark_dispatched

logger = structlog.get_logger(__name__)
DEFAULT_BATCH = 1000


@dataclass
class DispatchStats:
    events: int = 0
    deliveries: int = 0
    failed: int = 0
    batches: int = 0


def _fan_out(events: Sequence[Event], now: datetime, send_queue: str | None) -> int:
    delivery_ids = webhooks.plan_deliveries_many(events, now=now, send_queue=send_queue)
    for event in events:
        messages.plan_messages(event, now=now)
        merchant_notices.plan_merchant_notices(event, now=now)
    return len(delivery_ids)


def dispatch_batch(
    *,
    tenant: Tenant,
    now: datetime,
    size: int = DEFAULT_BATCH,
    after_id: int = 0,
    send_queue: str | None = None,
) -> tuple[int, int, int, int]:
    """Claim and dispatch one batch; returns (events claimed, deliveries, failed, last id)."""
    with transaction.atomic():
        events = list(
            Event.objects.filter(tenant=tenant, dispatched_at__isnull=True, pk__gt=after_id)
            .select_for_update(skip_locked=True)
            .order_by("pk")[:size]
        )
        if not events:
            return 0, 0, 0, after_id
        done = events
        try:
            with transaction.atomic():
                deliveries = _fan_out(events, now, send_queue)
        except Exception:
            logger.exception("outbox.batch_failed", first=events[0].public_id, size=len(events))
            done, deliveries = [], 0
            for event in events:
                try:
                    with transaction.atomic():
                        deliveries += _fan_out([event], now, send_queue)
                except Exception:
                    logger.exception(
                        "outbox.event_failed", event_id=event.public_id, type=event.type
                    )
                    continue
                done.append(event)
        events_mark_dispatched(tenant=tenant, event_ids=[e.pk for e in done], at=now)
        return len(events), deliveries, len(events) - len(done), events[-1].pk


def dispatch_pending(
    *,
    tenant: Tenant,
    now: datetime,
    batch_size: int = DEFAULT_BATCH,
    send_queue: str | None = None,
) -> DispatchStats:
    """Dispatch every undispatched event of ``tenant`` (run under its tenant context).

    Walking up the ids means events another worker holds (skipped) or one that
    failed are not retried in a loop; the next run picks them up.
    """
    stats = DispatchStats()
    last = 0
    while True:
        count, deliveries, failed, last = dispatch_batch(
            tenant=tenant, now=now, size=batch_size, after_id=last, send_queue=send_queue
        )
        if not count:
            break
        stats.events += count - failed
        stats.deliveries += deliveries
        stats.failed += failed
        stats.batches += 1
    if stats.events or stats.failed:
        logger.info(
            "outbox.dispatched",
            events=stats.events,
            deliveries=stats.deliveries,
            failed=stats.failed,
            batches=stats.batches,
        )
    return stats


def pending_tenant_ids() -> list[int]:
    """Tenants with undispatched events (the caller opts into platform access)."""
    return list(
        Event.objects.filter(dispatched_at__isnull=True)
        .values_list("tenant_id", flat=True)
        .distinct()
        .order_by()
    )
