"""Local time in a tenant's time zone: wall-clock conversions and calendar shifts.

Billing dates are computed on the tenant's local calendar and stored in UTC
(DESIGN.md invariant 3); every app that shows or computes a local date uses these.
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


def add_months(local: datetime, months: int, day: int | None = None) -> datetime:
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
        return add_months(local, count, day)
    if interval == Interval.YEAR:
        return add_months(local, 12 * count, day)
    raise ValueError(f"Unknown interval: {interval}")


def local_date(moment: datetime, tz: str) -> date:
    return to_local(moment, tz).date()
