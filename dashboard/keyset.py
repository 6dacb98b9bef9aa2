"""Keyset pagination over (created_at desc, id desc): stable while rows are added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)
PAGE_SIZE = 50


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str  # "" on the last page


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _encode(at: datetime, pk: int) -> str:
    # Whole microseconds since the epoch: exact, and safe in a URL as it is.
    return f"{(at - _EPOCH) // _MICRO}_{pk}"


def _decode(cursor: str) -> tuple[datetime, int] | None:
    at, _, pk = cursor.partition("_")
    try:
        return _EPOCH + int(at) * _MICRO, int(pk)
    except (ValueError, OverflowError):
        return None  # a mangled cursor is the first page, never a 500


def keyset_page(
    rows: QuerySet[M], *, after: str | None, field: str = "created_at", size: int | None = None
) -> KeysetPage[M]:
    """The page of ``rows`` after ``after`` (a cursor from the previous page)."""
    size = size or PAGE_SIZE
    rows = rows.order_by(f"-{field}", "-id")
    key = _decode(after) if after else None
    if key is not None:
        at, pk = key
        rows = rows.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "id__lt": pk}))
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    cursor = ""
    if more:
        last: Any = found[-1]
        cursor = _encode(getattr(last, field), last.pk)
    return KeysetPage(found, cursor)
