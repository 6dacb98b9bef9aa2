"""The outbox writer: one domain event per state change, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.bulk import insert_rows
from core.ids import new_public_id
from core.registry import registered
from tenants.models import Event, Tenant


@dataclass(frozen=True, slots=True)
class PendingEvent:
    tenant_id: int
    type: str
    at: datetime
    subject_type: str = ""
    subject_id: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


def emit(
    *,
    tenant_id: int,
    type: str,
    at: datetime,
    subject_type: str = "",
    subject_id: str = "",
    data: Mapping[str, Any] | None = None,
) -> str:
    [event_id] = emit_many(
        [PendingEvent(tenant_id, type, at, subject_type, subject_id, data or {})]
    )
    return event_id


def emit_many(events: Iterable[PendingEvent]) -> list[str]:
    """Write the events; returns their public ids (``evt_…``), in order.

    Then, in the same transaction, the functions ``settings.OUTBOX_LISTENERS``
    names are called with the events (reports keeps its MRR log this way)."""
    events = list(events)
    rows = [
        {
            "tenant": e.tenant_id,
            "public_id": new_public_id("evt"),
            "type": e.type,
            "at": e.at,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "data": dict(e.data),
            "created_at": e.at,
        }
        for e in events
    ]
    insert_rows(
        Event,
        rows,
        ["tenant", "public_id", "type", "at", "subject_type", "subject_id", "data", "created_at"],
    )
    if events:
        for listener in registered("OUTBOX_LISTENERS"):
            listener(events)
    return [row["public_id"] for row in rows]


def events_mark_dispatched(*, tenant: Tenant, event_ids: Iterable[int], at: datetime) -> int:
    """The outbox dispatcher (notifications/outbox.py) planned these events'
    webhooks and messages; they leave its queue."""
    return Event.objects.filter(tenant=tenant, pk__in=list(event_ids)).update(dispatched_at=at)
