"""Renewals over many months: monthly (month-end clamp), annual, quarterly, weekly,
taxes (exclusive and inclusive), a repeating coupon with a setup fee, and gapless
invoice numbering per tenant and local calendar year.

Every amount below is computed by hand from the rules in DESIGN.md; the comment
above each expectation shows the arithmetic. Times are São Paulo wall-clock
(UTC-3 all year in 2026/2027).
"""

from decimal import Decimal

from billing import coupons as billing_coupons
from tests.scenarios.helpers_lifecycle import doc, lines, loc, pay, sp, spans, state
from tests.support.billing import ACTOR, world


def test_lifecycle_monthly_month_end_clamp_and_gapless_numbers(db):
    # Given a R$49.90 monthly plan bought on Jan 31 at noon (charged automatically)
    with world(sp(2026, 1, 31, 12)) as w:
        plan = w.plan(amount=4_990)
        sub = w.subscribe(plan)
        # Then the first invoice is open and the subscription incomplete until paid
        assert state(w, sub) == ("incomplete", "basic", 1, "2026-01-31 12:00", "2026-02-28 12:00")
        [first] = w.invoices(sub)
        assert doc(first) == (
            "ACME-2026-000001",
            "2026-01-31 12:00",
            "subscription_create",
            "open",
            4_990,
            0,
            0,
            4_990,
            0,
            4_990,
        )
        # When the first invoice is paid
        pay(w, first)
        assert state(w, sub)[0] == "active"
        # And three months pass
        w.advance(sp(2026, 5, 1, 0))
        got = w.invoices(sub)
        final = state(w, sub)
    # Then the anchor day 31 clamps to Feb 28 and Apr 30 and comes back on Mar 31
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
        "ACME-2026-000003",
        "ACME-2026-000004",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-31 12:00", "subscription_create", "paid", 4_990, 0, 0, 4_990, 0, 4_990),
        ("2026-02-28 12:00", "subscription_cycle", "open", 4_990, 0, 0, 4_990, 0, 4_990),
        ("2026-03-31 12:00", "subscription_cycle", "open", 4_990, 0, 0, 4_990, 0, 4_990),
        ("2026-04-30 12:00", "subscription_cycle", "open", 4_990, 0, 0, 4_990, 0, 4_990),
    ]
    assert [lines(i) for i in got] == [[("recurring", 1, 4_990, 0, 0, 4_990)]] * 4
    assert [spans(i) for i in got] == [
        [("recurring", "2026-01-31 12:00", "2026-02-28 12:00")],
        [("recurring", "2026-02-28 12:00", "2026-03-31 12:00")],
        [("recurring", "2026-03-31 12:00", "2026-04-30 12:00")],
        [("recurring", "2026-04-30 12:00", "2026-05-31 12:00")],
    ]
    assert [(loc(i.period_start), loc(i.period_end)) for i in got] == [
        ("2026-01-31 12:00", "2026-02-28 12:00"),
        ("2026-02-28 12:00", "2026-03-31 12:00"),
        ("2026-03-31 12:00", "2026-04-30 12:00"),
        ("2026-04-30 12:00", "2026-05-31 12:00"),
    ]
    assert final == ("active", "basic", 1, "2026-04-30 12:00", "2026-05-31 12:00")


def test_lifecycle_annual_renewal_and_numbering_by_local_year(db):
    # Given an annual R$1,200.00 plan bought on 2026-03-10
    with world(sp(2026, 3, 10, 12)) as w:
        annual = w.plan("annual", amount=120_000, interval="year")
        monthly = w.plan("monthly", amount=5_000)
        yearly_sub = w.subscribe(annual, w.customer("Ana"), collection_method="send_invoice")
        # And a monthly plan bought on Dec 31 at 22:30 in São Paulo, which is
        # already Jan 1 2027 in UTC: its invoice belongs to the 2026 sequence
        w.advance(sp(2026, 12, 31, 22, 30))
        monthly_sub = w.subscribe(monthly, w.customer("Bia"), collection_method="send_invoice")
        # When the clock runs to the day after the first annual renewal
        w.advance(sp(2027, 3, 11, 0))
        got = [(i.number, loc(i.issued_at), i.billing_reason, i.total_minor) for i in w.invoices()]
        yearly_spans = [spans(i) for i in w.invoices(yearly_sub)]
        yearly_state = state(w, yearly_sub)
        monthly_state = state(w, monthly_sub)
    # Then numbers are gapless per local calendar year, in issue order
    assert got == [
        ("ACME-2026-000001", "2026-03-10 12:00", "subscription_create", 120_000),
        ("ACME-2026-000002", "2026-12-31 22:30", "subscription_create", 5_000),
        ("ACME-2027-000001", "2027-01-31 22:30", "subscription_cycle", 5_000),
        ("ACME-2027-000002", "2027-02-28 22:30", "subscription_cycle", 5_000),
        ("ACME-2027-000003", "2027-03-10 12:00", "subscription_cycle", 120_000),
    ]
    assert yearly_spans == [
        [("recurring", "2026-03-10 12:00", "2027-03-10 12:00")],
        [("recurring", "2027-03-10 12:00", "2028-03-10 12:00")],
    ]
    assert yearly_state == ("active", "annual", 1, "2027-03-10 12:00", "2028-03-10 12:00")
    assert monthly_state == ("active", "monthly", 1, "2027-02-28 22:30", "2027-03-31 22:30")


