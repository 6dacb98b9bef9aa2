"""``allocate`` and the amount-off spread over an invoice's lines (issue 16 item 3):
pure functions, no database. Each expectation is computed by hand in its label."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.domain.amounts import allocate
from billing.domain.invoicing import PRORATION, RECURRING, SETUP_FEE, Discount, ProposedLine, price


@pytest.mark.parametrize(
    ("_case", "total", "weights", "rounding", "shares"),
    [
        # 4910 over 13497: 2581.779 → 2582, 1600.652 → 1601, 545.677 → 546,
        # 181.892 → 182 = 4911; -1 on the largest.
        (
            "remainder -1 on the largest",
            4_910,
            [7_097, 4_400, 1_500, 500],
            "half_even",
            [2_581, 1_601, 546, 182],
        ),
        # 10 over three equal weights: 3.333 → 3 each = 9; +1 on the first of equals.
        ("tie: the first of equals", 10, [500, 500, 500], "half_even", [4, 3, 3]),
        # The largest is not first: 10 over 100, 300, 200 = 1.667 → 2, 5, 3.333 → 3 = 10.
        ("no remainder", 10, [100, 300, 200], "half_even", [2, 5, 3]),
        # 7 over 300, 100, 200 (600): 3.5 → 4, 1.167 → 1, 2.333 → 2 = 7 (half-up);
        # half-even: 3.5 → 4 as well.
        ("half-up", 7, [300, 100, 200], "half_up", [4, 1, 2]),
        # 2 over four weights of 5 (half-up 0.5 → 1 each = 4): -2 to place; the
        # largest (first) can go to 0 only, the rest on the next: 0, 0, 1, 1.
        ("never below zero", 2, [5, 5, 5, 5], "half_up", [0, 0, 1, 1]),
        # The whole of the weights: each line its full amount.
        ("all of it", 1_500, [1_000, 500], "half_even", [1_000, 500]),
        ("nothing", 0, [1_000, 500], "half_even", [0, 0]),
    ],
)
def test_allocate(_case, total, weights, rounding, shares):
    got = allocate(total, weights, rounding)
    assert got == shares
    assert sum(got) == total
    assert all(0 <= s <= w for s, w in zip(got, weights, strict=True))


def _discount(amount_off: int, *, on_setup: bool = True) -> Discount:
    return Discount(
        coupon_id=7,
        code="OFF",
        percent_off=None,
        setup_percent_off=None,
        amount_off_minor=amount_off,
        on_recurring=True,
        on_setup=on_setup,
    )


def test_amount_off_is_spread_in_proportion_whatever_the_lines_order():
    # 3000 off over recurring 10000, setup 5000 and a proration (not covered):
    #   recurring 3000 × 10000/15000 = 2000; setup 1000. The proration keeps none.
    lines = [
        ProposedLine(kind=SETUP_FEE, description="setup", amount_minor=5_000),
        ProposedLine(kind=PRORATION, description="credit", amount_minor=-2_000),
        ProposedLine(kind=RECURRING, description="plan", amount_minor=10_000),
    ]
    priced, carried = price(lines, discount=_discount(3_000), rounding="half_even")
    assert [(ln.kind, ln.discount_minor, ln.coupon_id) for ln in priced] == [
        (SETUP_FEE, 1_000, 7),
        (PRORATION, 0, None),
        (RECURRING, 2_000, 7),
    ]
    assert carried == 0
    # Reversed, the same shares
    back, _ = price(lines[::-1], discount=_discount(3_000), rounding="half_even")
    assert [ln.discount_minor for ln in back] == [2_000, 0, 1_000]


def test_amount_off_larger_than_the_lines_takes_them_whole():
    # 20000 off a recurring-only coupon: recurring 10000 whole; the setup fee (not
    # covered) keeps its amount; the 10000 left is the caller's to carry.
    lines = [
        ProposedLine(kind=RECURRING, description="plan", amount_minor=10_000),
        ProposedLine(kind=SETUP_FEE, description="setup", amount_minor=5_000),
    ]
    priced, _ = price(lines, discount=_discount(20_000, on_setup=False), rounding="half_even")
    assert [ln.discount_minor for ln in priced] == [10_000, 0]
    assert sum(ln.total_minor for ln in priced) == 5_000


def test_a_percentage_is_still_taken_per_line():
    pct = Discount(
        coupon_id=8,
        code="P",
        percent_off=Decimal("12.5"),
        setup_percent_off=None,
        amount_off_minor=None,
        on_recurring=True,
        on_setup=True,
    )
    lines = [
        ProposedLine(kind=RECURRING, description="plan", amount_minor=999),
        ProposedLine(kind=SETUP_FEE, description="setup", amount_minor=101),
    ]
    # 999 × 12.5% = 124.875 → 125; 101 × 12.5% = 12.625 → 13
    priced, _ = price(lines, discount=pct, rounding="half_even")
    assert [ln.discount_minor for ln in priced] == [125, 13]
