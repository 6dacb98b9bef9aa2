"""Changing the billing interval now (issue 16, lifecycle 1): monthly ↔ quarterly
↔ annual, with the old period's unused part credited and the new period charged
on one invoice at once; the anchor reset to the change (Stripe) or kept on its
day (the first new period prorated to it); month-end anchors and a leap year.

Rules: credit = old period amount × remaining / whole (as any change now);
the new period [change, next boundary of the new grid) is charged whole when the
anchor resets, else prorated against the grid's period holding the change.
By day, calendar days in São Paulo (the day of the change remains); by second,
exact. Each amount is rounded once, half-even.
"""

import pytest

from billing.subscriptions import subscription_preview_change
from core.errors import StateConflict, ValidationFailed
from tenants.models import Event
from tests.scenarios.helpers_lifecycle import (
    balance,
    change,
    doc,
    lines,
    pause,
    pending_changes,
    sp,
    spans,
    state,
)
from tests.support.billing import world


@pytest.mark.parametrize(
    ("precision", "credit", "total"),
    [
        # Mar 3 18:00 → Mar 15 12:00. By day: Mar 3 .. Mar 14 = 12 of the 28 days of
        # [Feb 15, Mar 15): 10000 × 12/28 = 4285.71 → 4286; 100000 - 4286 = 95714.
        pytest.param("day", 4_286, 95_714, id="day"),
        # By second: 11.75 of 28 days: 10000 × 11.75/28 = 4196.43 → 4196;
        # 100000 - 4196 = 95804.
        pytest.param("second", 4_196, 95_804, id="second"),
    ],
)
def test_interval_monthly_to_annual_anchor_reset(db, precision, credit, total):
    # Given basic (R$100 a month) bought on Jan 15 at noon and annual (R$1,000 a year)
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Mar 3 at 18:00 it moves to annual, the anchor reset to the change
        w.advance(sp(2026, 3, 3, 18))
        change(w, sub, plan=annual, anchor="reset")
        # Then a year starts now, invoiced at once with the month's unused part credited
        assert state(w, sub) == ("active", "annual", 1, "2026-03-03 18:00", "2027-03-03 18:00")
        got = w.invoices(sub)
        assert [doc(i)[1:] for i in got][-1] == (
            "2026-03-03 18:00",
            "subscription_update",
            "open",
            total,
            0,
            0,
            total,
            0,
            total,
        )
        assert lines(got[-1]) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, 100_000, 0, 0, 100_000),
        ]
        assert spans(got[-1]) == [
            ("proration", "2026-03-03 18:00", "2026-03-15 12:00"),
            ("recurring", "2026-03-03 18:00", "2027-03-03 18:00"),
        ]
        # And the next invoice is the yearly renewal, a year after the change
        w.advance(sp(2027, 3, 4, 0))
        got = w.invoices(sub)
    assert [(*doc(i)[1:4], doc(i)[7]) for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000),
        ("2026-03-03 18:00", "subscription_update", "open", total),
        ("2027-03-03 18:00", "subscription_cycle", "open", 100_000),
    ]


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # By day: credit Mar 3 .. Mar 14 = 12/28 → 4286 (as above). The annual grid
        # keeps the Jan 15 anchor: [Jan 15 2026, Jan 15 2027) = 365 days, of which
        # Mar 3 .. Jan 14 remain: 29 (March) + 275 (Apr..Dec) + 14 = 318 days:
        # 100000 × 318/365 = 87123.29 → 87123. Total 87123 - 4286 = 82837.
        pytest.param("day", 4_286, 87_123, id="day"),
        # By second: Mar 3 18:00 → Jan 15 12:00 = 317.75 days:
        # 100000 × 317.75/365 = 87054.79 → 87055; credit 4196. Total 82859.
        pytest.param("second", 4_196, 87_055, id="second"),
    ],
)
def test_interval_monthly_to_annual_anchor_kept(db, precision, credit, charge):
    # Given basic (R$100 a month) bought on Jan 15 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Mar 3 at 18:00 it moves to annual keeping the anchor's day
        w.advance(sp(2026, 3, 3, 18))
        change(w, sub, plan=annual, anchor="keep")
        # Then the new period runs to Jan 15 2027, prorated
        assert state(w, sub) == ("active", "annual", 1, "2026-03-03 18:00", "2027-01-15 12:00")
        got = w.invoices(sub)
        assert lines(got[-1]) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, charge, 0, 0, charge),
        ]
        assert got[-1].total_minor == charge - credit
        assert spans(got[-1])[1] == ("recurring", "2026-03-03 18:00", "2027-01-15 12:00")
        # And the first full year is billed on the old anchor's day
        w.advance(sp(2027, 1, 16, 0))
        got = w.invoices(sub)
    assert [doc(i)[1:3] for i in got][-1] == ("2027-01-15 12:00", "subscription_cycle")
    assert lines(got[-1]) == [("recurring", 1, 100_000, 0, 0, 100_000)]
    assert spans(got[-1]) == [("recurring", "2027-01-15 12:00", "2028-01-15 12:00")]


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # Bought Jan 31 at noon: the first month is [Jan 31, Feb 28) = 28 days.
        # Feb 10 .. Feb 27 remain: 18 days: 10000 × 18/28 = 6428.57 → 6429.
        # The quarter keeps the Jan 31 anchor: [Jan 31, Apr 30) (31 clamped to 30)
        # = 28 + 31 + 30 = 89 days; Feb 10 → Apr 30 = 18 + 31 + 30 = 79 days:
        # 27000 × 79/89 = 23966.29 → 23966. Total 23966 - 6429 = 17537.
        pytest.param("day", 6_429, 23_966, id="day"),
        # By second at Feb 10 06:00 (18.25 of 28 days and 79.25 of 89):
        # 10000 × 18.25/28 = 6517.86 → 6518; 27000 × 79.25/89 = 24041.57 → 24042.
        pytest.param("second", 6_518, 24_042, id="second"),
    ],
)
def test_interval_jan31_anchor_monthly_to_quarterly_kept(db, precision, credit, charge):
    # Given basic (R$100 a month) bought on Jan 31 at noon, quarterly at R$270
    with world(sp(2026, 1, 31, 12), proration_precision=precision) as w:
        basic = w.plan("basic", amount=10_000)
        quarterly = w.plan("quarterly", amount=27_000, interval="month", interval_count=3)
        sub = w.subscribe(basic, collection_method="send_invoice")
        assert state(w, sub)[3:] == ("2026-01-31 12:00", "2026-02-28 12:00")
        # When on Feb 10 (06:00 by second, noon by day) it moves to quarterly, anchor kept
        w.advance(sp(2026, 2, 10, 6 if precision == "second" else 12))
        change(w, sub, plan=quarterly, anchor="keep")
        got = w.invoices(sub)
        assert lines(got[-1]) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, charge, 0, 0, charge),
        ]
        assert got[-1].total_minor == charge - credit
        assert state(w, sub)[4] == "2026-04-30 12:00"
        # And the quarters then fall on the month end: Apr 30 → Jul 31 → Oct 31
        w.advance(sp(2026, 8, 1, 0))
        got = w.invoices(sub)
    assert [spans(i) for i in got[-2:]] == [
        [("recurring", "2026-04-30 12:00", "2026-07-31 12:00")],
        [("recurring", "2026-07-31 12:00", "2026-10-31 12:00")],
    ]
    assert [i.total_minor for i in got[-2:]] == [27_000, 27_000]


