"""Billing periods from an immutable anchor (never from the previous period's end).

Period ``n`` of a subscription starts at ``boundary(anchor, n)``; the arithmetic
is done on the local calendar of the tenant's time zone and converted back to
UTC, so "the 31st at midnight in São Paulo" stays that across DST changes and
month ends clamp: Jan 31 → Feb 28/29 → Mar 31.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def _add_months(local: datetime, months: int, day: int | None = None) -> datetime:
    """``months`` later on the calendar, on ``day`` (default: ``local``'s day),
    clamped to the month's last day."""
    total = local.year * 12 + (local.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = min(day or local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def to_local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def from_local(local: datetime, tz: str) -> datetime:
    # fold=0: an ambiguous wall time (DST fall-back) takes its first occurrence.
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def shift(local: datetime, interval: str, count: int, day: int | None = None) -> datetime:
    """``local`` moved by ``count`` intervals on the wall calendar (no time zone).

    ``day`` is the day of the month monthly and yearly periods fall on when the
    anchor itself was clamped (a billing day of 31 anchored on Feb 28).
    """
    if interval == Interval.DAY:
        return local + timedelta(days=count)
    if interval == Interval.WEEK:
        return local + timedelta(weeks=count)
    if interval == Interval.MONTH:
        return _add_months(local, count, day)
    if interval == Interval.YEAR:
        return _add_months(local, 12 * count, day)
    raise ValueError(f"Unknown interval: {interval}")


def boundary(
    anchor: datetime, interval: str, interval_count: int, n: int, tz: str, day: int | None = None
) -> datetime:
    """Start of period ``n`` (UTC) for a subscription anchored at ``anchor`` (UTC)."""
    return from_local(shift(to_local(anchor, tz), interval, interval_count * n, day), tz)


def next_anchor_on_day(start: datetime, day: int, tz: str) -> datetime:
    """The first local midnight on ``day`` of a month (clamped) strictly after ``start``'s date,
    or ``start`` itself when it already is that midnight."""
    local = to_local(start, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = midnight.replace(day=min(day, calendar.monthrange(local.year, local.month)[1]))
    if candidate == local:
        return start
    if candidate <= local:
        candidate = _add_months(candidate.replace(day=1), 1)
        candidate = candidate.replace(
            day=min(day, calendar.monthrange(candidate.year, candidate.month)[1])
        )
    return from_local(candidate, tz)


def local_date(moment: datetime, tz: str) -> date:
    return to_local(moment, tz).date()
