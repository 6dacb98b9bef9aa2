"""A state change is told twice, in the same transaction: to the outbox (the event webhooks and
messages are made from, DESIGN.md invariant 6) and to the audit log (who did it, from where,
invariant 7). ``record_change`` writes both, so no service can write one and forget the other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import models

from core.actors import Actor
from tenants import audit
from tenants.models import Tenant
from tenants.outbox import emit


def record_change(
    *,
    tenant: Tenant,
    actor: Actor,
    at: datetime,
    event: str,
    subject_type: str,
    subject_id: str,
    data: Mapping[str, Any],
    target: models.Model,
    action: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> str:
    """Emit ``event`` about the subject with ``data``, and audit ``action`` (the event's name
    unless the log names it otherwise) on ``target``. ``changes`` is what the log keeps: never
    more personal data than needed. Returns the event's id."""
    event_id = emit(
        tenant_id=tenant.pk,
        type=event,
        at=at,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data,
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action=action or event,
        target=target,
        changes=changes,
        at=at,
    )
    return event_id