def test_interval_jan31_anchor_monthly_to_quarterly_reset(db):
    # Given basic (R$100 a month) bought on Jan 31 at noon, day precision
    with world(sp(2026, 1, 31, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        quarterly = w.plan("quarterly", amount=27_000, interval="month", interval_count=3)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 10 at noon it moves to quarterly with the anchor reset
        w.advance(sp(2026, 2, 10, 12))
        change(w, sub, plan=quarterly, anchor="reset")
        # Then credit 10000 × 18/28 = 6428.57 → 6429, the quarter [Feb 10, May 10)
        # charged whole: 27000 - 6429 = 20571
        got = w.invoices(sub)
        assert lines(got[-1]) == [
            ("proration", 1, -6_429, 0, 0, -6_429),
            ("recurring", 1, 27_000, 0, 0, 27_000),
        ]
        assert got[-1].total_minor == 20_571
        assert state(w, sub) == ("active", "quarterly", 1, "2026-02-10 12:00", "2026-05-10 12:00")
        w.advance(sp(2026, 5, 11, 0))
        got = w.invoices(sub)
    assert spans(got[-1]) == [("recurring", "2026-05-10 12:00", "2026-08-10 12:00")]


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # Annual bought Feb 29 2028 at noon: [Feb 29 2028, Feb 28 2029) = 365 days.
        # Jun 10 .. Feb 27 remain: 20 + 31+31+30+31+30+31+31 + 28 = 263 days:
        # 100000 × 263/365 = 72054.79 → 72055. Monthly keeps day 29: [May 29, Jun 29)
        # = 31 days, Jun 10 .. Jun 28 = 19: 10000 × 19/31 = 6129.03 → 6129.
        # Total 6129 - 72055 = -65926: nothing due, 65926 carried to the balance.
        pytest.param("day", 72_055, 6_129, id="day"),
        # By second at Jun 10 00:00: 263.5 of 365 days and 19.5 of 31:
        # 100000 × 263.5/365 = 72191.78 → 72192; 10000 × 19.5/31 = 6290.32 → 6290.
        pytest.param("second", 72_192, 6_290, id="second"),
    ],
)
def test_interval_leap_day_annual_to_monthly_kept(db, precision, credit, charge):
    # Given annual (R$1,000) bought on Feb 29 2028 (a leap day) at noon
    with world(sp(2028, 2, 29, 12), proration_precision=precision) as w:
        annual = w.plan("annual", amount=100_000, interval="year")
        monthly = w.plan("monthly", amount=10_000)
        customer = w.customer()
        sub = w.subscribe(annual, customer=customer, collection_method="send_invoice")
        assert state(w, sub)[3:] == ("2028-02-29 12:00", "2029-02-28 12:00")
        # When on Jun 10 (midnight by second, noon by day) it moves to monthly, day kept
        w.advance(sp(2028, 6, 10, 0 if precision == "second" else 12))
        change(w, sub, plan=monthly, anchor="keep")
        got = w.invoices(sub)
        # Then the credit exceeds the charge: the invoice is zero and the rest is
        # the customer's balance
        assert [ln[2] for ln in lines(got[-1])][:2] == [-credit, charge]
        assert got[-1].amount_due_minor == 0
        assert balance(w, customer) == credit - charge
        assert state(w, sub)[4] == "2028-06-29 12:00"
        # And the months then fall on the 29th, Feb 2029 clamped to the 28th
        w.advance(sp(2029, 3, 1, 0))
        got = w.invoices(sub)
    assert [spans(i)[0][1:] for i in got[-3:]] == [
        ("2028-12-29 12:00", "2029-01-29 12:00"),
        ("2029-01-29 12:00", "2029-02-28 12:00"),
        ("2029-02-28 12:00", "2029-03-29 12:00"),
    ]


