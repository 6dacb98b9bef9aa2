"""Invoice lines as pure data: the same functions price a preview and a real invoice.

Discounts and taxes are computed per line and rounded once each; a document's
total is the sum of its lines' totals, always. A document never goes below
zero: a negative remainder becomes a "credit carried to balance" line and
customer credit instead (Stripe and Kill Bill carry credit the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from billing.domain.amounts import Tier, allocate, percent_of, recurring_amount, tax_for

RECURRING = "recurring"
SETUP_FEE = "setup_fee"
PRORATION = "proration"
CREDIT_CARRIED = "credit_carried"
TRIAL = "trial"  # the zero line of a trial invoice (never discounted)


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What pricing needs to know of a plan version."""

    id: int
    name: str
    code: str
    currency: str
    amount_minor: int
    pricing_model: str
    tiers: tuple[Tier, ...]
    setup_fee_minor: int
    interval: str
    interval_count: int
    tax_percent: Decimal | None = None
    tax_inclusive: bool = False

    def period_amount(self, quantity: int) -> int:
        return recurring_amount(
            model=self.pricing_model,
            unit_amount_minor=self.amount_minor,
            quantity=quantity,
            tiers=self.tiers,
        )


@dataclass(frozen=True, slots=True)
class Discount:
    """An active coupon on a subscription, as pricing sees it."""

    coupon_id: int
    code: str
    percent_off: Decimal | None
    setup_percent_off: Decimal | None
    amount_off_minor: int | None
    on_recurring: bool
    on_setup: bool


@dataclass(frozen=True, slots=True)
class ProposedLine:
    kind: str
    description: str
    amount_minor: int
    quantity: int = 1
    discount_minor: int = 0
    tax_minor: int = 0
    tax_inclusive: bool = False
    tax_percent: Decimal | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    plan_id: int | None = None
    coupon_id: int | None = None

    @property
    def total_minor(self) -> int:
        net = self.amount_minor - self.discount_minor
        return net if self.tax_inclusive else net + self.tax_minor


def discount_lines(
    lines: Sequence[ProposedLine], discount: Discount | None, rounding: str
) -> list[ProposedLine]:
    """Apply a coupon to the recurring and/or setup lines it targets.

    A percentage is taken off each line it targets (rounded per line). An amount
    off is spread over those lines in proportion to their amounts, each share
    rounded once, the rounding remainder on the largest line (the first of
    equals): what a line was given does not depend on the lines' order. The
    part of the amount larger than the lines is left for the caller to carry."""
    if discount is None:
        return list(lines)
    if discount.amount_off_minor is not None:
        return _spread_amount_off(lines, discount, rounding)
    out = []
    for line in lines:
        if line.kind == PRORATION and discount.on_recurring:
            # A percentage off the recurring fee applies to what replaces it
            # mid-period, credits included (Stripe does the same).
            off = percent_of(line.amount_minor, discount.percent_off or Decimal(0), rounding)
            out.append(
                replace(line, discount_minor=off, coupon_id=discount.coupon_id) if off else line
            )
            continue
        if not _targets(discount, line):
            out.append(line)
            continue
        percent = (
            discount.setup_percent_off
            if line.kind == SETUP_FEE and discount.setup_percent_off is not None
            else discount.percent_off
        )
        off = percent_of(line.amount_minor, percent or Decimal(0), rounding)
        out.append(replace(line, discount_minor=off, coupon_id=discount.coupon_id) if off else line)
    return out


def _targets(discount: Discount, line: ProposedLine) -> bool:
    """A positive recurring or setup line the coupon applies to."""
    eligible = (line.kind == RECURRING and discount.on_recurring) or (
        line.kind == SETUP_FEE and discount.on_setup
    )
    return eligible and line.amount_minor > 0


def _spread_amount_off(
    lines: Sequence[ProposedLine], discount: Discount, rounding: str
) -> list[ProposedLine]:
    out = list(lines)
    targets = [i for i, line in enumerate(lines) if _targets(discount, line)]
    amounts = [lines[i].amount_minor for i in targets]
    off = min(discount.amount_off_minor or 0, sum(amounts))
    if off <= 0:
        return out
    for i, share in zip(targets, allocate(off, amounts, rounding), strict=True):
        if share:
            out[i] = replace(lines[i], discount_minor=share, coupon_id=discount.coupon_id)
    return out


def tax_lines(lines: Sequence[ProposedLine], rounding: str) -> list[ProposedLine]:
    return [
        replace(
            line,
            tax_minor=tax_for(
                line.amount_minor - line.discount_minor,
                line.tax_percent,
                inclusive=line.tax_inclusive,
                rounding=rounding,
            ),
        )
        if line.tax_percent
        else line
        for line in lines
    ]


def close_document(lines: Sequence[ProposedLine]) -> tuple[list[ProposedLine], int]:
    """Lines plus, when they sum below zero, the line that carries the credit to
    the customer's balance; and the credit carried (0 when none)."""
    total = sum(line.total_minor for line in lines)
    if total >= 0:
        return list(lines), 0
    carried = ProposedLine(kind=CREDIT_CARRIED, description="", amount_minor=-total)
    return [*lines, carried], -total


def price(
    lines: Sequence[ProposedLine], *, discount: Discount | None, rounding: str
) -> tuple[list[ProposedLine], int]:
    """Discounts, then taxes, then the zero floor: the one path for every document."""
    return close_document(tax_lines(discount_lines(lines, discount, rounding), rounding))


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


def totals(lines: Sequence[ProposedLine]) -> Totals:
    return Totals(
        subtotal_minor=sum(line.amount_minor for line in lines),
        discount_minor=sum(line.discount_minor for line in lines),
        tax_minor=sum(line.tax_minor for line in lines),
        total_minor=sum(line.total_minor for line in lines),
    )
