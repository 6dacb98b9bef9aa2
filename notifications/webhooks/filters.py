"""An endpoint's event filters: exact types (``invoice.paid``), prefixes
(``invoice.*``) or ``*``, and which events they match."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from core.errors import ValidationFailed

MAX_EVENT_FILTERS = 100


def validate_event_filters(value: Any) -> list[str]:
    """A non-empty list of exact types (``invoice.paid``), prefixes (``invoice.*``) or ``*``."""
    if not isinstance(value, list | tuple) or not value:
        raise ValidationFailed(
            _("Choose at least one event type (or * for all)."),
            param="enabled_events",
            code="invalid_event_filter",
        )
    if len(value) > MAX_EVENT_FILTERS:
        raise ValidationFailed(
            _("At most %(n)d event types.") % {"n": MAX_EVENT_FILTERS},
            param="enabled_events",
            code="invalid_event_filter",
        )
    cleaned: list[str] = []
    for item in value:
        item = item.strip() if isinstance(item, str) else item
        if not isinstance(item, str) or not _valid_filter(item):
            raise ValidationFailed(
                _("Not an event type: %(value)s. Use e.g. invoice.paid, invoice.* or *.")
                % {"value": str(item)[:80]},
                param="enabled_events",
                code="invalid_event_filter",
            )
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def _valid_filter(item: str) -> bool:
    if item == "*":
        return True
    if len(item) > 64:
        return False
    parts = item.split(".")
    if parts[-1] == "*":
        parts = parts[:-1]
        if not parts:
            return False
    return all(p and all(c.islower() or c.isdigit() or c == "_" for c in p) for p in parts)


def event_matches(filters: Iterable[str], event_type: str) -> bool:
    for f in filters:
        if f == "*" or f == event_type or (f.endswith(".*") and event_type.startswith(f[:-1])):
            return True
    return False
