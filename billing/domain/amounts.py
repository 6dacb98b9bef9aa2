"""Pure money arithmetic for invoices: proration, tiers, discounts, taxes.

Everything is integer minor units in and out; fractions are computed in
``Decimal`` and rounded once, with the tenant's rounding mode, at the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from core.localtime import local_date


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


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None  # inclusive upper bound of units; None = infinity
    unit_amount_minor: int
    flat_amount_minor: int = 0


class PricingModel(StrEnum):
    FLAT = "flat"
    PER_SEAT = "per_seat"
    GRADUATED = "graduated"
    VOLUME = "volume"


def recurring_amount(
    *, model: str, unit_amount_minor: int, quantity: int, tiers: Sequence[Tier] = ()
) -> int:
    """The price of one full period for ``quantity`` seats."""
    if quantity < 0:
        raise ValueError("Quantity cannot be negative.")
    if model == PricingModel.FLAT:
        return unit_amount_minor
    if model == PricingModel.PER_SEAT:
        return unit_amount_minor * quantity
    if not tiers:
        raise ValueError("Tiered pricing needs tiers.")
    if model == PricingModel.VOLUME:
        for tier in tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return tier.unit_amount_minor * quantity + tier.flat_amount_minor
        raise ValueError("No tier covers this quantity.")
    if model == PricingModel.GRADUATED:
        total, below = 0, 0
        for tier in tiers:
            top = quantity if tier.up_to is None else min(quantity, tier.up_to)
            units = max(0, top - below)
            if units:
                total += units * tier.unit_amount_minor + tier.flat_amount_minor
            if tier.up_to is None or quantity <= tier.up_to:
                return total
            below = tier.up_to
        raise ValueError("No tier covers this quantity.")
    raise ValueError(f"Unknown pricing model: {model}")


def percent_of(amount_minor: int, percent: Decimal, rounding: str) -> int:
    return round_minor(Decimal(amount_minor) * percent / 100, rounding)


def tax_for(net_minor: int, rate_percent: Decimal, *, inclusive: bool, rounding: str) -> int:
    """Exclusive: the tax added on top. Inclusive: the tax contained in ``net_minor``."""
    if inclusive:
        return net_minor - round_minor(Decimal(net_minor) * 100 / (100 + rate_percent), rounding)
    return percent_of(net_minor, rate_percent, rounding)
