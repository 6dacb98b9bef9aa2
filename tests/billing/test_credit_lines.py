"""Credit lines priced as the invoice priced the line (billing.domain.credits): the net
amount prorated and rounded, then the discount, then the tax. Hand-computed; each case
notes what prorating the tax-inclusive total (the old way) gave, a centavo away."""

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest

from billing.domain.amounts import Fraction
from billing.domain.credits import CreditLine, allocate_credit, credit_line, credit_totals
from billing.domain.invoicing import RECURRING, Discount, ProposedLine, price

MODES = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP}


def invoice_line(
    amount: int,
    *,
    tax: str | None,
    inclusive: bool = False,
    percent_off: str | None = None,
    amount_off: int | None = None,
    rounding: str = "half_even",
) -> CreditLine:
    """The line exactly as the invoice prices it (billing.domain.invoicing.price)."""
    discount = None
    if percent_off is not None or amount_off is not None:
        discount = Discount(
            coupon_id=1,
            code="C",
            percent_off=Decimal(percent_off) if percent_off else None,
            setup_percent_off=None,
            amount_off_minor=amount_off,
            on_recurring=True,
            on_setup=False,
        )
    [line], _ = price(
        [
            ProposedLine(
                kind=RECURRING,
                description="Pro",
                amount_minor=amount,
                tax_percent=Decimal(tax) if tax else None,
                tax_inclusive=inclusive,
            )
        ],
        discount=discount,
        rounding=rounding,
    )
    return CreditLine(
        description=line.description,
        amount_minor=line.amount_minor,
        discount_minor=line.discount_minor,
        tax_minor=line.tax_minor,
        tax_inclusive=line.tax_inclusive,
        tax_percent=line.tax_percent,
    )


def old_way(line: CreditLine, fraction: Fraction, rounding: str) -> int:
    """What the credit was before: the line's total prorated."""
    exact = Decimal(line.total_minor) * fraction.part / fraction.whole
    return int(exact.to_integral_value(rounding=MODES[rounding]))


def _parts(line: CreditLine) -> tuple[int, int, int, int]:
    return (line.amount_minor, line.discount_minor, line.tax_minor, line.total_minor)


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_exclusive_tax_13_of_31_days(rounding: str) -> None:
    # Invoice: R$99.90 + ISS 5% on top: tax 499.5 -> 500 (even and up alike), total 10490
    line = invoice_line(9_990, tax="5", rounding=rounding)
    assert _parts(line) == (9_990, 0, 500, 10_490)
    # Credit 13/31: 9990 × 13/31 = 4189.35 -> 4189; tax 209.45 -> 209; total 4398.
    # The old way: 10490 × 13/31 = 4399.03 -> 4399, one centavo more than the invoice
    # would have charged for those 13 days.
    credit = credit_line(line, Fraction(13, 31), percent_off=None, rounding=rounding)
    assert _parts(credit) == (4_189, 0, 209, 4_398)
    assert old_way(line, Fraction(13, 31), rounding) == 4_399


def test_exclusive_tax_10_of_30_days_depends_on_the_rounding_mode() -> None:
    line = invoice_line(9_990, tax="5")
    # 9990 × 10/30 = 3330 exactly; tax 5% = 166.5: half-even 166, half-up 167.
    even = credit_line(line, Fraction(10, 30), percent_off=None, rounding="half_even")
    up = credit_line(line, Fraction(10, 30), percent_off=None, rounding="half_up")
    assert _parts(even) == (3_330, 0, 166, 3_496)
    assert _parts(up) == (3_330, 0, 167, 3_497)
    # The old way: 10490 × 10/30 = 3496.67 -> 3497 in both modes: off by one when half-even.
    assert old_way(line, Fraction(10, 30), "half_even") == 3_497
    assert old_way(line, Fraction(10, 30), "half_up") == 3_497


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_inclusive_tax_with_a_percent_coupon_17_of_31_days(rounding: str) -> None:
    # Invoice: R$99.90 with 5% inside, 10% off: discount 999, net 8991,
    # tax inside 8991 - 8991/1.05 (8562.86 -> 8563) = 428, total 8991
    line = invoice_line(9_990, tax="5", inclusive=True, percent_off="10", rounding=rounding)
    assert _parts(line) == (9_990, 999, 428, 8_991)
    # Credit 17/31: 9990 × 17/31 = 5478.39 -> 5478; 10% = 547.8 -> 548; net 4930;
    # tax inside 4930 - 4930/1.05 (4695.24 -> 4695) = 235; total 4930.
    # The old way: 8991 × 17/31 = 4930.55 -> 4931.
    credit = credit_line(line, Fraction(17, 31), percent_off=Decimal(10), rounding=rounding)
    assert _parts(credit) == (5_478, 548, 235, 4_930)
    assert old_way(line, Fraction(17, 31), rounding) == 4_931


