"""Billing periods from an immutable anchor (never from the previous period's end).

Period ``n`` of a subscription starts at ``boundary(anchor, n)``; the arithmetic
is done on the local calendar of the tenant's time zone and converted back to
UTC, so "the 31st at midnight in São Paulo" stays that across DST changes and
month ends clamp: Jan 31 → Feb 28/29 → Mar 31.
"""

from __future__ import annotations

import calendar
from datetime import datetime

# The local-time helpers live in core (every app uses them); re-exported here for
# the period arithmetic below and subscriptions' own modules.
from core.localtime import Interval, from_local, local_date, shift, to_local
from core.localtime import add_months as _add_months

__all__ = [
    "Interval",
    "boundary",
    "calendar_anchor",
    "calendar_grid",
    "from_local",
    "local_date",
    "next_anchor_on_day",
    "shift",
    "to_local",
]


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


def calendar_grid(interval: str, interval_count: int) -> bool:
    """Whether periods of ``interval`` × ``interval_count`` can align on the
    calendar: months in a count dividing the year (1, 2, 3, 4, 6, 12: the 1st,
    calendar quarters, halves …) or years (Jan 1st)."""
    if interval == Interval.MONTH:
        return 12 % interval_count == 0
    return interval == Interval.YEAR


def calendar_anchor(first: datetime, interval: str, interval_count: int, tz: str) -> datetime:
    """The first calendar boundary at or after ``first`` (UTC): local midnight on
    the 1st of a month whose number is 1 + a multiple of ``interval_count``
    (Jan/Apr/Jul/Oct 1st for quarters), or Jan 1st for years."""
    local = to_local(first, tz)
    step = interval_count if interval == Interval.MONTH else 12
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = start.replace(month=1 + (local.month - 1) // step * step)
    if start == local:
        return first
    return from_local(_add_months(start, step), tz)
