"""Credit note lines as pure data, priced the way the invoice priced the lines they credit.

A partial credit of a line prorates the line's NET amount (before discount and
tax), rounds it once, then takes the discount and the tax of that amount exactly
as the invoice did (``billing.domain.invoicing``): a percentage coupon as a
percentage of the prorated amount, an amount-off coupon prorated, the tax by
the line's own rate and mode. Prorating the tax-inclusive total instead can be
a centavo away from what the invoice would have charged for that part.
A full credit is the line itself, to the centavo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from billing.domain.amounts import Fraction, percent_of, prorate, tax_for


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One credited part of an invoice line (or the invoice line itself, as read)."""

    description: str
    amount_minor: int
    discount_minor: int = 0
    tax_minor: int = 0
    tax_inclusive: bool = False
    tax_percent: Decimal | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    invoice_line_id: int | None = None

    @property
    def total_minor(self) -> int:
        # The invoice's rule (ProposedLine.total_minor): an inclusive tax is inside the amount.
        net = self.amount_minor - self.discount_minor
        return net if self.tax_inclusive else net + self.tax_minor


@dataclass(frozen=True, slots=True)
class CreditTotals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


def credit_totals(lines: Sequence[CreditLine]) -> CreditTotals:
    return CreditTotals(
        subtotal_minor=sum(line.amount_minor for line in lines),
        discount_minor=sum(line.discount_minor for line in lines),
        tax_minor=sum(line.tax_minor for line in lines),
        total_minor=sum(line.total_minor for line in lines),
    )


def credit_line(
    line: CreditLine,
    fraction: Fraction,
    *,
    percent_off: Decimal | None,
    rounding: str,
    period_start: datetime | None = None,
) -> CreditLine:
    """The credit for ``fraction`` of an invoice ``line``.

    ``percent_off`` is the percentage the line's coupon took off (None for an
    amount-off coupon, whose discount is prorated like the amount).
    """
    start = period_start if period_start is not None else line.period_start
    if fraction.part == fraction.whole:
        return replace(line, period_start=start)
    amount = prorate(line.amount_minor, fraction, rounding)
    if not line.discount_minor:
        discount = 0
    elif percent_off is not None:
        discount = percent_of(amount, percent_off, rounding)
    else:
        discount = prorate(line.discount_minor, fraction, rounding)
    tax = 0
    if line.tax_percent:
        net = amount - discount
        tax = tax_for(net, line.tax_percent, inclusive=line.tax_inclusive, rounding=rounding)
    return replace(
        line, amount_minor=amount, discount_minor=discount, tax_minor=tax, period_start=start
    )


def allocate_credit(
    total_minor: int, lines: Sequence[CreditLine], *, description: str
) -> list[CreditLine]:
    """A credit of a given total spread over the invoice's charged lines in
    proportion to their totals (largest remainder, ties to the earlier line),
    each share split back into amount, discount and tax in the line's own
    proportions: a share that is the whole line is that line exactly. Every
    line reads ``description`` (why it is credited); with no charged line to
    spread over, it is one untaxed line."""
    charged = [line for line in lines if line.total_minor > 0]
    whole = sum(line.total_minor for line in charged)
    if whole <= 0 or total_minor > whole:
        return [CreditLine(description=description, amount_minor=total_minor)]
    exact = [Decimal(total_minor) * line.total_minor / whole for line in charged]
    shares = [int(x) for x in exact]  # positive: int() is the floor
    left = total_minor - sum(shares)
    order = sorted(range(len(charged)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    out = []
    for line, share in zip(charged, shares, strict=True):
        if share <= 0:
            continue
        if share == line.total_minor:
            out.append(replace(line, description=description))
            continue
        ratio = Decimal(share) / line.total_minor
        discount = int((line.discount_minor * ratio).to_integral_value())
        tax = int((line.tax_minor * ratio).to_integral_value())
        amount = share + discount - (0 if line.tax_inclusive else tax)
        out.append(
            replace(
                line,
                description=description,
                amount_minor=amount,
                discount_minor=discount,
                tax_minor=tax,
            )
        )
    return out
