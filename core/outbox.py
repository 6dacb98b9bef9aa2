"""The outbox writer: one domain event per state change, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifications.models import Event


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
) -> Event:
    [event] = emit_many([PendingEvent(tenant_id, type, at, subject_type, subject_id, data or {})])
    return event


def emit_many(events: Iterable[PendingEvent]) -> list[Event]:
    from notifications.models import Event

    return Event.objects.bulk_create(
        [
            Event(
                tenant_id=e.tenant_id,
                type=e.type,
                at=e.at,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                data=dict(e.data),
            )
            for e in events
        ]
    )
