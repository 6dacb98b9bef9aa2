"""In-arrears billing (issue 16, item 6): a plan billed at the end of each
period, for what was used, in both proration precisions.

Conventions (Kill Bill's IN_ARREAR billing mode, Lago's "pay in arrears",
Chargebee's metered/arrears plans): the invoice for a period is issued when it
ends, its line covering the period just ended (Jan 15 → Feb 15 is invoiced on
Feb 15); a setup fee is due at the start, on an invoice of its own (no $0
invoice without one); a change now splits the period's use, one line per plan
(no credit: nothing was paid ahead); a cancellation now invoices the used part
at once; a cancellation at period end invoices the last period at its end.

A used segment [a, b) of a period is priced as fee × remaining(a) − fee ×
remaining(b), each rounded once (remaining = the part of the period left, by
the tenant's precision, day count and change-day convention), so the segments
of a period add up to what the same changes in advance net to, to the cent.

By day, calendar days in São Paulo (UTC−3, no DST); by second, exact.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import subscriptions as billing_subs
from billing.models import Invoice, PendingLine
from billing.run import billing_run
from billing.tasks import billing_run_task
from core.errors import StateConflict, ValidationFailed
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import ScheduledChange, Subscription
from tenants.context import tenant_context
from tests.scenarios.helpers_lifecycle import (
    cancel,
    change,
    doc,
    lines,
    loc,
    sp,
    spans,
    state,
)
from tests.scenarios.helpers_money import coupon
from tests.support.billing import ACTOR, world

BOTH = pytest.mark.parametrize("precision", ["day", "second"])


def arrears(w, code="basic", amount=10_000, **kw):  # type: ignore[no-untyped-def]
    return w.plan(code, amount=amount, billing_timing="in_arrears", **kw)


def periods(inv: Invoice) -> tuple[str | None, str | None]:
    return (loc(inv.period_start), loc(inv.period_end))


@BOTH
def test_arrears_three_months_each_invoiced_at_its_end(db, precision):
    # Given R$100 monthly billed in arrears, bought on Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = arrears(w)
        sub = w.subscribe(plan)
        # Then nothing is invoiced at the start (no $0 invoice), and it is active
        assert w.invoices(sub) == []
        assert state(w, sub) == ("active", "basic", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        # When three months go by
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
        after = state(w, sub)
    # Each period is invoiced when it ends, for itself, whole: 10000 each.
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-04-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert [periods(i) for i in got] == [
        ("2026-01-15 12:00", "2026-02-15 12:00"),
        ("2026-02-15 12:00", "2026-03-15 12:00"),
        ("2026-03-15 12:00", "2026-04-15 12:00"),
    ]
    assert [spans(i) for i in got] == [
        [("recurring", "2026-01-15 12:00", "2026-02-15 12:00")],
        [("recurring", "2026-02-15 12:00", "2026-03-15 12:00")],
        [("recurring", "2026-03-15 12:00", "2026-04-15 12:00")],
    ]
    assert after == ("active", "basic", 1, "2026-04-15 12:00", "2026-05-15 12:00")


@BOTH
def test_arrears_setup_fee_is_invoiced_at_the_start_alone(db, precision):
    # Given R$100 monthly in arrears with a R$50 setup fee and 10% tax on top
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        tax = w.tax("10")
        plan = arrears(w, setup_fee_minor=5_000, tax_rate=tax)
        sub = w.subscribe(plan)
        # Then the setup fee alone is invoiced now, and the subscription waits for it
        first = w.invoices(sub)
        assert state(w, sub)[0] == "incomplete"
        w.advance(sp(2026, 3, 1, 0))
        got = w.invoices(sub)
    # Setup: 5000 + 10% = 5500, no period. Feb 15: Jan 15 → Feb 15, 10000 + 1000 = 11000.
    assert [doc(i)[1:] for i in first] == [
        ("2026-01-15 12:00", "subscription_create", "open", 5_000, 0, 500, 5_500, 0, 5_500),
    ]
    assert lines(first[0]) == [("setup_fee", 1, 5_000, 0, 500, 5_500)]
    assert periods(first[0]) == (None, None)
    assert [doc(i)[1:] for i in got[1:]] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 1_000, 11_000, 0, 11_000),
    ]
    assert lines(got[1]) == [("recurring", 1, 10_000, 0, 1_000, 11_000)]


@pytest.mark.parametrize(
    ("precision", "change_day", "used"),
    [
        # Period Feb 15 12:00 → Mar 15 12:00 = 28 days = 2,419,200 s; cancel Mar 1 18:00.
        # By day: Mar 1 .. Mar 14 remain, 14 of 28: 10000 × 14/28 = 5000; used 10000 − 5000.
        ("day", "new", 5_000),
        # By day, the day of the cancellation used (Lago, Chargebee): 13 of 28 remain:
        # 10000 × 13/28 = 4642.86 → 4643; used 10000 − 4643 = 5357.
        ("day", "old", 5_357),
        # By second: Mar 1 18:00 → Mar 15 12:00 = 13.75 days = 1,188,000 s of 2,419,200:
        # 10000 × 13.75/28 = 4910.71 → 4911; used 10000 − 4911 = 5089.
        ("second", "new", 5_089),
    ],
)
def test_arrears_cancel_now_invoices_the_used_part_at_once(db, precision, change_day, used):
    # Given R$100 monthly in arrears from Jan 15 at noon, its first period invoiced
    with world(
        sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day=change_day
    ) as w:
        plan = arrears(w)
        sub = w.subscribe(plan)
        w.advance(sp(2026, 3, 1, 18))
        # When on Mar 1 at 18:00 it is cancelled now (a credit asked for has nothing to credit)
        cancel(w, sub, prorate_credit=True)
        # Then the used part of the period is invoiced at once, and nothing after
        w.advance(sp(2026, 6, 1, 0))
        got = w.invoices(sub)
        assert state(w, sub)[0] == "canceled"
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-03-01 18:00", "subscription_update", "open", used, 0, 0, used, 0, used),
    ]
    assert spans(got[1]) == [("recurring", "2026-02-15 12:00", "2026-03-01 18:00")]
    assert got[1].credited_minor == 0


@BOTH
def test_arrears_cancel_at_period_end_bills_the_last_period_at_its_end(db, precision):
    # Given R$100 monthly in arrears from Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = arrears(w)
        sub = w.subscribe(plan)
        # When on Feb 20 it is cancelled at the period end
        w.advance(sp(2026, 2, 20, 12))
        cancel(w, sub, at_period_end=True)
        w.advance(sp(2026, 6, 1, 0))
        got = w.invoices(sub)
        row = w.refresh(sub)
    # Then Jan 15 → Feb 15 and the last period, Feb 15 → Mar 15, each whole; nothing after.
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert periods(got[1]) == ("2026-02-15 12:00", "2026-03-15 12:00")
    assert (row.status, loc(row.ended_at), row.next_event_at) == (
        "canceled",
        "2026-03-15 12:00",
        None,
    )


@pytest.mark.parametrize(
    ("precision", "at", "old_used", "new_used"),
    [
        # Period Jan 15 12:00 → Feb 15 12:00 = 31 days; upgrade Feb 1 at noon.
        # By day: 14 of 31 remain. basic: 10000 − 10000 × 14/31 (4516.13 → 4516) = 5484;
        # pro: 25000 × 14/31 = 11290.32 → 11290. Total 16774 (in advance the same
        # change nets 10000 − 4516 + 11290 = 16774: the same to the cent).
        ("day", (2026, 2, 1, 12), 5_484, 11_290),
        # By second, upgrade Feb 1 00:00: 14.5 of 31 days remain.
        # basic: 10000 × 14.5/31 = 4677.42 → 4677, used 5323; pro: 25000 × 14.5/31 =
        # 11693.55 → 11694. Total 17017.
        ("second", (2026, 2, 1, 0), 5_323, 11_694),
        # By day, the day of the change used on the old plan (Lago, Chargebee): 13 of 31
        # remain. basic: 10000 − 10000 × 13/31 (4193.55 → 4194) = 5806; pro: 25000 ×
        # 13/31 = 10483.87 → 10484. Total 16290.
        ("day-old", (2026, 2, 1, 12), 5_806, 10_484),
    ],
)
def test_arrears_upgrade_mid_period_splits_the_period(db, precision, at, old_used, new_used):
    # Given basic (R$100) in arrears from Jan 15 at noon; pro (R$250) in arrears
    precision, _, change_day = precision.partition("-")
    with world(
        sp(2026, 1, 15, 12),
        proration_precision=precision,
        proration_change_day=change_day or "new",
    ) as w:
        basic = arrears(w)
        pro = arrears(w, "pro", amount=25_000)
        sub = w.subscribe(basic)
        w.advance(sp(*at))
        # When it is upgraded now: the preview says what the change leaves waiting
        preview = billing_subs.subscription_preview_change(
            tenant=w.tenant, subscription=w.refresh(sub), now=w.now, plan=pro
        )
        change(w, sub, plan=pro)
        # Then nothing is invoiced now; the old plan's use waits for the period's invoice
        assert w.invoices(sub) == []
        waiting = list(PendingLine.objects.filter(subscription=sub))
        assert [(p.kind, p.amount_minor) for p in waiting] == [("recurring", old_used)]
        assert [
            (ln.kind, ln.amount_minor, ln.period_start, ln.period_end) for ln in preview.lines
        ] == [(p.kind, p.amount_minor, p.period_start, p.period_end) for p in waiting]
        assert preview.total_minor == old_used
        # And the next-invoice preview is the invoice the period's end writes
        upcoming = billing_subs.subscription_preview_next_invoice(
            tenant=w.tenant, subscription_id=sub.pk
        )
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    total = old_used + new_used
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", total, 0, 0, total, 0, total),
        ("2026-03-15 12:00", "subscription_cycle", "open", 25_000, 0, 0, 25_000, 0, 25_000),
    ]
    change_at = loc(sp(*at))
    # The new plan's line (the period's charge) first, then the old plan's use waiting.
    assert spans(got[0]) == [
        ("recurring", change_at, "2026-02-15 12:00"),
        ("recurring", "2026-01-15 12:00", change_at),
    ]
    assert [ln.description for ln in got[0].lines.all()] == ["Pro", "Basic"]
    assert lines(got[0]) == [
        ("recurring", 1, new_used, 0, 0, new_used),
        ("recurring", 1, old_used, 0, 0, old_used),
    ]
    assert upcoming is not None
    assert (upcoming.issued_at, upcoming.totals.total_minor) == (got[0].issued_at, total)
    assert [(ln.amount_minor, ln.period_start, ln.period_end) for ln in upcoming.lines] == [
        (ln.amount_minor, ln.period_start, ln.period_end) for ln in got[0].lines.all()
    ]


@pytest.mark.parametrize(
    ("precision", "first", "second", "used"),
    [
        # Period Jan 15 12:00 → Feb 15 12:00 (31 days); basic R$100 → pro R$250 on Feb 1
        # → premium R$400 on Feb 8. By day, 14/31 then 7/31 remain:
        #   basic   10000 − 10000 × 14/31 (4516.13 → 4516)                 = 5484
        #   pro     25000 × 14/31 (11290.32 → 11290) − 25000 × 7/31 (5645.16 → 5645) = 5645
        #   premium 40000 × 7/31 = 9032.26 → 9032
        #   total 20161
        ("day", (2026, 2, 1, 12), (2026, 2, 8, 12), (9_032, 5_484, 5_645)),
        # By second, at Feb 1 00:00 and Feb 8 00:00: 14.5/31 then 7.5/31 remain:
        #   basic   10000 − 4677.42 (→ 4677)                           = 5323
        #   pro     25000 × 14.5/31 (11693.55 → 11694) − 25000 × 7.5/31 (6048.39 → 6048) = 5646
        #   premium 40000 × 7.5/31 = 9677.42 → 9677
        #   total 20646
        ("second", (2026, 2, 1, 0), (2026, 2, 8, 0), (9_677, 5_323, 5_646)),
    ],
)
def test_arrears_two_changes_in_one_period_bill_three_segments(db, precision, first, second, used):
    # Given basic in arrears from Jan 15 at noon, and pro and premium in arrears
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        basic = arrears(w)
        pro = arrears(w, "pro", amount=25_000)
        premium = arrears(w, "premium", amount=40_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When it is upgraded twice in the period
        w.advance(sp(*first))
        change(w, sub, plan=pro)
        w.advance(sp(*second))
        change(w, sub, plan=premium)
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # Then the period's invoice has one line per plan, for the time each was used
    assert [ln.description for ln in got[0].lines.all()] == ["Premium", "Basic", "Pro"]
    assert [ln.amount_minor for ln in got[0].lines.all()] == list(used)
    assert spans(got[0]) == [
        ("recurring", loc(sp(*second)), "2026-02-15 12:00"),
        ("recurring", "2026-01-15 12:00", loc(sp(*first))),
        ("recurring", loc(sp(*first)), loc(sp(*second))),
    ]
    assert got[0].total_minor == sum(used)


@BOTH
def test_arrears_change_invoiced_now_is_what_the_preview_said(db, precision):
    # Given basic (R$100, 10% tax on top) in arrears from Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        tax = w.tax("10")
        basic = arrears(w, tax_rate=tax)
        pro = arrears(w, "pro", amount=25_000, tax_rate=tax)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        # When it is upgraded with the used part invoiced now
        preview = billing_subs.subscription_preview_change(
            tenant=w.tenant,
            subscription=w.refresh(sub),
            now=w.now,
            plan=pro,
            proration="invoice_now",
        )
        change(w, sub, plan=pro, proration="invoice_now")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # Then Jan 15 → Feb 1 12:00 on basic is invoiced now. By day 14/31 remain, by
    # second exactly 14 days (noon to noon): basic used 10000 − 4516 = 5484, tax 548.4
    # → 548, total 6032. Feb 15: pro 25000 × 14/31 = 11290, tax 1129, total 12419.
    assert [doc(i)[1:8] for i in got] == [
        ("2026-02-01 12:00", "subscription_update", "open", 5_484, 0, 548, 6_032),
        ("2026-02-15 12:00", "subscription_cycle", "open", 11_290, 0, 1_129, 12_419),
    ]
    assert [(ln.kind, ln.amount_minor, ln.tax_minor, ln.total_minor) for ln in preview.lines] == [
        (ln.kind, ln.amount_minor, ln.tax_minor, ln.total_minor) for ln in got[0].lines.all()
    ]
    assert preview.total_minor == got[0].total_minor == 6_032


@pytest.mark.parametrize(
    ("precision", "at", "old_used", "new_used"),
    [
        # Per seat R$30, 2 → 5 seats; period Jan 15 → Feb 15 (31 days).
        # By day, Feb 1 noon: 14/31 remain. 2 seats 6000: 6000 × 14/31 = 2709.68 → 2710,
        # used 3290; 5 seats 15000 × 14/31 = 6774.19 → 6774. Total 10064.
        ("day", (2026, 2, 1, 12), 3_290, 6_774),
        # By second, Feb 1 00:00: 14.5/31 remain. 6000 × 14.5/31 = 2806.45 → 2806,
        # used 3194; 15000 × 14.5/31 = 7016.13 → 7016. Total 10210.
        ("second", (2026, 2, 1, 0), 3_194, 7_016),
    ],
)
def test_arrears_quantity_change_mid_period(db, precision, at, old_used, new_used):
    # Given 2 seats of R$30 a seat, in arrears, from Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = arrears(w, "seats", amount=3_000, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=2)
        w.advance(sp(*at))
        # When it goes to 5 seats now
        change(w, sub, quantity=5)
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    total = old_used + new_used
    assert [doc(i)[4:8] for i in got] == [(total, 0, 0, total), (15_000, 0, 0, 15_000)]
    assert lines(got[0]) == [
        ("recurring", 5, new_used, 0, 0, new_used),
        ("recurring", 2, old_used, 0, 0, old_used),
    ]


@pytest.mark.parametrize(
    ("precision", "used"),
    [
        # Period Mar 31 → Apr 30 2028 (30 days); cancel Apr 15 at 18:00.
        # By day: Apr 15 .. Apr 29 remain, 15/30: 10000 × 15/30 = 5000, used 5000.
        ("day", 5_000),
        # By second: Apr 15 18:00 → Apr 30 12:00 = 14.75 days: 10000 × 14.75/30 =
        # 4916.67 → 4917, used 5083.
        ("second", 5_083),
    ],
)
def test_arrears_month_end_anchor_in_a_leap_year(db, precision, used):
    # Given R$100 monthly in arrears bought on Jan 31 2028 (a leap year) at noon
    with world(sp(2028, 1, 31, 12), proration_precision=precision) as w:
        plan = arrears(w)
        sub = w.subscribe(plan)
        # When it runs to April and is cancelled on Apr 15 at 18:00
        w.advance(sp(2028, 4, 15, 18))
        cancel(w, sub)
        got = w.invoices(sub)
    # Then periods clamp at month end: Jan 31 → Feb 29 → Mar 31 → Apr 30.
    assert [(loc(i.issued_at), periods(i), i.total_minor) for i in got] == [
        ("2028-02-29 12:00", ("2028-01-31 12:00", "2028-02-29 12:00"), 10_000),
        ("2028-03-31 12:00", ("2028-02-29 12:00", "2028-03-31 12:00"), 10_000),
        ("2028-04-15 18:00", ("2028-03-31 12:00", "2028-04-15 18:00"), used),
    ]
    assert spans(got[2]) == [("recurring", "2028-03-31 12:00", "2028-04-15 18:00")]


@BOTH
def test_arrears_coupon_discounts_the_invoices_at_period_end(db, precision):
    # Given R$100 in arrears, 5% tax on top, a 20% coupon for 2 cycles
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        tax = w.tax("5")
        plan = arrears(w, tax_rate=tax)
        coupon(w, "TWO20", percent_off=Decimal("20"), duration="repeating", duration_cycles=2)
        sub = w.subscribe(plan, coupon="TWO20")
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
    # Feb 15 and Mar 15: 10000 − 2000 = 8000, tax 5% = 400, total 8400.
    # Apr 15: the coupon's cycles are used: 10000 + 500 = 10500.
    assert [doc(i)[1:8] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 2_000, 400, 8_400),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 2_000, 400, 8_400),
        ("2026-04-15 12:00", "subscription_cycle", "open", 10_000, 0, 500, 10_500),
    ]
    assert lines(got[0]) == [("recurring", 1, 10_000, 2_000, 400, 8_400)]


@BOTH
def test_arrears_after_a_trial(db, precision):
    # Given R$100 in arrears with a 14-day trial and a R$50 setup fee, from Jan 1 at noon
    with world(sp(2026, 1, 1, 12), proration_precision=precision) as w:
        plan = arrears(w, trial_days=14, setup_fee_minor=5_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        assert state(w, sub)[0] == "trialing"
        # When the trial ends (Jan 15) nothing more is invoiced; then a month runs
        w.advance(sp(2026, 1, 20, 0))
        assert len(w.invoices(sub)) == 1
        assert state(w, sub) == ("active", "basic", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # The setup fee at signup (as any trial with a setup fee); the first period at its end.
    assert [doc(i)[1:8] for i in got] == [
        ("2026-01-01 12:00", "subscription_create", "open", 5_000, 0, 0, 5_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000),
    ]
    assert periods(got[1]) == ("2026-01-15 12:00", "2026-02-15 12:00")


@BOTH
def test_arrears_fixed_term_bills_the_last_period_at_the_end_of_term(db, precision):
    # Given R$100 in arrears for a fixed term of 2 cycles, from Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = arrears(w, term_cycles=2)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 6, 1, 0))
        got = w.invoices(sub)
        row = w.refresh(sub)
    # Then both periods are invoiced at their ends, the last at the end of the term.
    assert [(loc(i.issued_at), i.total_minor) for i in got] == [
        ("2026-02-15 12:00", 10_000),
        ("2026-03-15 12:00", 10_000),
    ]
    assert (row.status, loc(row.ended_at)) == ("ended", "2026-03-15 12:00")


@pytest.mark.parametrize(
    ("precision", "used"),
    [
        # Period Feb 15 → Mar 15 (28 days); pause Mar 1 at 18:00.
        # By day: 14/28 remain: 10000 × 14/28 = 5000, used 5000.
        ("day", 5_000),
        # By second: 13.75/28 remain: 4910.71 → 4911, used 5089.
        ("second", 5_089),
    ],
)
def test_arrears_pause_now_bills_the_used_part_at_the_pause(db, precision, used):
    # Given R$100 in arrears from Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = arrears(w, max_pauses=1, max_pause_cycles=2)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 3, 1, 18))
        # When it is paused now until Apr 15 at noon
        billing_subs.subscription_pause_now(
            tenant=w.tenant,
            subscription_id=sub.pk,
            actor=ACTOR,
            now=w.now,
            resume_at=sp(2026, 4, 15, 12),
        )
        w.advance(sp(2026, 5, 20, 0))
        got = w.invoices(sub)
    # Then the used part is invoiced at the pause; nothing while paused; from the
    # resumption (on the anchor's grid, Apr 15 → May 15) billed at its end, whole.
    assert [(loc(i.issued_at), doc(i)[2], i.total_minor) for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", 10_000),
        ("2026-03-01 18:00", "subscription_update", used),
        ("2026-05-15 12:00", "subscription_cycle", 10_000),
    ]
    assert periods(got[2]) == ("2026-04-15 12:00", "2026-05-15 12:00")


def test_arrears_billing_run_writes_what_a_test_clock_writes(db):
    # Given the same in-arrears subscription twice: a live customer (billing run)
    # and one on a test clock, both with a mid-period upgrade
    start = sp(2026, 1, 15, 12)
    with world(start) as w:
        basic = arrears(w)
        pro = arrears(w, "pro", amount=25_000)
        live = billing_subs.subscription_create(
            tenant=w.tenant,
            customer=Customer.objects.create(tenant=w.tenant, name="Live"),
            plan=basic,
            actor=ACTOR,
            now=start,
            collection_method="send_invoice",
        )
        rehearsed = w.subscribe(basic, collection_method="send_invoice")
        at = sp(2026, 2, 1, 12)
        w.advance(at)
        for sub in (live, rehearsed):
            billing_subs.subscription_change(
                tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=at, plan=pro
            )
        # When the billing run task runs just after Feb 15, and the clock advances there
        due = sp(2026, 2, 15, 12) + timedelta(minutes=1)
        with time_machine.travel(due, tick=False):
            billing_run_task()
        w.advance(due)
        got = [
            [(i.total_minor, i.period_start, i.period_end) for i in w.invoices(s)]
            for s in (live, rehearsed)
        ]
        line_sets = [
            [(ln.description, ln.amount_minor) for ln in w.invoices(s)[0].lines.all()]
            for s in (live, rehearsed)
        ]
    # Then both wrote the same invoice: 5484 + 11290 = 16774 (see the upgrade scenario).
    assert got[0] == got[1] == [(16_774, start, sp(2026, 2, 15, 12))]
    assert line_sets[0] == line_sets[1] == [("Pro", 11_290), ("Basic", 5_484)]


# --- bad input: a clear error and nothing changed -------------------------------


@pytest.mark.parametrize("direction", ["to_arrears", "to_advance"])
def test_arrears_switching_timing_now_is_refused_and_changes_nothing(db, direction):
    # Given a live subscription on an in-advance plan (or an in-arrears one)
    with world(sp(2026, 1, 15, 12)) as w:
        advance_plan = w.plan("adv", amount=10_000)
        arrears_plan = arrears(w, "arr", amount=10_000)
        old, new = (
            (advance_plan, arrears_plan)
            if direction == "to_arrears"
            else (arrears_plan, advance_plan)
        )
        sub = w.subscribe(old, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        before = (state(w, sub), len(w.invoices(sub)), PendingLine.objects.count())
        # When it is switched to a plan billed the other way, now (or previewed)
        for call in (
            lambda: change(w, sub, plan=new),
            lambda: billing_subs.subscription_preview_change(
                tenant=w.tenant, subscription=w.refresh(sub), now=w.now, plan=new
            ),
        ):
            with pytest.raises(ValidationFailed) as err:
                call()
            # Then it is refused with a clear error on the plan
            assert (err.value.code, err.value.param) == ("billing_timing_change", "plan")
            assert "cancel and subscribe again" in err.value.message
        # And nothing changed
        assert (state(w, sub), len(w.invoices(sub)), PendingLine.objects.count()) == before
        assert w.refresh(sub).arrears_from is None


def test_arrears_switching_timing_at_period_end_bills_each_period_once(db):
    # Given an in-arrears subscription (R$100) switching at period end to an
    # in-advance plan (R$120): exact at the boundary, so allowed
    with world(sp(2026, 1, 15, 12)) as w:
        arrears_plan = arrears(w, "arr", amount=10_000)
        advance_plan = w.plan("adv", amount=12_000)
        sub = w.subscribe(arrears_plan, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=advance_plan, when="period_end")
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    # Feb 15: Jan 15 → Feb 15 in arrears (10000), and Feb 15 → Mar 15 in advance (12000);
    # Mar 15: Mar 15 → Apr 15 in advance.
    assert [(loc(i.issued_at), periods(i), i.total_minor) for i in got] == [
        ("2026-02-15 12:00", ("2026-01-15 12:00", "2026-02-15 12:00"), 10_000),
        ("2026-02-15 12:00", ("2026-02-15 12:00", "2026-03-15 12:00"), 12_000),
        ("2026-03-15 12:00", ("2026-03-15 12:00", "2026-04-15 12:00"), 12_000),
    ]


def test_arrears_interval_change_and_proration_none_are_refused(db):
    # Given an in-arrears monthly subscription and an in-arrears yearly plan
    with world(sp(2026, 1, 15, 12)) as w:
        monthly = arrears(w, "m", amount=10_000)
        yearly = arrears(w, "y", amount=100_000, interval="year")
        pro = arrears(w, "pro", amount=25_000)
        sub = w.subscribe(monthly, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        # When the interval changes now, or a change asks for no proration
        with pytest.raises(ValidationFailed) as interval:
            change(w, sub, plan=yearly)
        with pytest.raises(ValidationFailed) as none:
            change(w, sub, plan=pro, proration="none")
        # Then each is refused and nothing changed
        assert (interval.value.code, none.value.code) == (
            "arrears_interval_change",
            "arrears_proration_none",
        )
        assert state(w, sub) == ("active", "m", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        assert w.invoices(sub) == []
        assert PendingLine.objects.count() == 0
        assert not ScheduledChange.objects.filter(subscription=sub).exists()


def test_arrears_plan_timing_cannot_change_once_subscribed(db):
    # Given an in-advance plan with one subscriber, and an unused one
    with world(sp(2026, 1, 15, 12)) as w:
        used = w.plan("used", amount=10_000)
        unused = w.plan("unused", amount=10_000)
        w.subscribe(used, collection_method="send_invoice")
        # When each is switched to in arrears
        with pytest.raises(StateConflict) as err:
            subs.plan_update(
                tenant=w.tenant,
                plan_id=used.pk,
                changes={"billing_timing": "in_arrears"},
                actor=ACTOR,
                now=w.now,
            )
        with pytest.raises(ValidationFailed) as bad:
            subs.plan_update(
                tenant=w.tenant,
                plan_id=unused.pk,
                changes={"billing_timing": "monthly"},
                actor=ACTOR,
                now=w.now,
            )
        subs.plan_update(
            tenant=w.tenant,
            plan_id=unused.pk,
            changes={"billing_timing": "in_arrears"},
            actor=ACTOR,
            now=w.now,
        )
        # Then the used one is refused and unchanged; the unused one changes
        assert (err.value.code, err.value.param) == ("plan_in_use", "billing_timing")
        assert (bad.value.param, bad.value.code) == ("billing_timing", "validation_failed")
        used.refresh_from_db()
        unused.refresh_from_db()
        assert (used.billing_timing, unused.billing_timing) == ("in_advance", "in_arrears")
        assert Subscription.objects.filter(plan=used).count() == 1


def _live_batch(slug: str, count: int) -> tuple[object, list[Subscription]]:
    """``count`` live in-arrears subscriptions, every other one upgraded mid-period."""
    start = sp(2026, 1, 15, 12)
    with world(start, slug=slug) as w:
        basic = arrears(w)
        pro = arrears(w, "pro", amount=25_000)
        subs_ = [
            billing_subs.subscription_create(
                tenant=w.tenant,
                customer=Customer.objects.create(tenant=w.tenant, name=f"Live {i}"),
                plan=basic,
                actor=ACTOR,
                now=start,
                collection_method="send_invoice",
            )
            for i in range(count)
        ]
        for sub in subs_[::2]:
            billing_subs.subscription_change(
                tenant=w.tenant,
                subscription_id=sub.pk,
                actor=ACTOR,
                now=sp(2026, 2, 1, 12),
                plan=pro,
            )
        return w.tenant, subs_


def test_arrears_billing_run_is_set_based(db):
    # Given two tenants with 2 and 8 due in-arrears subscriptions (half upgraded mid-period)
    small, _ = _live_batch("small", 2)
    large, large_subs = _live_batch("large", 8)
    due = sp(2026, 2, 15, 12) + timedelta(minutes=1)
    # When the billing run bills each in one batch
    with CaptureQueriesContext(connection) as few:
        billing_run(now=due, tenant=small)
    with CaptureQueriesContext(connection) as many:
        billing_run(now=due, tenant=large)
    # Then four times the subscriptions cost the same statements
    assert len(many.captured_queries) == len(few.captured_queries)
    with tenant_context(large):
        rows = Invoice.objects.filter(subscription__in=large_subs)
        totals = sorted(rows.values_list("total_minor", flat=True))
    # 4 upgraded (5484 + 11290 = 16774), 4 not (10000).
    assert totals == [10_000] * 4 + [16_774] * 4
