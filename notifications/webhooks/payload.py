"""What a webhook carries: an event as the Standard Webhooks JSON body."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tenants.models import Event


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what the API and the payloads print."""
    from datetime import UTC

    text = dt.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def event_data(event: Event) -> dict[str, Any]:
    """The event's data with its subject first: ``{"object": "invoice", "id": "in_…", …}``."""
    data: dict[str, Any] = {}
    if event.subject_type:
        data["object"] = event.subject_type
    if event.subject_id:
        data["id"] = event.subject_id
    for key, value in (event.data or {}).items():
        data.setdefault(key, value)
    return data


def event_payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.public_id,
        "type": event.type,
        "created": iso(event.at),
        "data": event_data(event),
    }


def event_body(event: Event) -> str:
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False)