def test_interval_change_preview_is_exactly_what_the_change_writes(db):
    # Given basic monthly bought Jan 15 and annual, a tenant that keeps anchors by default
    with world(sp(2026, 1, 15, 12), interval_change_anchor="keep") as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 3, 3, 12))
        before = Event.objects.filter(tenant=w.tenant).count()
        # When the change is previewed
        preview = subscription_preview_change(
            tenant=w.tenant, subscription=w.refresh(sub), now=w.now, plan=annual
        )
        # Then nothing changed
        assert Event.objects.filter(tenant=w.tenant).count() == before
        assert state(w, sub)[1] == "basic"
        assert len(w.invoices(sub)) == 2
        # And confirming writes exactly those lines (the tenant default: anchor kept):
        # credit 4286 (12/28), charge 100000 × 318/365 = 87123.29 → 87123
        change(w, sub, plan=annual)
        written = w.invoices(sub)[-1]
    assert [(p.kind, p.amount_minor, p.total_minor) for p in preview.lines] == [
        (ln[0], ln[2], ln[5]) for ln in lines(written)
    ]
    assert [(p.kind, p.amount_minor) for p in preview.lines] == [
        ("proration", -4_286),
        ("recurring", 87_123),
    ]
    assert preview.total_minor == written.total_minor == 82_837