def test_exclusive_tax_with_a_percent_coupon_half_up_7_of_31_days() -> None:
    # Invoice (half-up): 9990, 15% off = 1498.5 -> 1499, net 8491, tax 424.55 -> 425, total 8916
    line = invoice_line(9_990, tax="5", percent_off="15", rounding="half_up")
    assert _parts(line) == (9_990, 1_499, 425, 8_916)
    # Credit 7/31: 9990 × 7/31 = 2255.81 -> 2256; 15% = 338.4 -> 338; net 1918;
    # tax 95.9 -> 96; total 2014. The old way: 8916 × 7/31 = 2013.29 -> 2013.
    credit = credit_line(line, Fraction(7, 31), percent_off=Decimal(15), rounding="half_up")
    assert _parts(credit) == (2_256, 338, 96, 2_014)
    assert old_way(line, Fraction(7, 31), "half_up") == 2_013


def test_an_amount_off_coupon_is_prorated_like_the_amount() -> None:
    # Invoice: 9990 - R$20.00 off = 7990, 5% on top 399.5 -> 400 (half-even), total 8390
    line = invoice_line(9_990, tax="5", amount_off=2_000)
    assert _parts(line) == (9_990, 2_000, 400, 8_390)
    # Credit 13/31: 4189.35 -> 4189; 2000 × 13/31 = 838.71 -> 839; net 3350; tax 167.5 -> 168
    credit = credit_line(line, Fraction(13, 31), percent_off=None, rounding="half_even")
    assert _parts(credit) == (4_189, 839, 168, 3_518)


def test_a_100_percent_coupon_line_credits_nothing() -> None:
    line = invoice_line(9_990, tax="5", percent_off="100")
    assert _parts(line) == (9_990, 9_990, 0, 0)
    credit = credit_line(line, Fraction(13, 31), percent_off=Decimal(100), rounding="half_even")
    # 4189 credited and 4189 off: nothing left, no tax
    assert _parts(credit) == (4_189, 4_189, 0, 0)


@pytest.mark.parametrize("inclusive", [False, True])
def test_a_full_credit_is_the_invoice_line_to_the_centavo(inclusive: bool) -> None:
    line = invoice_line(12_345, tax="17", inclusive=inclusive, percent_off="15")
    credit = credit_line(line, Fraction(31, 31), percent_off=Decimal(15), rounding="half_up")
    assert _parts(credit) == _parts(line)


def test_a_total_is_spread_over_the_lines_in_their_proportions() -> None:
    a = invoice_line(10_000, tax="10")  # 10000 + 1000 = 11000
    b = invoice_line(5_000, tax=None)  # 5000
    # 8000 of 16000: 5500 and 2500. a's 5500 is half: discount 0, tax 500, amount 5000.
    got = allocate_credit(8_000, [a, b], description="Goodwill")
    assert [_parts(x) for x in got] == [(5_000, 0, 500, 5_500), (2_500, 0, 0, 2_500)]
    assert [x.description for x in got] == ["Goodwill", "Goodwill"]
    assert credit_totals(got).total_minor == 8_000
    # The whole of it is the lines themselves
    whole = allocate_credit(16_000, [a, b], description="All")
    assert [_parts(x) for x in whole] == [_parts(a), _parts(b)]
    # Odd centavos go by the largest remainder: 1 of 16000 → a's share 0.6875 wins
    assert [_parts(x) for x in allocate_credit(1, [a, b], description="x")] == [(1, 0, 0, 1)]
