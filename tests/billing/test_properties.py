"""Property tests of the pure pricing and calendar domain (no database).

Each test states one invariant of DESIGN.md ("Money", "Proration", the billing
anchor) and lets Hypothesis look for a counter-example.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.domain.amounts import (
    Precision,
    Rounding,
    Tier,
    prorate,
    recurring_amount,
    remaining_fraction,
)
from billing.domain.invoicing import (
    CREDIT_CARRIED,
    PRORATION,
    RECURRING,
    SETUP_FEE,
    Discount,
    ProposedLine,
    price,
    tax_lines,
    totals,
)
from subscriptions.domain.cycles import Interval, boundary, from_local, shift, to_local

# Deterministic, modest and without a Hypothesis database (nothing written to the tree).
settings.register_profile(
    "ciclo-domain",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("ciclo-domain")

ROUNDINGS = st.sampled_from([Rounding.HALF_EVEN.value, Rounding.HALF_UP.value])
PRECISIONS = st.sampled_from([Precision.DAY.value, Precision.SECOND.value])
TIME_ZONES = st.sampled_from(
    [
        "UTC",
        "America/Sao_Paulo",  # had DST until 2019, switching at midnight
        "America/New_York",
        "Europe/Bucharest",
        "Asia/Kolkata",  # +05:30
        "Australia/Lord_Howe",  # a 30-minute DST shift
        "Pacific/Chatham",  # +12:45 / +13:45
        "America/Santiago",  # DST switching at 24:00
    ]
)
INTERVALS = st.sampled_from([i.value for i in Interval])
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - naive bounds, timezones=UTC below
    max_value=datetime(2040, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
PERCENTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)
TAX_PERCENTS = st.one_of(
    st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=4)
)
AMOUNTS = st.integers(min_value=0, max_value=10**13)


@st.composite
def lines(draw: st.DrawFn) -> ProposedLine:
    kind = draw(st.sampled_from([RECURRING, SETUP_FEE, PRORATION]))
    amount = draw(st.integers(min_value=0, max_value=10**9))
    if kind == PRORATION:
        amount = draw(st.sampled_from([-1, 1])) * amount  # credits are negative
    tax = draw(TAX_PERCENTS)
    return ProposedLine(
        kind=kind,
        description=kind,
        amount_minor=amount,
        tax_percent=tax,
        tax_inclusive=tax is not None and draw(st.booleans()),
    )


@st.composite
def discounts(draw: st.DrawFn) -> Discount | None:
    if draw(st.booleans()):
        return None
    on_recurring, on_setup = draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    if draw(st.booleans()):
        percent, setup_percent, amount_off = draw(PERCENTS), draw(st.none() | PERCENTS), None
    else:
        percent, setup_percent = None, None
        amount_off = draw(st.integers(min_value=1, max_value=10**9))
    return Discount(
        coupon_id=1,
        code="C",
        percent_off=percent,
        setup_percent_off=setup_percent,
        amount_off_minor=amount_off,
        on_recurring=on_recurring,
        on_setup=on_setup,
    )


# --- documents ------------------------------------------------------------------


@PROFILE
@given(st.lists(lines(), min_size=1, max_size=8), discounts(), ROUNDINGS)
def test_a_documents_total_is_the_sum_of_its_lines(
    raw: list[ProposedLine], discount: Discount | None, rounding: str
) -> None:
    priced, carried = price(raw, discount=discount, rounding=rounding)
    t = totals(priced)

    assert t.total_minor == sum(line.total_minor for line in priced)
    exclusive_tax = sum(line.tax_minor for line in priced if not line.tax_inclusive)
    assert t.total_minor == t.subtotal_minor - t.discount_minor + exclusive_tax
    for before, line in zip(raw, priced, strict=False):
        # Each line keeps its amount; a discount takes off at most all of it, never
        # adds to it (a credit's discount, if any, shrinks the credit).
        assert line.amount_minor == before.amount_minor
        assert abs(line.discount_minor) <= abs(line.amount_minor)
        assert line.discount_minor * line.amount_minor >= 0
        net = line.amount_minor - line.discount_minor
        if line.tax_inclusive:
            assert line.total_minor == net
            assert abs(line.tax_minor) <= abs(net)
        else:
            assert line.total_minor == net + line.tax_minor
    if discount is not None and discount.amount_off_minor is not None:
        assert t.discount_minor <= discount.amount_off_minor
    if discount is None:
        assert t.discount_minor == 0
    assert carried >= 0


@PROFILE
@given(
    st.lists(lines(), min_size=1, max_size=6),
    st.lists(st.integers(min_value=1, max_value=10**10), min_size=1, max_size=3),
    discounts(),
    ROUNDINGS,
)
def test_no_document_goes_below_zero(
    raw: list[ProposedLine],
    credits: list[int],
    discount: Discount | None,
    rounding: str,
) -> None:
    raw = raw + [
        ProposedLine(kind=PRORATION, description="Unused time", amount_minor=-c) for c in credits
    ]
    before_close = sum(line.total_minor for line in tax_lines(raw, rounding))
    priced, carried = price(raw, discount=discount, rounding=rounding)
    total = totals(priced).total_minor

    assert total >= 0
    if carried:
        assert priced[-1].kind == CREDIT_CARRIED
        assert priced[-1].amount_minor == carried
        assert total == 0
    else:
        assert all(line.kind != CREDIT_CARRIED for line in priced)
    # Without a discount the closing line carries exactly the negative remainder.
    if discount is None:
        assert carried == max(0, -before_close)


# --- proration --------------------------------------------------------------------


@st.composite
def periods(draw: st.DrawFn) -> tuple[datetime, datetime, str]:
    anchor, tz = draw(MOMENTS), draw(TIME_ZONES)
    interval = draw(INTERVALS)
    count = draw(st.integers(min_value=1, max_value=12))
    n = draw(st.integers(min_value=-2, max_value=30))
    start = boundary(anchor, interval, count, n, tz)
    end = boundary(anchor, interval, count, n + 1, tz)
    return start, end, tz


@PROFILE
@given(periods(), AMOUNTS, PRECISIONS, ROUNDINGS)
def test_proration_of_a_full_period_is_the_full_price(
    period: tuple[datetime, datetime, str], amount: int, precision: str, rounding: str
) -> None:
    start, end, tz = period
    full = remaining_fraction(
        period_start=start, period_end=end, at=start, precision=precision, tz=tz
    )
    assert prorate(amount, full, rounding) == amount
    nothing = remaining_fraction(
        period_start=start, period_end=end, at=end, precision=precision, tz=tz
    )
    assert prorate(amount, nothing, rounding) == 0


@PROFILE
@given(
    periods(),
    st.floats(min_value=0, max_value=1),
    AMOUNTS,
    AMOUNTS,
    TAX_PERCENTS,
    TAX_PERCENTS,
    st.booleans(),
    PRECISIONS,
    ROUNDINGS,
)
def test_a_change_and_its_immediate_reversal_net_to_zero(
    period: tuple[datetime, datetime, str],
    position: float,
    old_amount: int,
    new_amount: int,
    old_tax: Decimal | None,
    new_tax: Decimal | None,
    inclusive: bool,
    precision: str,
    rounding: str,
) -> None:
    """billing.subscriptions.change_lines at one instant: credit the unused old
    price, charge the new; then back: credit the new, charge the old."""
    start, end, tz = period
    at = start + timedelta(seconds=int((end - start).total_seconds() * position))
    fraction = remaining_fraction(
        period_start=start, period_end=end, at=at, precision=precision, tz=tz
    )

    def line(amount: int, tax: Decimal | None) -> ProposedLine:
        return ProposedLine(
            kind=PRORATION,
            description="proration",
            amount_minor=amount,
            tax_percent=tax,
            tax_inclusive=inclusive and tax is not None,
        )

    def change(old: int, old_t: Decimal | None, new: int, new_t: Decimal | None) -> list:
        return [
            line(-prorate(old, fraction, rounding), old_t),
            line(prorate(new, fraction, rounding), new_t),
        ]

    there = tax_lines(change(old_amount, old_tax, new_amount, new_tax), rounding)
    back = tax_lines(change(new_amount, new_tax, old_amount, old_tax), rounding)
    net = sum(line.total_minor for line in there + back)
    assert abs(net) <= 1
    assert sum(line.amount_minor for line in there + back) == 0


# --- the billing calendar -----------------------------------------------------------


@PROFILE
@given(
    MOMENTS,
    TIME_ZONES,
    INTERVALS,
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=-3, max_value=3),
)
def test_period_boundaries_strictly_increase(
    anchor: datetime, tz: str, interval: str, count: int, first: int
) -> None:
    bounds = [boundary(anchor, interval, count, n, tz) for n in range(first, first + 40)]
    assert all(b.tzinfo is not None and b.utcoffset() == timedelta(0) for b in bounds)
    assert all(a < b for a, b in itertools.pairwise(bounds))
    if first <= 0 < first + 40:
        assert bounds[-first] == anchor


@PROFILE
@given(MOMENTS, TIME_ZONES, st.integers(min_value=1, max_value=12))
def test_monthly_boundaries_clamp_to_month_end_from_the_anchor(
    anchor: datetime, tz: str, count: int
) -> None:
    """Period n is computed from the anchor, never from the previous end: a 31st
    anchor gives Feb 28/29 and then the 31st again, not the 28th for ever."""
    local = to_local(anchor, tz)
    for n in range(24):
        wall = shift(local, Interval.MONTH, count * n)
        month = (local.month - 1 + count * n) % 12 + 1
        last_day = calendar.monthrange(wall.year, month)[1]
        assert wall.month == month
        assert wall.day == min(local.day, last_day)
        assert wall.time() == local.time()
        # Round trip through UTC keeps the local date (DST gaps only move the hour).
        assert to_local(boundary(anchor, Interval.MONTH, count, n, tz), tz).date() == wall.date()


@PROFILE
@given(
    st.integers(min_value=2000, max_value=2040),
    st.sampled_from([28, 29, 30, 31]),
    TIME_ZONES,
    st.integers(min_value=0, max_value=23),
)
def test_jan_31_anchor_walks_feb_end_then_mar_31(year: int, day: int, tz: str, hour: int) -> None:
    anchor = from_local(datetime(year, 1, day, hour), tz)  # noqa: DTZ001 - a wall time
    local = to_local(anchor, tz)  # the wall time as it exists (DST gaps move the hour)
    days = [to_local(boundary(anchor, Interval.MONTH, 1, n, tz), tz).date() for n in range(4)]
    feb_end = 29 if calendar.isleap(local.year) else 28
    assert [(d.month, d.day) for d in days] == [
        (1, local.day),
        (2, min(local.day, feb_end)),
        (3, local.day),
        (4, min(local.day, 30)),
    ]


@PROFILE
@given(
    st.integers(min_value=0, max_value=9),
    TIME_ZONES,
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=1, max_value=3),
)
def test_yearly_feb_29_anchor_clamps_in_common_years(
    leap: int, tz: str, hour: int, count: int
) -> None:
    anchor = from_local(datetime(2000 + 4 * leap, 2, 29, hour), tz)  # noqa: DTZ001
    local = to_local(anchor, tz)
    for n in range(1, 9):
        wall = to_local(boundary(anchor, Interval.YEAR, count, n, tz), tz)
        year = local.year + count * n
        assert (wall.year, wall.month) == (year, 2)
        assert wall.day == (29 if calendar.isleap(year) else 28)


# --- tiers ----------------------------------------------------------------------------


@st.composite
def tier_tables(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=200), min_size=0, max_size=4)))
    ups: list[int | None] = [*bounds, None]
    return tuple(
        Tier(
            up_to=up,
            unit_amount_minor=draw(st.integers(min_value=0, max_value=10**6)),
            flat_amount_minor=draw(st.integers(min_value=0, max_value=10**6)),
        )
        for up in ups
    )


def _tier_of(tiers: tuple[Tier, ...], unit: int) -> int:
    """Index of the tier holding the ``unit``-th seat (1-based, bounds inclusive)."""
    return next(i for i, t in enumerate(tiers) if t.up_to is None or unit <= t.up_to)


@PROFILE
@given(tier_tables(), st.integers(min_value=0, max_value=300))
def test_graduated_price_is_the_sum_over_units(tiers: tuple[Tier, ...], quantity: int) -> None:
    expected = sum(tiers[_tier_of(tiers, u)].unit_amount_minor for u in range(1, quantity + 1))
    expected += sum(
        tiers[i].flat_amount_minor for i in {_tier_of(tiers, u) for u in range(1, quantity + 1)}
    )
    got = recurring_amount(model="graduated", unit_amount_minor=0, quantity=quantity, tiers=tiers)
    assert got == expected
    # One more seat never costs less.
    more = recurring_amount(
        model="graduated", unit_amount_minor=0, quantity=quantity + 1, tiers=tiers
    )
    assert more >= got


@PROFILE
@given(
    tier_tables(), st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=300)
)
def test_volume_price_is_monotone_within_a_tier(tiers: tuple[Tier, ...], a: int, b: int) -> None:
    q1, q2 = sorted((a, b))
    i1, i2 = _tier_of(tiers, q1), _tier_of(tiers, q2)
    p1 = recurring_amount(model="volume", unit_amount_minor=0, quantity=q1, tiers=tiers)
    p2 = recurring_amount(model="volume", unit_amount_minor=0, quantity=q2, tiers=tiers)
    # Every seat is priced at the tier the whole quantity falls in.
    assert p1 == tiers[i1].unit_amount_minor * q1 + tiers[i1].flat_amount_minor
    if i1 == i2:
        assert p1 <= p2