def test_interval_change_refusals_change_nothing(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        usd = w.plan("usd", amount=10_000, currency="USD", interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        before = (Event.objects.filter(tenant=w.tenant).count(), len(w.invoices(sub)))
        # At the period end: refused
        with pytest.raises(ValidationFailed) as at_end:
            change(w, sub, plan=annual, when="period_end")
        # An unknown anchor: refused
        with pytest.raises(ValidationFailed) as bad_anchor:
            change(w, sub, plan=annual, anchor="sometimes")
        # Another currency: refused
        with pytest.raises(ValidationFailed) as currency:
            change(w, sub, plan=usd)
        assert (at_end.value.code, bad_anchor.value.param, currency.value.param) == (
            "interval_change_now_only",
            "anchor",
            "plan",
        )
        # And nothing changed
        assert pending_changes(sub) == []
        assert (Event.objects.filter(tenant=w.tenant).count(), len(w.invoices(sub))) == before
        assert state(w, sub)[1] == "basic"


def test_interval_change_with_a_scheduled_pause_is_refused(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000, max_pauses=1, max_pause_cycles=2)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        pause(w, sub, cycles=1)
        with pytest.raises(StateConflict) as scheduled:
            change(w, sub, plan=annual)
        assert scheduled.value.code == "change_already_scheduled"
        assert pending_changes(sub) == [("pause", "2026-02-15 12:00")]
        assert state(w, sub)[1] == "basic"


@pytest.mark.parametrize(
    ("precision", "hour", "credit", "charge"),
    [
        # Annual bought Jan 31 at noon: [Jan 31 2026, Jan 31 2027) = 365 days; May 10 ..
        # Jan 30 remain: 21 + 30+31+31+30+31+30+31 + 31 = 266 days:
        # 100000 × 266/365 = 72876.71 → 72877. The quarters keep the Jan 31 anchor:
        # [Apr 30, Jul 31) = 31 + 30 + 31 = 92 days, May 10 .. Jul 30 = 82:
        # 27000 × 82/92 = 24065.22 → 24065. Total 24065 - 72877 = -48812.
        pytest.param("day", 12, 72_877, 24_065, id="day"),
        # By second at May 10 18:00: 265.75/365 → 72808.22 → 72808; 81.75/92 →
        # 23991.85 → 23992. Total 23992 - 72808 = -48816.
        pytest.param("second", 18, 72_808, 23_992, id="second"),
    ],
)
def test_interval_annual_to_quarterly_kept_credit_pays_the_next_quarters(
    db, precision, hour, credit, charge
):
    # Given annual (R$1,000) bought on Jan 31 at noon, quarterly at R$270
    with world(sp(2026, 1, 31, 12), proration_precision=precision) as w:
        annual = w.plan("annual", amount=100_000, interval="year")
        quarterly = w.plan("quarterly", amount=27_000, interval="month", interval_count=3)
        customer = w.customer()
        sub = w.subscribe(annual, customer=customer, collection_method="send_invoice")
        # When on May 10 it moves to quarterly, the anchor's day kept
        w.advance(sp(2026, 5, 10, hour))
        change(w, sub, plan=quarterly, anchor="keep")
        got = w.invoices(sub)
        left = credit - charge
        # (the invoice does not go negative: what is left is carried to the balance)
        assert lines(got[-1]) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, charge, 0, 0, charge),
            ("credit_carried", 1, left, 0, 0, left),
        ]
        assert (got[-1].total_minor, got[-1].amount_due_minor) == (0, 0)
        assert balance(w, customer) == left
        assert state(w, sub)[4] == "2026-07-31 12:00"
        # Then the balance pays the Jul 31 quarter whole and part of the Oct 31 one
        w.advance(sp(2026, 11, 1, 0))
        got = w.invoices(sub)
        assert balance(w, customer) == 0
    assert [(doc(i)[1], doc(i)[7], doc(i)[8], doc(i)[9]) for i in got[-2:]] == [
        ("2026-07-31 12:00", 27_000, 27_000, 0),
        ("2026-10-31 12:00", 27_000, left - 27_000, 27_000 - (left - 27_000)),
    ]
