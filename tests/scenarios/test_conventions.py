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


def test_conventions_quantity_down_one_difference_line_by_second(db):
    # Given R$30 per seat, 5 seats, bought Mar 1 at noon, by the second, billing only
    # what changed. On Mar 20 at 18:00 it goes down to 3 seats (next invoice):
    # Mar 20 18:00 → Apr 1 12:00 = 11.75 of 31 days
    #   credit 15000 × 11.75/31 = 5685.48 → 5685; charge 9000 × 11.75/31 = 3411.29 → 3411
    #   one line of -2 seats: 3411 - 5685 = -2274; Apr 1: 9000 - 2274 = 6726 (as with two lines)
    with world(
        sp(2026, 3, 1, 12), proration_precision="second", quantity_change_lines="difference"
    ) as w:
        plan = w.plan("seat", amount=3_000, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=5, collection_method="send_invoice")
        w.advance(sp(2026, 3, 20, 18))
        change(w, sub, quantity=3, proration="next_invoice")
        w.advance(sp(2026, 4, 2, 0))
        got = w.invoices(sub)
    assert lines(got[1]) == [
        ("recurring", 3, 9_000, 0, 0, 9_000),
        ("proration", -2, -2_274, 0, 0, -2_274),
    ]
    assert doc(got[1])[4:8] == (6_726, 0, 0, 6_726)


def test_conventions_quantity_up_one_difference_line_by_day(db):
    # 2 seats of R$30 bought Mar 1 at noon; on Mar 20 at noon up to 5, invoiced now.
    # Mar 20 .. Mar 31 remain, 12 of 31 days:
    #   credit 6000 × 12/31 = 2322.58 → 2323; charge 15000 × 12/31 = 5806.45 → 5806
    #   one line of +3 seats: 5806 - 2323 = 3483
    with world(sp(2026, 3, 1, 12), quantity_change_lines="difference") as w:
        plan = w.plan("seat", amount=3_000, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=2, collection_method="send_invoice")
        w.advance(sp(2026, 3, 20, 12))
        change(w, sub, quantity=5, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [("proration", 3, 3_483, 0, 0, 3_483)]
    assert doc(update)[4:8] == (3_483, 0, 0, 3_483)


def test_conventions_quantity_up_all_three_conventions_by_day(db):
    # The same change with one line, 30-day months and the change day used:
    # Mar 1 → Apr 1 is 30 days; Mar 21 → Apr 1 is 10 of them.
    #   credit 6000 × 10/30 = 2000; charge 15000 × 10/30 = 5000; one line: 3000
    with world(
        sp(2026, 3, 1, 12),
        quantity_change_lines="difference",
        proration_day_count="thirty",
        proration_change_day="old",
    ) as w:
        plan = w.plan("seat", amount=3_000, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=2, collection_method="send_invoice")
        w.advance(sp(2026, 3, 20, 12))
        change(w, sub, quantity=5, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [("proration", 3, 3_000, 0, 0, 3_000)]


def test_conventions_plan_change_keeps_two_lines_under_difference(db):
    # A plan change is not a quantity change: still a credit and a charge line.
    # Basic → pro on Feb 1 at noon, 14 of 31 days:
    #   credit 10000 × 14/31 = 4516.13 → -4516; charge 20000 × 14/31 = 9032.26 → 9032
    with world(sp(2026, 1, 15, 12), quantity_change_lines="difference") as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        [_, update] = w.invoices(sub)
    assert lines(update) == [
        ("proration", 1, -4_516, 0, 0, -4_516),
        ("proration", 1, 9_032, 0, 0, 9_032),
    ]
