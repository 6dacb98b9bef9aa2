"""Pure money arithmetic for invoices: proration, discounts, taxes.

Everything is integer minor units in and out; fractions are computed in
``Decimal`` and rounded once, with the tenant's rounding mode, at the line.
A plan's list price for a quantity (flat, per seat, tiers) is the catalog's:
``subscriptions.domain.catalog``, re-exported here for pricing.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from core.localtime import from_local, local_date, to_local
from subscriptions.domain.catalog import PricingModel, Tier, recurring_amount

__all__ = [
    "ChangeDay",
    "DayCount",
    "Fraction",
    "Precision",
    "PricingModel",
    "Rounding",
    "Tier",
    "allocate",
    "percent_of",
    "prorate",
    "recurring_amount",
    "remainder_start",
    "remaining_fraction",
    "round_minor",
    "tax_for",
]


class Rounding(StrEnum):
    HALF_EVEN = "half_even"
    HALF_UP = "half_up"


class Precision(StrEnum):
    DAY = "day"
    SECOND = "second"


_ROUNDING = {Rounding.HALF_EVEN: ROUND_HALF_EVEN, Rounding.HALF_UP: ROUND_HALF_UP}


def round_minor(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[Rounding(rounding)]))


@dataclass(frozen=True, slots=True)
class Fraction:
    """The part of a period a proration covers: ``part`` of ``whole`` days or seconds."""

    part: int
    whole: int

    def __post_init__(self) -> None:
        if self.whole <= 0 or not 0 <= self.part <= self.whole:
            raise ValueError(f"Bad proration fraction {self.part}/{self.whole}")


class ChangeDay(StrEnum):
    """Whose is the day of a change or cancellation (issue 16, "Conventions")."""

    NEW = "new"  # it belongs to the new state: credited on the old one (Ciclo's default)
    OLD = "old"  # it counts as used on the old state (Lago, Chargebee)


class DayCount(StrEnum):
    """How long a month is when prorating (issue 16, "Conventions")."""

    CALENDAR = "calendar"  # its calendar days (Ciclo's default)
    THIRTY = "thirty"  # every month is 30 days (Kill Bill's fixed-days proration)


def _day30(day: datetime) -> int:
    """A local date's place on the 30-day calendar: 360 a year, 30 a month; the
    31st and every month's last day are the 30th (so Feb 28 -> Mar 31 is 30 days)."""
    last = calendar.monthrange(day.year, day.month)[1]
    dom = 30 if day.day >= 30 or day.day == last else day.day
    return day.year * 360 + (day.month - 1) * 30 + dom


def _position(moment: datetime, *, precision: str, day_count: str, tz: str) -> int:
    """Where ``moment`` sits on the counting line, in days (by day) or seconds."""
    local = to_local(moment, tz)
    day = _day30(local) if day_count == DayCount.THIRTY else local.date().toordinal()
    if precision != Precision.SECOND:
        return day
    since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day * 86400 + int(since_midnight.total_seconds())


