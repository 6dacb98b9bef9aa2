"""Readjustment (reajuste) arithmetic: pure, no ORM, no clock.

- The accumulated factor of an index over 12 months is the monthly rates
  compounded, ∏(1 + rᵢ) − 1, never their sum (IPCA 2023: sum 4.53 %, compounded
  4.62 %, the figure IBGE publishes).
- Which months: the 12 ending two months before the month the new price is due
  (due in February 2024 → January to December 2023), so that the last month is
  published (IBGE/FGV publish a month's rate in the first half of the next)
  before the notice goes out. A missing month means no factor: the readjustment
  waits until it is entered.
- Due dates: every 12 months from the contract's start (its anniversary), or a
  fixed month for all contracts (the 1st of that month, for every contract at
  least a year old by then).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

# Months of the index a readjustment uses, and how many months before the due
# month the last of them is.
WINDOW_MONTHS = 12
LAG_MONTHS = 2
# The factor is kept to 8 decimal places (a millionth of a percent): the new
# price is computed from the stored factor, so it can be recomputed from the record.
FACTOR_PLACES = Decimal("0.00000001")
# A monthly rate outside these bounds is a typo (IGP-M's worst months were about
# -2 % and +4 %; even hyperinflation-era months stayed under +90 %).
MIN_MONTHLY_RATE = Decimal("-50")
MAX_MONTHLY_RATE = Decimal("100")

_ROUNDING = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP}


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, clamped at the month's end (Jan 31 + 1 → Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def index_months(due_on: date) -> list[date]:
    """The 12 months (their 1st days) accumulated for a readjustment due on ``due_on``."""
    last = add_months(month_start(due_on), -LAG_MONTHS)
    return [add_months(last, -i) for i in range(WINDOW_MONTHS - 1, -1, -1)]


@dataclass(frozen=True, slots=True)
class Factor:
    """An accumulated factor (0.0462 = +4.62 %) and the months it was computed from."""

    value: Decimal
    months: tuple[date, ...] = ()

    @property
    def percent(self) -> Decimal:
        return self.value * 100


def accumulated(rates: Mapping[date, Decimal], months: Sequence[date]) -> Decimal | None:
    """∏(1 + rᵢ/100) − 1 over ``months`` (rates in percent), or None when one is missing."""
    product = Decimal(1)
    for month in months:
        rate = rates.get(month)
        if rate is None:
            return None
        product *= 1 + Decimal(rate) / 100
    return (product - 1).quantize(FACTOR_PLACES, rounding=ROUND_HALF_EVEN)


def missing_months(rates: Mapping[date, Decimal], months: Sequence[date]) -> list[date]:
    return [m for m in months if m not in rates]


def bounded(
    factor: Decimal, *, floor_percent: Decimal | None, cap_percent: Decimal | None
) -> Decimal:
    """The factor held between the policy's floor and cap (in percent)."""
    if floor_percent is not None:
        factor = max(factor, Decimal(floor_percent) / 100)
    if cap_percent is not None:
        factor = min(factor, Decimal(cap_percent) / 100)
    return factor.quantize(FACTOR_PLACES, rounding=ROUND_HALF_EVEN)


def readjusted(amount_minor: int, factor: Decimal, rounding: str) -> int:
    """``amount_minor`` × (1 + factor), rounded once to the minor unit with the tenant's mode."""
    value = Decimal(amount_minor) * (1 + factor)
    return max(0, int(value.to_integral_value(rounding=_ROUNDING[rounding])))


def anniversary_due(start: date, today: date) -> date:
    """The first anniversary of ``start`` (12, 24, … months later) on or after ``today``."""
    years = max(1, today.year - start.year - 1)
    due = add_months(start, 12 * years)
    while due < today:
        years += 1
        due = add_months(start, 12 * years)
    return due


def fixed_month_due(start: date, today: date, month: int) -> date:
    """The first 1st of ``month`` on or after ``today`` by which the contract is a year old."""
    due = date(today.year, month, 1)
    if due < today:
        due = date(today.year + 1, month, 1)
    while due < add_months(start, 12):
        due = date(due.year + 1, month, 1)
    return due


@dataclass(frozen=True, slots=True)
class ItemChange:
    """An add-on's unit price before and after a readjustment (a policy covering
    add-ons): the same factor as the recurring fee, rounded the same way."""

    item: str  # the item's public id (si_…)
    plan: str  # its plan's code
    quantity: int
    old: int
    new: int

    def as_json(self) -> dict[str, object]:
        return {
            "item": self.item,
            "plan": self.plan,
            "quantity": self.quantity,
            "old": self.old,
            "new": self.new,
        }

    @classmethod
    def from_json(cls, row: Mapping[str, object]) -> ItemChange:
        return cls(
            item=str(row["item"]),
            plan=str(row["plan"]),
            quantity=int(str(row["quantity"])),
            old=int(str(row["old"])),
            new=int(str(row["new"])),
        )
