"""Issue 16 "Conventions": the tenant's day counting on a change or cancellation
(the day of the change belongs to the new state, or is used on the old one) and
30-day months, in both proration precisions. Every amount is hand-computed below;
rounding is half-even unless said otherwise. All of it goes through
``billing.domain.amounts.remaining_fraction``, the one place prorations count."""

from datetime import UTC, datetime

from billing.domain.amounts import remaining_fraction
from billing.models import Invoice
from tests.scenarios.helpers_lifecycle import (
    TZ,
    balance,
    cancel,
    change,
    credit_notes,
    doc,
    lines,
    pay,
    sp,
)
from tests.support.billing import world


def _cancel_credit(start: datetime, cancel_at: datetime, **tenant_kw: str) -> list[tuple]:
    """R$100 monthly bought at ``start``, first invoice paid, cancelled now with a
    prorated credit at ``cancel_at``; the credit notes written."""
    with world(start, **tenant_kw) as w:
        plan = w.plan(amount=10_000)
        customer = w.customer()
        sub = w.subscribe(plan, customer)
        pay(w, w.invoices(sub)[0])
        w.advance(cancel_at)
        cancel(w, sub, prorate_credit=True)
        notes = credit_notes(w)
        assert balance(w, customer) == sum(n[3] for n in notes)
        return notes


def test_conventions_cancel_change_day_old_by_day(db):
    # Period Feb 15 12:00 → Mar 15 12:00 (28 days); cancelled Mar 3 at noon.
    # Day of the change used on the old state: Mar 4 .. Mar 14 remain, 11 of 28:
    # 10000 × 11/28 = 3928.57 → 3929 (today's convention credits 12/28 → 4286)
    with world(sp(2026, 1, 15, 12), proration_change_day="old") as w:
        plan = w.plan(amount=10_000)
        customer = w.customer()
        sub = w.subscribe(plan, customer)
        pay(w, w.invoices(sub)[0])
        w.advance(sp(2026, 2, 20, 0))
        pay(w, w.invoices(sub)[1])
        w.advance(sp(2026, 3, 3, 12))
        cancel(w, sub, prorate_credit=True)
        assert [n[1:4] for n in credit_notes(w)] == [
            ("ACME-2026-000002", "2026-03-03 12:00", 3_929)
        ]
        assert Invoice.objects.get(number="ACME-2026-000002").credited_minor == 3_929
        assert balance(w, customer) == 3_929


def test_conventions_cancel_change_day_old_by_second(db):
    # Period Jan 15 12:00 → Feb 15 12:00 (31 days); cancelled Feb 3 at noon by the
    # second. The rest of Feb 3 is used: Feb 4 00:00 → Feb 15 12:00 = 11.5 days.
    # 10000 × 11.5/31 = 3709.68 → 3710 (new-day convention: 12/31 → 3871)
    notes = _cancel_credit(
        sp(2026, 1, 15, 12),
        sp(2026, 2, 3, 12),
        proration_precision="second",
        proration_change_day="old",
    )
    assert [n[1:4] for n in notes] == [("ACME-2026-000001", "2026-02-03 12:00", 3_710)]


def test_conventions_cancel_thirty_day_months_by_day(db):
    # Period Jan 15 → Feb 15 counts 30 days (not 31); Feb 3 → Feb 15 is 12 of them.
    # 10000 × 12/30 = 4000 (calendar: 12/31 → 3871)
    notes = _cancel_credit(sp(2026, 1, 15, 12), sp(2026, 2, 3, 12), proration_day_count="thirty")
    assert [n[1:4] for n in notes] == [("ACME-2026-000001", "2026-02-03 12:00", 4_000)]


def test_conventions_cancel_thirty_day_months_by_second(db):
    # By the second on the 30-day calendar: Jan 15 12:00 → Feb 15 12:00 is 30 days;
    # Feb 3 18:00 → Feb 15 12:00 is 11 days 18 h = 11.75 days.
    # 10000 × 11.75/30 = 3916.67 → 3917
    notes = _cancel_credit(
        sp(2026, 1, 15, 12),
        sp(2026, 2, 3, 18),
        proration_precision="second",
        proration_day_count="thirty",
    )
    assert [n[1:4] for n in notes] == [("ACME-2026-000001", "2026-02-03 18:00", 3_917)]


def test_conventions_cancel_month_end_anchor_leap_year_calendar(db):
    # Bought Jan 31 2028 (a leap year): the first period ends Feb 29 at noon, 29 days.
    # Cancelled Feb 10 at noon: Feb 10 .. Feb 28 remain, 19 of 29:
    # 10000 × 19/29 = 6551.72 → 6552 (today's behaviour, the baseline for the next two)
    notes = _cancel_credit(sp(2028, 1, 31, 12), sp(2028, 2, 10, 12))
    assert [n[1:4] for n in notes] == [("ACME-2028-000001", "2028-02-10 12:00", 6_552)]