def test_lifecycle_quarterly_renewals_with_inclusive_tax(db):
    # Given a quarterly plan (month × 3) of R$270.00 with 10% tax included in
    # the price, bought on Jan 31
    with world(sp(2026, 1, 31, 12)) as w:
        tax = w.tax("10", inclusive=True)
        plan = w.plan("quarterly", amount=27_000, interval_count=3, tax_rate=tax)
        sub = w.subscribe(plan, collection_method="send_invoice")
        # When the clock runs into November
        w.advance(sp(2026, 11, 1, 0))
        got = w.invoices(sub)
        final = state(w, sub)
    # Then one invoice every three months, clamped from the 31st of the anchor:
    # tax contained = 27000 - round(27000 × 100 / 110 = 24545.45) = 27000 - 24545 = 2455
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-31 12:00", "subscription_create", "open", 27_000, 0, 2_455, 27_000, 0, 27_000),
        ("2026-04-30 12:00", "subscription_cycle", "open", 27_000, 0, 2_455, 27_000, 0, 27_000),
        ("2026-07-31 12:00", "subscription_cycle", "open", 27_000, 0, 2_455, 27_000, 0, 27_000),
        ("2026-10-31 12:00", "subscription_cycle", "open", 27_000, 0, 2_455, 27_000, 0, 27_000),
    ]
    assert [lines(i) for i in got] == [[("recurring", 1, 27_000, 0, 2_455, 27_000)]] * 4
    assert [spans(i) for i in got] == [
        [("recurring", "2026-01-31 12:00", "2026-04-30 12:00")],
        [("recurring", "2026-04-30 12:00", "2026-07-31 12:00")],
        [("recurring", "2026-07-31 12:00", "2026-10-31 12:00")],
        [("recurring", "2026-10-31 12:00", "2027-01-31 12:00")],
    ]
    assert final == ("active", "quarterly", 1, "2026-10-31 12:00", "2027-01-31 12:00")


def test_lifecycle_weekly_renewals_with_exclusive_tax(db):
    # Given a weekly R$15.00 plan with 5% ISS on top, bought on Wednesday Mar 4 at 09:00
    with world(sp(2026, 3, 4, 9)) as w:
        tax = w.tax("5")
        plan = w.plan("weekly", amount=1_500, interval="week", tax_rate=tax)
        sub = w.subscribe(plan, collection_method="send_invoice")
        # When the clock reaches the fifth Wednesday at exactly 09:00
        w.advance(sp(2026, 4, 1, 9))
        got = w.invoices(sub)
        final = state(w, sub)
    # Then five invoices of 1500 + 5% (75) = 1575, one per week
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
        "ACME-2026-000003",
        "ACME-2026-000004",
        "ACME-2026-000005",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-03-04 09:00", "subscription_create", "open", 1_500, 0, 75, 1_575, 0, 1_575),
        ("2026-03-11 09:00", "subscription_cycle", "open", 1_500, 0, 75, 1_575, 0, 1_575),
        ("2026-03-18 09:00", "subscription_cycle", "open", 1_500, 0, 75, 1_575, 0, 1_575),
        ("2026-03-25 09:00", "subscription_cycle", "open", 1_500, 0, 75, 1_575, 0, 1_575),
        ("2026-04-01 09:00", "subscription_cycle", "open", 1_500, 0, 75, 1_575, 0, 1_575),
    ]
    assert [lines(i) for i in got] == [[("recurring", 1, 1_500, 0, 75, 1_575)]] * 5
    assert spans(got[-1]) == [("recurring", "2026-04-01 09:00", "2026-04-08 09:00")]
    assert final == ("active", "weekly", 1, "2026-04-01 09:00", "2026-04-08 09:00")


def test_lifecycle_repeating_coupon_setup_fee_and_tax(db):
    # Given a R$100.00 monthly plan with a R$50.00 setup fee and 5% ISS on top,
    # and a 20%-off coupon on the recurring fee for 2 cycles
    with world(sp(2026, 1, 15, 12)) as w:
        tax = w.tax("5")
        plan = w.plan(amount=10_000, setup_fee_minor=5_000, tax_rate=tax)
        billing_coupons.coupon_create(
            tenant=w.tenant,
            code="WELCOME20",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal(20),
            duration="repeating",
            duration_cycles=2,
        )
        sub = w.subscribe(plan, coupon="WELCOME20", collection_method="send_invoice")
        # When four months are billed
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
    # Then the first two recurring fees are discounted and taxed on the net:
    #   recurring 10000 - 2000 = 8000, tax 5% = 400 → 8400
    #   setup fee 5000, not discounted, tax 250 → 5250
    # and from the third cycle on: 10000 + 500 = 10500
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 15_000, 2_000, 650, 13_650, 0, 13_650),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 2_000, 400, 8_400, 0, 8_400),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 500, 10_500, 0, 10_500),
        ("2026-04-15 12:00", "subscription_cycle", "open", 10_000, 0, 500, 10_500, 0, 10_500),
    ]
    assert [lines(i) for i in got] == [
        [("recurring", 1, 10_000, 2_000, 400, 8_400), ("setup_fee", 1, 5_000, 0, 250, 5_250)],
        [("recurring", 1, 10_000, 2_000, 400, 8_400)],
        [("recurring", 1, 10_000, 0, 500, 10_500)],
        [("recurring", 1, 10_000, 0, 500, 10_500)],
    ]
