"""Month-end anchors: periods come from an immutable anchor and clamp at month end.

Tenant time zone is America/Sao_Paulo (UTC-3, no DST in 2026-2032), so 15:00 UTC
is noon local and local midnight is 03:00 UTC. Every expectation is hand-computed.
"""

from tests.scenarios.helpers_money import line_periods, period
from tests.support.billing import summary, utc, world

MONTHLY = [("recurring", 9_990, 0, 0, 9_990)]


def test_money_jan31_start_renews_feb28_then_mar31_in_2026(db):
    # Given a monthly plan of R$ 99.90 and a subscription started Jan 31 2026, noon local
    with world(utc(2026, 1, 31, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990))
        # When three months pass
        w.advance(utc(2026, 5, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
        got_issued = [i.issued_at for i in invoices]
    # Then Feb clamps to the 28th and March returns to the 31st (anchor, not previous end)
    assert got == [
        ("2026-01-31", "subscription_create", 9_990, MONTHLY),
        ("2026-02-28", "subscription_cycle", 9_990, MONTHLY),
        ("2026-03-31", "subscription_cycle", 9_990, MONTHLY),
        ("2026-04-30", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2026, 1, 31, 15), utc(2026, 2, 28, 15)),
        (utc(2026, 2, 28, 15), utc(2026, 3, 31, 15)),
        (utc(2026, 3, 31, 15), utc(2026, 4, 30, 15)),
        (utc(2026, 4, 30, 15), utc(2026, 5, 31, 15)),
    ]
    assert got_issued == [p[0] for p in got_periods]


def test_money_jan31_start_renews_feb29_then_mar31_in_leap_2028(db):
    # Given a subscription started Jan 31 2028 (a leap year)
    with world(utc(2028, 1, 31, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990))
        # When two months pass
        w.advance(utc(2028, 4, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then February clamps to the 29th
    assert got == [
        ("2028-01-31", "subscription_create", 9_990, MONTHLY),
        ("2028-02-29", "subscription_cycle", 9_990, MONTHLY),
        ("2028-03-31", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2028, 1, 31, 15), utc(2028, 2, 29, 15)),
        (utc(2028, 2, 29, 15), utc(2028, 3, 31, 15)),
        (utc(2028, 3, 31, 15), utc(2028, 4, 30, 15)),
    ]


def test_money_30th_start_across_30_and_31_day_months(db):
    # Given a subscription started Jan 30 2026
    with world(utc(2026, 1, 30, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990))
        # When four months pass
        w.advance(utc(2026, 6, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_lines = [line_periods(i) for i in invoices]
    # Then it renews on the 30th, except February (28th), and the Feb period runs to Mar 30
    assert got == [
        ("2026-01-30", "subscription_create", 9_990, MONTHLY),
        ("2026-02-28", "subscription_cycle", 9_990, MONTHLY),
        ("2026-03-30", "subscription_cycle", 9_990, MONTHLY),
        ("2026-04-30", "subscription_cycle", 9_990, MONTHLY),
        ("2026-05-30", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_lines == [
        [("recurring", utc(2026, 1, 30, 15), utc(2026, 2, 28, 15))],
        [("recurring", utc(2026, 2, 28, 15), utc(2026, 3, 30, 15))],
        [("recurring", utc(2026, 3, 30, 15), utc(2026, 4, 30, 15))],
        [("recurring", utc(2026, 4, 30, 15), utc(2026, 5, 30, 15))],
        [("recurring", utc(2026, 5, 30, 15), utc(2026, 6, 30, 15))],
    ]


def test_money_anchor_day_31_from_january_prorates_the_stub(db):
    # Given a monthly R$ 99.90 plan, subscribed Jan 10 2026 (noon local) with anchor_day=31
    with world(utc(2026, 1, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990), anchor_day=31)
        # When the clock reaches mid-April
        w.advance(utc(2026, 4, 15))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then the stub Jan 10 -> Jan 31 is 21 of the 31 days of Dec 31 -> Jan 31:
    # 9990 * 21 / 31 = 6767.42 -> 6767; then renewals at local midnight, clamped
    assert got == [
        ("2026-01-10", "subscription_create", 6_767, [("recurring", 6_767, 0, 0, 6_767)]),
        ("2026-01-31", "subscription_cycle", 9_990, MONTHLY),
        ("2026-02-28", "subscription_cycle", 9_990, MONTHLY),
        ("2026-03-31", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2026, 1, 10, 15), utc(2026, 1, 31, 3)),
        (utc(2026, 1, 31, 3), utc(2026, 2, 28, 3)),
        (utc(2026, 2, 28, 3), utc(2026, 3, 31, 3)),
        (utc(2026, 3, 31, 3), utc(2026, 4, 30, 3)),
    ]


def test_money_anchor_day_31_from_february_returns_to_the_31st(db):
    # Given a monthly R$ 99.90 plan, subscribed Feb 10 2026 (noon local) with anchor_day=31
    with world(utc(2026, 2, 10, 15)) as w:
        sub = w.subscribe(w.plan(amount=9_990), anchor_day=31)
        # When the clock reaches May 1
        w.advance(utc(2026, 5, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then the first anchor is Feb 28 (31 clamped), later ones the 31st / 30th.
    # Stub Feb 10 -> Feb 28 = 18 of the 28 days of Jan 31 -> Feb 28:
    # 9990 * 18 / 28 = 6422.14 -> 6422
    assert got == [
        ("2026-02-10", "subscription_create", 6_422, [("recurring", 6_422, 0, 0, 6_422)]),
        ("2026-02-28", "subscription_cycle", 9_990, MONTHLY),
        ("2026-03-31", "subscription_cycle", 9_990, MONTHLY),
        ("2026-04-30", "subscription_cycle", 9_990, MONTHLY),
    ]
    assert got_periods == [
        (utc(2026, 2, 10, 15), utc(2026, 2, 28, 3)),
        (utc(2026, 2, 28, 3), utc(2026, 3, 31, 3)),
        (utc(2026, 3, 31, 3), utc(2026, 4, 30, 3)),
        (utc(2026, 4, 30, 3), utc(2026, 5, 31, 3)),
    ]


def test_money_annual_plan_from_feb29_2028_renews_feb28_and_feb29_again_in_2032(db):
    # Given a yearly R$ 999.00 plan subscribed on Feb 29 2028
    with world(utc(2028, 2, 29, 15)) as w:
        sub = w.subscribe(w.plan("annual", 99_900, interval="year"))
        # When four years pass
        w.advance(utc(2032, 3, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then non-leap years renew Feb 28, and 2032 (leap) renews Feb 29 again
    yearly = [("recurring", 99_900, 0, 0, 99_900)]
    assert got == [
        ("2028-02-29", "subscription_create", 99_900, yearly),
        ("2029-02-28", "subscription_cycle", 99_900, yearly),
        ("2030-02-28", "subscription_cycle", 99_900, yearly),
        ("2031-02-28", "subscription_cycle", 99_900, yearly),
        ("2032-02-29", "subscription_cycle", 99_900, yearly),
    ]
    assert got_periods == [
        (utc(2028, 2, 29, 15), utc(2029, 2, 28, 15)),
        (utc(2029, 2, 28, 15), utc(2030, 2, 28, 15)),
        (utc(2030, 2, 28, 15), utc(2031, 2, 28, 15)),
        (utc(2031, 2, 28, 15), utc(2032, 2, 29, 15)),
        (utc(2032, 2, 29, 15), utc(2033, 2, 28, 15)),
    ]
