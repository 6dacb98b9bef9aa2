"""Pure money arithmetic for invoices: proration, discounts, taxes.

Everything is integer minor units in and out; fractions are computed in
``Decimal`` and rounded once, with the tenant's rounding mode, at the line.
A plan's list price for a quantity (flat, per seat, tiers) is the catalog's:
``subscriptions.domain.catalog``, re-exported here for pricing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from core.localtime import local_date
from subscriptions.domain.catalog import PricingModel, Tier, recurring_amount

__all__ = [
    "Fraction",
    "Precision",
    "PricingModel",
    "Rounding",
    "Tier",
    "percent_of",
    "prorate",
    "recurring_amount",
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


def remaining_fraction(
    *, period_start: datetime, period_end: datetime, at: datetime, precision: str, tz: str
) -> Fraction:
    """What is left of ``[period_start, period_end)`` from ``at`` on.

    By day, the day of the change counts as remaining (calendar days in the
    tenant's time zone); by second, it is exact.
    """
    at = min(max(at, period_start), period_end)
    if precision == Precision.SECOND:
        whole = int((period_end - period_start).total_seconds())
        return Fraction(int((period_end - at).total_seconds()), whole)
    end = local_date(period_end, tz)
    whole = (end - local_date(period_start, tz)).days
    part = (end - local_date(at, tz)).days
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


def percent_of(amount_minor: int, percent: Decimal, rounding: str) -> int:
    return round_minor(Decimal(amount_minor) * percent / 100, rounding)


def tax_for(net_minor: int, rate_percent: Decimal, *, inclusive: bool, rounding: str) -> int:
    """Exclusive: the tax added on top. Inclusive: the tax contained in ``net_minor``."""
    if inclusive:
        return net_minor - round_minor(Decimal(net_minor) * 100 / (100 + rate_percent), rounding)
    return percent_of(net_minor, rate_percent, rounding)
