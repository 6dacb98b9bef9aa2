"""The readjustment arithmetic, hand-computed (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from subscriptions.domain import readjustment as rdj

# IPCA (IBGE), monthly, 2023, in percent, as published:
# Jan 0.53, Feb 0.84, Mar 0.71, Apr 0.61, May 0.23, Jun -0.08,
# Jul 0.12, Aug 0.23, Sep 0.26, Oct 0.24, Nov 0.28, Dec 0.56.
# Accumulated in 2023 (IBGE): 4.62 %. Compounded by hand:
#   1.0053 × 1.0084 × 1.0071 × 1.0061 × 1.0023 × 0.9992 × 1.0012 × 1.0023
#   × 1.0026 × 1.0024 × 1.0028 × 1.0056 = 1.046211139…  → +4.6211 %.
# Summed instead they would give 4.53 % — the wrong answer.
IPCA_2023 = ["0.53", "0.84", "0.71", "0.61", "0.23", "-0.08"]
IPCA_2023 += ["0.12", "0.23", "0.26", "0.24", "0.28", "0.56"]
# IGP-M (FGV), monthly, 2023 — a negative year: accumulated −3.18 %.
#   1.0021 × 0.9994 × 1.0005 × 0.9905 × 0.9816 × 0.9807 × 0.9928 × 0.9986
#   × 1.0037 × 1.0050 × 1.0059 × 1.0074 = 0.968217160…  → −3.1783 %.
IGPM_2023 = ["0.21", "-0.06", "0.05", "-0.95", "-1.84", "-1.93"]
IGPM_2023 += ["-0.72", "-0.14", "0.37", "0.50", "0.59", "0.74"]

MONTHS_2023 = [date(2023, m, 1) for m in range(1, 13)]


def _rates(values: list[str]) -> dict[date, Decimal]:
    return dict(zip(MONTHS_2023, (Decimal(v) for v in values), strict=True))


def test_ipca_2023_compounds_to_4_62_percent_not_the_sum() -> None:
    factor = rdj.accumulated(_rates(IPCA_2023), MONTHS_2023)
    assert factor == Decimal("0.04621114")
    assert round(factor * 100, 2) == Decimal("4.62")
    assert sum(Decimal(v) for v in IPCA_2023) == Decimal("4.53")  # what summing gets wrong


def test_igpm_2023_is_a_negative_year() -> None:
    factor = rdj.accumulated(_rates(IGPM_2023), MONTHS_2023)
    assert factor == Decimal("-0.03178284")
    assert round(factor * 100, 2) == Decimal("-3.18")
    # R$ 199,90 readjusted by it: 19990 × 0.96821716 = 19354.66… → 19355 centavos.
    assert rdj.readjusted(19_990, factor, "half_even") == 19_355


def test_a_missing_month_means_no_factor() -> None:
    rates = _rates(IPCA_2023)
    del rates[date(2023, 7, 1)]
    assert rdj.accumulated(rates, MONTHS_2023) is None
    assert rdj.missing_months(rates, MONTHS_2023) == [date(2023, 7, 1)]


def test_the_window_is_the_12_months_ending_two_months_before_the_due_month() -> None:
    assert rdj.index_months(date(2024, 2, 15)) == MONTHS_2023
    assert rdj.index_months(date(2024, 1, 1))[0] == date(2022, 12, 1)
    assert rdj.index_months(date(2024, 1, 1))[-1] == date(2023, 11, 1)


@pytest.mark.parametrize(
    ("_case", "factor", "floor", "cap", "expected"),
    [
        ("inside", "0.04621114", "0", "10", "0.04621114"),
        ("capped", "0.12", "0", "10", "0.10000000"),
        (
            "floored at zero: a negative year does not lower the price",
            "-0.03178284",
            "0",
            None,
            "0",
        ),
        ("no floor: the price goes down", "-0.03178284", None, None, "-0.03178284"),
        ("floor above the index", "0.02", "3", "8", "0.03000000"),
    ],
)
def test_floor_and_cap(
    _case: str, factor: str, floor: str | None, cap: str | None, expected: str
) -> None:
    got = rdj.bounded(
        Decimal(factor),
        floor_percent=Decimal(floor) if floor is not None else None,
        cap_percent=Decimal(cap) if cap is not None else None,
    )
    assert got == Decimal(expected)


@pytest.mark.parametrize(
    ("rounding", "amount", "factor", "expected"),
    [
        # 10 050 × 1.05 = 10 552.5: half even keeps 10 552, half up gives 10 553.
        ("half_even", 10_050, "0.05", 10_552),
        ("half_up", 10_050, "0.05", 10_553),
        # R$ 99,90 × 1.04621114 = 104.5164928… → R$ 104,52.
        ("half_even", 9_990, "0.04621114", 10_452),
    ],
)
def test_the_new_price_rounds_once_with_the_tenants_mode(
    rounding: str, amount: int, factor: str, expected: int
) -> None:
    assert rdj.readjusted(amount, Decimal(factor), rounding) == expected


def test_anniversary_vs_fixed_month() -> None:
    start = date(2023, 3, 15)
    # Anniversary: every 12 months from the contract's start.
    assert rdj.anniversary_due(start, date(2024, 1, 10)) == date(2024, 3, 15)
    assert rdj.anniversary_due(start, date(2024, 3, 16)) == date(2025, 3, 15)
    # Fixed month (January): the first 1 January by which the contract is a year old.
    assert rdj.fixed_month_due(start, date(2024, 1, 1), 1) == date(2025, 1, 1)
    assert rdj.fixed_month_due(date(2022, 6, 1), date(2023, 11, 20), 1) == date(2024, 1, 1)
    # A 29 February start is readjusted on 28 February in common years.
    assert rdj.anniversary_due(date(2024, 2, 29), date(2024, 6, 1)) == date(2025, 2, 28)
