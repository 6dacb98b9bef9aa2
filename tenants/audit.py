"""The audit writer every service calls (DESIGN.md invariant 7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import models

from core.actors import Actor
from core.request_context import current_origin
from tenants.models import AuditEntry, Tenant


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    at: datetime,
    target: models.Model | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry; where it came from is read from the request context.

    ``changes`` maps a field to ``[old, new]`` (or to a value for creations).
    """
    origin = current_origin()
    return AuditEntry.objects.create(
        tenant=tenant,
        at=at,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        changes=_jsonable(dict(changes or {})),
        ip=origin.ip,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
    )
