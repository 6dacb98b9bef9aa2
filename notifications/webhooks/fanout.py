"""The fan-out, called by the outbox dispatcher: every outbox event matching an
endpoint's filter becomes one ``WebhookDelivery`` (unique per event and
endpoint), planned in the transaction that marks the event dispatched, its
sending enqueued after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from django.db import transaction

from core.bulk import insert_rows
from core.ids import new_public_id
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks.enqueue import _enqueue_sends
from notifications.webhooks.filters import event_matches
from tenants.models import Event

Status = WebhookDelivery.Status


def plan_deliveries(event: Event, *, now: datetime) -> list[int]:
    """Write one delivery per enabled endpoint whose filter matches ``event``."""
    return plan_deliveries_many([event], now=now)


def plan_deliveries_many(
    events: Sequence[Event], *, now: datetime, send_queue: str | None = None
) -> list[int]:
    """The batch form: one query for the endpoints, one insert for the deliveries,
    and their sending enqueued after commit. Returns the new deliveries' ids."""
    if not events:
        return []
    tenant_id = events[0].tenant_id
    endpoints = list(
        WebhookEndpoint.objects.filter(
            tenant_id=tenant_id, status=WebhookEndpoint.Status.ENABLED
        ).values_list("pk", "enabled_events")
    )
    if not endpoints:
        return []
    pairs = [
        (event.pk, endpoint_pk)
        for event in events
        for endpoint_pk, filters in endpoints
        if event_matches(filters, event.type)
    ]
    if not pairs:
        return []
    # A replay may already have created a pair (the unique constraint is the last wall).
    existing = set(
        WebhookDelivery.objects.filter(
            tenant_id=tenant_id, event_id__in={p[0] for p in pairs}
        ).values_list("event_id", "endpoint_id")
    )
    rows = [
        {
            "tenant": tenant_id,
            "public_id": new_public_id("wd"),
            "endpoint": endpoint_pk,
            "event": event_pk,
            "status": Status.PENDING.value,
            "attempt_count": 0,
            "next_attempt_at": now,
            "last_error": "",
            "replay_requested": False,
            "created_at": now,
            "updated_at": now,
        }
        for event_pk, endpoint_pk in pairs
        if (event_pk, endpoint_pk) not in existing
    ]
    ids = insert_rows(WebhookDelivery, rows, list(rows[0]) if rows else [], returning=True)
    if ids:
        transaction.on_commit(partial(_enqueue_sends, tenant_id, ids, send_queue))
    return ids
