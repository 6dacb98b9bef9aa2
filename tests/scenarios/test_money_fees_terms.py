"""Setup fees (adesão), trials and fixed terms. Hand-computed expectations."""

from decimal import Decimal

from subscriptions.models import Subscription
from tests.scenarios.helpers_money import amounts, coupon, events, line_periods, period
from tests.support.billing import summary, utc, world


def test_money_setup_fee_on_the_first_invoice_only(db):
    # Given R$ 49.90 monthly with a R$ 99.00 setup fee
    with world(utc(2026, 1, 5, 15)) as w:
        sub = w.subscribe(w.plan(amount=4_990, setup_fee_minor=9_900))
        # When two renewals pass
        w.advance(utc(2026, 3, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
        got_lines = line_periods(invoices[0])
    # Then the setup fee rides on the first invoice (no service period) and never again
    assert got == [
        (
            "2026-01-05",
            "subscription_create",
            14_890,
            [("recurring", 4_990, 0, 0, 4_990), ("setup_fee", 9_900, 0, 0, 9_900)],
        ),
        ("2026-02-05", "subscription_cycle", 4_990, [("recurring", 4_990, 0, 0, 4_990)]),
        ("2026-03-05", "subscription_cycle", 4_990, [("recurring", 4_990, 0, 0, 4_990)]),
    ]
    assert got_amounts[0] == (14_890, 0, 0, 14_890, 0, 14_890)
    assert got_lines == [
        ("recurring", utc(2026, 1, 5, 15), utc(2026, 2, 5, 15)),
        ("setup_fee", None, None),
    ]


def test_money_setup_fee_at_signup_then_first_charge_at_trial_end(db):
    # Given R$ 49.90 monthly, R$ 99.00 setup fee and a 14-day trial, subscribed Jan 5
    with world(utc(2026, 1, 5, 15)) as w:
        sub = w.subscribe(w.plan(amount=4_990, setup_fee_minor=9_900, trial_days=14))
        status_at_signup = w.refresh(sub).status
        # When the trial ends (Jan 19) and a month passes
        w.advance(utc(2026, 3, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
        status = w.refresh(sub).status
    # Then the setup fee is invoiced at signup for the trial, the first charge at trial end,
    # and the anchor moves to the trial end (the 19th)
    assert status_at_signup == Subscription.Status.TRIALING
    assert got == [
        ("2026-01-05", "subscription_create", 9_900, [("setup_fee", 9_900, 0, 0, 9_900)]),
        ("2026-01-19", "subscription_cycle", 4_990, [("recurring", 4_990, 0, 0, 4_990)]),
        ("2026-02-19", "subscription_cycle", 4_990, [("recurring", 4_990, 0, 0, 4_990)]),
    ]
    assert got_periods == [
        (utc(2026, 1, 5, 15), utc(2026, 1, 19, 15)),
        (utc(2026, 1, 19, 15), utc(2026, 2, 19, 15)),
        (utc(2026, 2, 19, 15), utc(2026, 3, 19, 15)),
    ]
    assert status == Subscription.Status.ACTIVE


def test_money_coupon_on_both_with_a_trial_splits_across_two_invoices(db):
    # Given the same trial plan and a 50%-off-once coupon on setup and recurring fees
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=4_990, setup_fee_minor=9_900, trial_days=14)
        coupon(w, "HALF", percent_off=Decimal("50"), applies_to="both", duration="once")
        sub = w.subscribe(plan, coupon="HALF")
        # When the trial ends and a month passes
        w.advance(utc(2026, 3, 1))
        got = [summary(i) for i in w.invoices(sub)]
    # Then half off the setup fee at signup, half off the first recurring charge, then full
    assert got == [
        ("2026-01-05", "subscription_create", 4_950, [("setup_fee", 9_900, 4_950, 0, 4_950)]),
        ("2026-01-19", "subscription_cycle", 2_495, [("recurring", 4_990, 2_495, 0, 2_495)]),
        ("2026-02-19", "subscription_cycle", 4_990, [("recurring", 4_990, 0, 0, 4_990)]),
    ]


def test_money_fixed_term_of_three_cycles_ends_with_notice(db):
    # Given a 3-cycle term with a 30-day notice, R$ 100.00 monthly, subscribed Jan 10 noon
    with world(utc(2026, 1, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=10_000, term_cycles=3, term_notice_days=30))
        # When the clock runs well past the term
        w.advance(utc(2026, 7, 1))
        got = [summary(i) for i in w.invoices(sub)]
        after = w.refresh(sub)
        notices = events(sub, "subscription.term_ending")
        ended = [at for at, _ in events(sub, "subscription.ended")]
    # Then exactly three periods are billed (Jan 10, Feb 10, Mar 10), the term ends Apr 10,
    # the notice goes out 30 days earlier (Mar 11, same time of day) and nothing follows
    full = [("recurring", 10_000, 0, 0, 10_000)]
    assert got == [
        ("2026-01-10", "subscription_create", 10_000, full),
        ("2026-02-10", "subscription_cycle", 10_000, full),
        ("2026-03-10", "subscription_cycle", 10_000, full),
    ]
    assert after.status == Subscription.Status.ENDED
    assert after.ended_at == utc(2026, 4, 10, 15)
    assert [(at, data["ends_at"]) for at, data in notices] == [
        (utc(2026, 3, 11, 15), "2026-04-10T15:00:00+00:00")
    ]
    assert ended == [utc(2026, 4, 10, 15)]
    assert after.next_event_at is None


def test_money_fixed_term_notice_longer_than_a_period(db):
    # Given a 2-cycle term with a 45-day notice, subscribed Jan 10 noon local
    with world(utc(2026, 1, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=10_000, term_cycles=2, term_notice_days=45))
        # When the clock runs past the term
        w.advance(utc(2026, 4, 1))
        got = [summary(i) for i in w.invoices(sub)]
        after = w.refresh(sub)
        notices = events(sub, "subscription.term_ending")
    # Then the term ends Mar 10; Mar 10 - 45 days = Jan 24, in the first period
    full = [("recurring", 10_000, 0, 0, 10_000)]
    assert got == [
        ("2026-01-10", "subscription_create", 10_000, full),
        ("2026-02-10", "subscription_cycle", 10_000, full),
    ]
    assert [(at, data["ends_at"]) for at, data in notices] == [
        (utc(2026, 1, 24, 15), "2026-03-10T15:00:00+00:00")
    ]
    assert (after.status, after.ended_at) == (Subscription.Status.ENDED, utc(2026, 3, 10, 15))