def remainder_start(
    *, period_start: datetime, period_end: datetime, at: datetime, tz: str, change_day: str
) -> datetime:
    """Where the remainder of ``[period_start, period_end)`` after a change at
    ``at`` starts: ``at`` itself (clamped to the period), or under ChangeDay.OLD,
    for a change strictly inside the period, the next local midnight (the rest of
    the day of the change is used on the old state)."""
    at = min(max(at, period_start), period_end)
    if change_day == ChangeDay.OLD and period_start < at < period_end:
        local = to_local(at, tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        at = min(from_local(midnight + timedelta(days=1), tz), period_end)
    return at


def remaining_fraction(
    *,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    precision: str,
    tz: str,
    day_count: str = DayCount.CALENDAR,
    change_day: str = ChangeDay.NEW,
) -> Fraction:
    """What is left of ``[period_start, period_end)`` from ``at`` on: the one place
    every proration (change now, cancel with credit, pause now, interval change,
    coupon now, short first period) gets its fraction, following the tenant's
    conventions.

    By day, calendar days in the tenant's time zone; by second, exact.

    ``change_day``: NEW, the day of the change counts as remaining (credited); OLD,
    it counts as used, so by day one day less remains, by second the remainder
    starts at the next local midnight. OLD applies only to a change strictly
    inside the period (a change at the period's start uses nothing).

    ``day_count``: THIRTY counts every month as 30 days, by day and by second
    (a second's place is its day on the 30-day calendar x 86 400 + its seconds
    since local midnight). A date's day on that calendar is its day of month,
    except that the 31st and the last day of a month are the 30th. So a monthly
    period is 30 days whatever the month (Feb 1 -> Mar 1, Jan 31 -> Feb 29,
    Feb 29 -> Mar 31 are all 30), a quarter 90, a year 360; a partial month
    counts its days on that calendar. Example, by day: Mar 10 -> Apr 10 (31
    calendar days), a change on Mar 31 leaves Mar 31(=30) -> Apr 10 = 10 of 30
    days (calendar: 10 of 31); on Mar 30 also 10 of 30 (the 30th and the 31st
    are the same day on that calendar). Where the calendar squeezes a range to
    nothing (Jan 30 -> Jan 31), the fraction falls back to calendar days.
    """
    at = remainder_start(
        period_start=period_start, period_end=period_end, at=at, tz=tz, change_day=change_day
    )
    if day_count == DayCount.THIRTY:
        end = _position(period_end, precision=precision, day_count=day_count, tz=tz)
        whole = end - _position(period_start, precision=precision, day_count=day_count, tz=tz)
        part = end - _position(at, precision=precision, day_count=day_count, tz=tz)
        if whole > 0:
            return Fraction(min(max(part, 0), whole), whole)
        # The 30-day calendar squeezed the period to nothing: count calendar days.
    if precision == Precision.SECOND:
        whole = int((period_end - period_start).total_seconds())
        return Fraction(int((period_end - at).total_seconds()), whole)
    end_date = local_date(period_end, tz)
    whole = (end_date - local_date(period_start, tz)).days
    part = (end_date - local_date(at, tz)).days
    if whole == 0:  # a period shorter than a day: fall back to seconds
        return remaining_fraction(
            period_start=period_start,
            period_end=period_end,
            at=at,
            precision=Precision.SECOND,
            tz=tz,
        )
    return Fraction(part, whole)


def prorate(amount_minor: int, fraction: Fraction, rounding: str) -> int:
    if fraction.part == fraction.whole:
        return amount_minor
    return round_minor(Decimal(amount_minor) * fraction.part / fraction.whole, rounding)


def allocate(total_minor: int, weights: Sequence[int], rounding: str) -> list[int]:
    """``total_minor`` split in proportion to ``weights`` (positive, adding up to
    at least ``total_minor``): each share rounded once, then the rounding
    remainder on the largest weight (the first of equals). No share goes below
    zero or above its weight: what would is moved on to the next largest."""
    whole = sum(weights)
    if not weights or whole <= 0:
        return [0 for _ in weights]
    shares = [round_minor(Decimal(total_minor) * w / whole, rounding) for w in weights]
    remainder = total_minor - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        if remainder == 0:
            break
        moved = min(max(shares[i] + remainder, 0), weights[i]) - shares[i]
        shares[i] += moved
        remainder -= moved
    return shares


def percent_of(amount_minor: int, percent: Decimal, rounding: str) -> int:
    return round_minor(Decimal(amount_minor) * percent / 100, rounding)


def tax_for(net_minor: int, rate_percent: Decimal, *, inclusive: bool, rounding: str) -> int:
    """Exclusive: the tax added on top. Inclusive: the tax contained in ``net_minor``."""
    if inclusive:
        return net_minor - round_minor(Decimal(net_minor) * 100 / (100 + rate_percent), rounding)
    return percent_of(net_minor, rate_percent, rounding)