def test_conventions_cancel_month_end_anchor_leap_year_thirty(db):
    # The same on the 30-day calendar: Jan 31 is day 30 and Feb 29, the month's last
    # day, is day 30 too, so the period is 30 days; Feb 10 → Feb 29 = 30 - 10 = 20.
    # 10000 × 20/30 = 6666.67 → 6667
    notes = _cancel_credit(sp(2028, 1, 31, 12), sp(2028, 2, 10, 12), proration_day_count="thirty")
    assert [n[1:4] for n in notes] == [("ACME-2028-000001", "2028-02-10 12:00", 6_667)]


def test_conventions_cancel_month_end_anchor_leap_year_thirty_old_day(db):
    # Both options: Feb 10 is used, Feb 11 → Feb 29 = 19 of 30 days.
    # 10000 × 19/30 = 6333.33 → 6333
    notes = _cancel_credit(
        sp(2028, 1, 31, 12),
        sp(2028, 2, 10, 12),
        proration_day_count="thirty",
        proration_change_day="old",
    )
    assert [n[1:4] for n in notes] == [("ACME-2028-000001", "2028-02-10 12:00", 6_333)]


def test_conventions_upgrade_now_change_day_old_by_day(db):
    # Basic R$100 → pro R$200 on Feb 1 at noon, invoiced now; period Jan 15 → Feb 15
    # (31 days). Feb 1 is used on basic: Feb 2 .. Feb 14 remain, 13 of 31.
    #   credit 10000 × 13/31 = 4193.55 → -4194; charge 20000 × 13/31 = 8387.10 → 8387
    #   update invoice: 8387 - 4194 = 4193 (new-day convention: 14/31 → -4516 + 9032)
    with world(sp(2026, 1, 15, 12), proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [
        ("proration", 1, -4_194, 0, 0, -4_194),
        ("proration", 1, 8_387, 0, 0, 8_387),
    ]
    assert doc(update)[2:8] == ("subscription_update", "open", 4_193, 0, 0, 4_193)


def test_conventions_upgrade_now_thirty_day_months_by_second(db):
    # The same upgrade at midnight starting Feb 1, by the second on the 30-day
    # calendar: Jan 15 12:00 → Feb 15 12:00 is 30 days, Feb 1 00:00 → Feb 15 12:00
    # is 14.5 of them.
    #   credit 10000 × 14.5/30 = 4833.33 → -4833; charge 20000 × 14.5/30 = 9666.67 → 9667
    #   update invoice: 4834
    with world(
        sp(2026, 1, 15, 12), proration_precision="second", proration_day_count="thirty"
    ) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 0))
        change(w, sub, plan=pro, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [
        ("proration", 1, -4_833, 0, 0, -4_833),
        ("proration", 1, 9_667, 0, 0, 9_667),
    ]
    assert doc(update)[4:8] == (4_834, 0, 0, 4_834)


def test_conventions_upgrade_now_thirty_old_by_day_half_up(db):
    # Upgrade on Feb 1 at noon, both options, rounding half-up: Feb 2 → Feb 15 on
    # the 30-day calendar = 13 of 30 days.
    #   credit 10000 × 13/30 = 4333.33 → -4333; charge 20000 × 13/30 = 8666.67 → 8667
    #   update invoice: 4334
    with world(
        sp(2026, 1, 15, 12),
        proration_day_count="thirty",
        proration_change_day="old",
        rounding_mode="half_up",
    ) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [
        ("proration", 1, -4_333, 0, 0, -4_333),
        ("proration", 1, 8_667, 0, 0, 8_667),
    ]
    assert doc(update)[4:8] == (4_334, 0, 0, 4_334)


def _utc(y: int, m: int, d: int, h: int = 12) -> datetime:
    return sp(y, m, d, h).astimezone(UTC)


def test_conventions_thirty_day_fraction_quarters_and_leap_years(db):
    # A quarter is 90 days and a year 360 on the 30-day calendar, leap or not.
    frac = remaining_fraction(
        period_start=_utc(2028, 1, 31),
        period_end=_utc(2028, 4, 30),
        at=_utc(2028, 2, 29),
        precision="day",
        tz=TZ,
        day_count="thirty",
    )
    # Jan 31 (=30) → Apr 30 (=30): 90; Feb 29 (last day, =30) → Apr 30: 60
    assert (frac.part, frac.whole) == (60, 90)
    frac = remaining_fraction(
        period_start=_utc(2028, 2, 29),
        period_end=_utc(2029, 2, 28),
        at=_utc(2028, 3, 31),
        precision="day",
        tz=TZ,
        day_count="thirty",
        change_day="old",
    )
    # Feb 29 2028 → Feb 28 2029 (both months' last days): 360; the day after
    # Mar 31 is Apr 1 (=1): 10 months and 29 days = 329
    assert (frac.part, frac.whole) == (329, 360)
    # A change at the period's start uses nothing, even on the old-day convention
    frac = remaining_fraction(
        period_start=_utc(2028, 2, 29),
        period_end=_utc(2028, 3, 29),
        at=_utc(2028, 2, 29),
        precision="day",
        tz=TZ,
        change_day="old",
    )
    assert (frac.part, frac.whole) == (29, 29)
