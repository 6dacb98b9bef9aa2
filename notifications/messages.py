"""Email and SMS to subscribers (and merchants), planned from outbox events.

Contract with the outbox dispatcher (``notifications/outbox.py``): for each
event it calls ``plan_messages(event, now=…)`` inside the transaction that marks
the event dispatched; the function writes the messages to send (deduplicated by
event id) and arranges their sending after commit.
"""

from __future__ import annotations

from datetime import datetime

from notifications.models import Event


def plan_messages(event: Event, *, now: datetime) -> None:
    """Write the email/SMS messages ``event`` calls for (none yet)."""
