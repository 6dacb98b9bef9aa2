"""Calendar billing (anchored on the 1st / Jan 1 with a prorated first period) and
future starts. Expectations computed by hand; Sao Paulo local midnight = 03:00 UTC."""

from subscriptions.models import Subscription
from tests.scenarios.helpers_money import amounts, line_periods, period
from tests.support.billing import summary, utc, world

MONTHLY = [("recurring", 9_990, 0, 0, 9_990)]


def test_money_calendar_monthly_day_precision(db):
    # Given a monthly R$ 99.90 plan, subscribed Jan 15 2026 at noon local, calendar billing
    with world(utc(2026, 1, 15, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990), calendar_billing=True)
        # When the clock reaches mid-March
        w.advance(utc(2026, 3, 15))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
        got_lines = [line_periods(i) for i in invoices]
    # Then Jan 15 -> Feb 1 is 17 of January's 31 days (the start day counts):
    # 9990 * 17 / 31 = 5478.39 -> 5478; then full months on the 1st
    assert got == [
        ("2026-01-15", "subscription_create", 5_478, [("recurring", 5_478, 0, 0, 5_478)]),
        ("2026-02-01", "subscription_cycle", 9_990, MONTHLY),
        ("2026-03-01", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2026, 1, 15, 15), utc(2026, 2, 1, 3)),
        (utc(2026, 2, 1, 3), utc(2026, 3, 1, 3)),
        (utc(2026, 3, 1, 3), utc(2026, 4, 1, 3)),
    ]
    assert got_lines[0] == [("recurring", utc(2026, 1, 15, 15), utc(2026, 2, 1, 3))]


def test_money_calendar_monthly_in_leap_february(db):
    # Given calendar billing started Feb 10 2028 (February has 29 days)
    with world(utc(2028, 2, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990), calendar_billing=True)
        # When the clock passes Mar 1
        w.advance(utc(2028, 3, 2))
        got = [summary(i) for i in w.invoices(sub)]
    # Then Feb 10 -> Mar 1 is 20 of 29 days: 9990 * 20 / 29 = 6889.66 -> 6890
    assert got == [
        ("2028-02-10", "subscription_create", 6_890, [("recurring", 6_890, 0, 0, 6_890)]),
        ("2028-03-01", "subscription_cycle", 9_990, MONTHLY),
    ]


def test_money_calendar_yearly_day_precision(db):
    # Given a yearly R$ 1,200.00 plan subscribed Mar 10 2026 with calendar billing
    with world(utc(2026, 3, 10, 15)) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), calendar_billing=True)
        # When the clock passes Jan 1 2028
        w.advance(utc(2028, 1, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then Mar 10 -> Jan 1 2027 is 365 - 68 = 297 of 365 days:
    # 120000 * 297 / 365 = 97643.84 -> 97644; then whole years on Jan 1
    yearly = [("recurring", 120_000, 0, 0, 120_000)]
    assert got == [
        ("2026-03-10", "subscription_create", 97_644, [("recurring", 97_644, 0, 0, 97_644)]),
        ("2027-01-01", "subscription_cycle", 120_000, yearly),
        ("2028-01-01", "subscription_cycle", 120_000, yearly),
    ]
    assert got_periods == [
        (utc(2026, 3, 10, 15), utc(2027, 1, 1, 3)),
        (utc(2027, 1, 1, 3), utc(2028, 1, 1, 3)),
        (utc(2028, 1, 1, 3), utc(2029, 1, 1, 3)),
    ]


def test_money_calendar_monthly_second_precision_half_up(db):
    # Given a UTC tenant prorating by the second and rounding half-up, US$ 99.90 monthly
    with world(
        utc(2026, 4, 16, 12),
        time_zone="UTC",
        proration_precision="second",
        rounding_mode="half_up",
    ) as w:
        sub = w.subscribe(w.plan("usd", 9_990, "USD"), calendar_billing=True)
        # When the clock reaches mid-June
        w.advance(utc(2026, 6, 15))
        invoices = w.invoices(sub)
        got = [summary(i, "UTC") for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then Apr 16 12:00 -> May 1 00:00 is 14.5 days of April's 30 (1,252,800 of 2,592,000 s):
    # 9990 * 29 / 60 = 4828.5 -> 4829 half-up (by day it would be 15/30 = 4995)
    usd = [("recurring", 9_990, 0, 0, 9_990)]
    assert got == [
        ("2026-04-16", "subscription_create", 4_829, [("recurring", 4_829, 0, 0, 4_829)]),
        ("2026-05-01", "subscription_cycle", 9_990, usd),
        ("2026-06-01", "subscription_cycle", 9_990, usd),
    ]
    assert got_periods == [
        (utc(2026, 4, 16, 12), utc(2026, 5, 1)),
        (utc(2026, 5, 1), utc(2026, 6, 1)),
        (utc(2026, 6, 1), utc(2026, 7, 1)),
    ]


def test_money_future_start_bills_nothing_until_the_start(db):
    # Given a subscription created Jan 10 2026 to start Feb 1 at noon local
    with world(utc(2026, 1, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990), start_at=utc(2026, 2, 1, 15))
        status_at_signup = w.refresh(sub).status
        invoices_at_signup = w.invoices(sub)
        # When the clock reaches the evening before the start
        w.advance(utc(2026, 2, 1, 14, 59))
        invoices_before_start = w.invoices(sub)
        # and then the start itself
        w.advance(utc(2026, 2, 1, 15))
        at_start = w.refresh(sub)
        first = w.invoices(sub)
        # and a month later
        w.advance(utc(2026, 3, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then nothing is billed before the start and the subscription is incomplete
    assert status_at_signup == Subscription.Status.INCOMPLETE
    assert invoices_at_signup == []
    assert invoices_before_start == []
    # and the first invoice is issued at the start, anchored there
    assert at_start.status == Subscription.Status.INCOMPLETE
    assert at_start.billing_anchor == utc(2026, 2, 1, 15)
    assert len(first) == 1
    assert first[0].issued_at == utc(2026, 2, 1, 15)
    assert got == [
        ("2026-02-01", "subscription_create", 9_990, MONTHLY),
        ("2026-03-01", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2026, 2, 1, 15), utc(2026, 3, 1, 15)),
        (utc(2026, 3, 1, 15), utc(2026, 4, 1, 15)),
    ]
    assert got_amounts == [(9_990, 0, 0, 9_990, 0, 9_990), (9_990, 0, 0, 9_990, 0, 9_990)]
