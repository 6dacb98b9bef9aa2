"""List filters declared as data: applied to the queryset and documented from the same data."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions

from core.api.fields import api_id

# --- list filters -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilter:
    """One query parameter of a list: ``kind`` is string, id, boolean or datetime."""

    name: str
    lookup: str
    description: str
    kind: str = "string"
    enum: Sequence[str] = ()


CREATED_FILTERS = (
    ListFilter(
        "created[gte]",
        "created_at__gte",
        "Only objects created at or after this time: ISO 8601 with a time zone "
        "(2026-03-01T00:00:00Z) or a Unix timestamp in seconds (1772323200).",
        "datetime",
    ),
    ListFilter(
        "created[lte]",
        "created_at__lte",
        "Only objects created at or before this time: ISO 8601 with a time zone "
        "(2026-03-01T00:00:00Z) or a Unix timestamp in seconds (1772323200).",
        "datetime",
    ),
)


def _bad_filter(name: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [message]}, code="invalid")


def apply_list_filters(
    queryset: QuerySet[Any], params: Mapping[str, str], filters: Sequence[ListFilter]
) -> QuerySet[Any]:
    for spec in filters:
        raw = params.get(spec.name)
        if raw is None:
            continue
        if "\x00" in raw or len(raw) > 200:
            raise _bad_filter(spec.name, "Invalid value.")
        value: Any = raw
        if spec.kind == "datetime":
            value = _parse_time(raw)
            if value is None:
                raise _bad_filter(spec.name, "Expected an ISO 8601 time with a time zone.")
        elif spec.kind == "boolean":
            if raw not in ("true", "false"):
                raise _bad_filter(spec.name, "Expected true or false.")
            value = raw == "true"
        elif spec.kind == "id" and not api_id(raw):
            # Matches nothing, but the other filters are still checked.
            queryset = queryset.none()
            continue
        elif spec.enum and raw not in spec.enum:
            raise _bad_filter(spec.name, f"Expected one of: {', '.join(spec.enum)}.")
        queryset = queryset.filter(**{spec.lookup: value})
    return queryset


def _parse_time(raw: str) -> datetime | None:
    if re.fullmatch(r"[0-9]{1,11}", raw):  # a Unix timestamp
        return datetime.fromtimestamp(int(raw), tz=UTC)
    try:
        parsed = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed
