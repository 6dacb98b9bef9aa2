"""Calendar billing and a billing day for every interval (issue 16, item 7):
calendar quarters (Jan/Apr/Jul/Oct 1st), years on Jan 1st, a billing day of the
month for quarterly and annual plans (clamped at month end), and interval
changes on those anchors. Expectations computed by hand; São Paulo local
midnight = 03:00 UTC, noon = 15:00 UTC."""

import pytest

from core.errors import ValidationFailed
from subscriptions.models import Subscription
from tests.scenarios.helpers_money import change, period
from tests.support.billing import summary, utc, world

SECOND = {"time_zone": "UTC", "proration_precision": "second", "rounding_mode": "half_up"}
QUARTER = [("recurring", 29_990, 0, 0, 29_990)]
YEAR = [("recurring", 120_000, 0, 0, 120_000)]


def quarterly(w, amount=29_990, code="quarterly"):
    return w.plan(code, amount, interval="month", interval_count=3)


def test_calendar_quarterly_mid_quarter_day_precision(db):
    # Given a quarterly R$ 299,90 plan with calendar billing, bought Feb 16 2026 at noon
    with world(utc(2026, 2, 16, 15)) as w:
        sub = w.subscribe(quarterly(w), calendar_billing=True)
        # When the clock passes Jul 1
        w.advance(utc(2026, 7, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
    # Then the first quarter Jan 1 -> Apr 1 has 31 + 28 + 31 = 90 days; Feb 16 ->
    # Apr 1 is 13 + 31 = 44 of them: 29990 * 44/90 = 14661.78 -> 14662; then
    # whole quarters on Apr 1 and Jul 1
    assert got == [
        ("2026-02-16", "subscription_create", 14_662, [("recurring", 14_662, 0, 0, 14_662)]),
        ("2026-04-01", "subscription_cycle", 29_990, QUARTER),
        ("2026-07-01", "subscription_cycle", 29_990, QUARTER),
    ]
    assert periods == [
        (utc(2026, 2, 16, 15), utc(2026, 4, 1, 3)),
        (utc(2026, 4, 1, 3), utc(2026, 7, 1, 3)),
        (utc(2026, 7, 1, 3), utc(2026, 10, 1, 3)),
    ]


def test_calendar_quarterly_mid_quarter_second_precision(db):
    # Given a UTC tenant prorating by the second, half-up; bought Feb 16 2026 at 12:00
    with world(utc(2026, 2, 16, 12), **SECOND) as w:
        sub = w.subscribe(quarterly(w), calendar_billing=True)
        w.advance(utc(2026, 4, 2))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Feb 16 12:00 -> Apr 1 is 43.5 of the quarter's 90 days:
    # 29990 * 43.5/90 = 14495.17 -> 14495
    assert got == [
        ("2026-02-16", "subscription_create", 14_495, [("recurring", 14_495, 0, 0, 14_495)]),
        ("2026-04-01", "subscription_cycle", 29_990, QUARTER),
    ]


def test_calendar_annual_from_mid_leap_year_day_precision(db):
    # Given a yearly R$ 1.200,00 plan with calendar billing, bought Jul 1 2028 at noon
    with world(utc(2028, 7, 1, 15)) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), calendar_billing=True)
        w.advance(utc(2030, 1, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
    # Then 2028 has 366 days and Jul 1 -> Jan 1 is 184 of them:
    # 120000 * 184/366 = 60327.87 -> 60328; then whole years on Jan 1
    assert got == [
        ("2028-07-01", "subscription_create", 60_328, [("recurring", 60_328, 0, 0, 60_328)]),
        ("2029-01-01", "subscription_cycle", 120_000, YEAR),
        ("2030-01-01", "subscription_cycle", 120_000, YEAR),
    ]
    assert periods[1] == (utc(2029, 1, 1, 3), utc(2030, 1, 1, 3))


def test_calendar_annual_from_mid_leap_year_second_precision(db):
    with world(utc(2028, 7, 1, 12), **SECOND) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), calendar_billing=True)
        w.advance(utc(2029, 1, 2))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Jul 1 12:00 -> Jan 1 is 183.5 of 366 days: 120000 * 183.5/366 = 60163.93 -> 60164
    assert got == [
        ("2028-07-01", "subscription_create", 60_164, [("recurring", 60_164, 0, 0, 60_164)]),
        ("2029-01-01", "subscription_cycle", 120_000, YEAR),
    ]


def test_billing_day_31_quarterly_across_a_leap_february(db):
    # Given a quarterly plan billed on day 31, bought Nov 10 2027 at noon
    with world(utc(2027, 11, 10, 15)) as w:
        sub = w.subscribe(quarterly(w), anchor_day=31)
        w.advance(utc(2028, 9, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
    # Then November has no 31st: the first day is Nov 30 (clamped); the quarter
    # it closes is Aug 31 -> Nov 30 (1 + 30 + 31 + 29 = 91 days), and Nov 10 ->
    # Nov 30 is 20 of them: 29990 * 20/91 = 6591.21 -> 6591. Then every third
    # month on the 31st or the month's last day: Feb 29 2028 (leap), May 31, Aug 31
    assert got == [
        ("2027-11-10", "subscription_create", 6_591, [("recurring", 6_591, 0, 0, 6_591)]),
        ("2027-11-30", "subscription_cycle", 29_990, QUARTER),
        ("2028-02-29", "subscription_cycle", 29_990, QUARTER),
        ("2028-05-31", "subscription_cycle", 29_990, QUARTER),
        ("2028-08-31", "subscription_cycle", 29_990, QUARTER),
    ]
    assert periods[1:] == [
        (utc(2027, 11, 30, 3), utc(2028, 2, 29, 3)),
        (utc(2028, 2, 29, 3), utc(2028, 5, 31, 3)),
        (utc(2028, 5, 31, 3), utc(2028, 8, 31, 3)),
        (utc(2028, 8, 31, 3), utc(2028, 11, 30, 3)),
    ]


def test_billing_day_31_quarterly_second_precision(db):
    with world(utc(2027, 11, 10, 12), **SECOND) as w:
        sub = w.subscribe(quarterly(w), anchor_day=31)
        w.advance(utc(2027, 12, 1))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Nov 10 12:00 -> Nov 30 is 19.5 of 91 days: 29990 * 19.5/91 = 6426.43 -> 6426
    assert got == [
        ("2027-11-10", "subscription_create", 6_426, [("recurring", 6_426, 0, 0, 6_426)]),
        ("2027-11-30", "subscription_cycle", 29_990, QUARTER),
    ]


def test_billing_day_29_annual_anchored_on_feb_29(db):
    # Given a yearly plan billed on day 29, bought Feb 10 2028 at noon
    with world(utc(2028, 2, 10, 15)) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), anchor_day=29)
        w.advance(utc(2030, 3, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
    # Then the anchor is Feb 29 2028; the year it closes began Feb 28 2027 (no
    # 29th in 2027): 366 days, Feb 10 -> Feb 29 is 19 of them:
    # 120000 * 19/366 = 6229.51 -> 6230. Then Feb 28 in common years.
    assert got == [
        ("2028-02-10", "subscription_create", 6_230, [("recurring", 6_230, 0, 0, 6_230)]),
        ("2028-02-29", "subscription_cycle", 120_000, YEAR),
        ("2029-02-28", "subscription_cycle", 120_000, YEAR),
        ("2030-02-28", "subscription_cycle", 120_000, YEAR),
    ]
    assert periods[1:] == [
        (utc(2028, 2, 29, 3), utc(2029, 2, 28, 3)),
        (utc(2029, 2, 28, 3), utc(2030, 2, 28, 3)),
        (utc(2030, 2, 28, 3), utc(2031, 2, 28, 3)),
    ]


def test_billing_day_29_annual_second_precision(db):
    with world(utc(2028, 2, 10, 12), **SECOND) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), anchor_day=29)
        w.advance(utc(2028, 3, 1))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Feb 10 12:00 -> Feb 29 is 18.5 of 366 days: 120000 * 18.5/366 = 6065.57 -> 6066
    assert got == [
        ("2028-02-10", "subscription_create", 6_066, [("recurring", 6_066, 0, 0, 6_066)]),
        ("2028-02-29", "subscription_cycle", 120_000, YEAR),
    ]


def test_billing_day_31_annual_clamps_in_february(db):
    # Given a yearly plan billed on day 31, bought Feb 10 2027 at noon
    with world(utc(2027, 2, 10, 15)) as w:
        sub = w.subscribe(w.plan("yearly", 120_000, interval="year"), anchor_day=31)
        w.advance(utc(2029, 3, 1))
        invoices = w.invoices(sub)
        periods = [period(i) for i in invoices]
        first = summary(invoices[0])
    # Then the first day is Feb 28 2027 (clamped) and the year stays in
    # February: Feb 29 2028 (the 31st clamped in a leap year), Feb 28 2029.
    # The year the first day closes began on "Feb 31" 2026, clamped to Feb 28
    # 2026: 365 days, Feb 10 -> Feb 28 is 18 of them: 120000 * 18/365 = 5917.81 -> 5918
    assert first == (
        "2027-02-10",
        "subscription_create",
        5_918,
        [("recurring", 5_918, 0, 0, 5_918)],
    )
    assert periods == [
        (utc(2027, 2, 10, 15), utc(2027, 2, 28, 3)),
        (utc(2027, 2, 28, 3), utc(2028, 2, 29, 3)),
        (utc(2028, 2, 29, 3), utc(2029, 2, 28, 3)),
        (utc(2029, 2, 28, 3), utc(2030, 2, 28, 3)),
    ]


def test_interval_change_monthly_to_quarterly_keeps_the_calendar_day_precision(db):
    # Given a monthly R$ 99,90 plan with calendar billing from Jan 1 2026 (local
    # midnight), and a quarterly R$ 269,70 plan
    with world(utc(2026, 1, 1, 3)) as w:
        sub = w.subscribe(w.plan("monthly", 9_990), calendar_billing=True)
        q = quarterly(w, 26_970)
        # When on Feb 11 at noon it moves to quarterly, keeping the anchor
        w.advance(utc(2026, 2, 11, 15))
        change(w, sub, plan=q, anchor="keep")
        w.advance(utc(2026, 7, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
        calendar = w.refresh(sub).calendar_billing
    # Then February's unused part, Feb 11 -> Mar 1, is 18 of 28 days:
    # 9990 * 18/28 = 6422.14 -> 6422 credited; the new period runs to the next
    # calendar quarter, Apr 1: Feb 11 -> Apr 1 is 49 of the quarter's 90 days:
    # 26970 * 49/90 = 14683.67 -> 14684; 14684 - 6422 = 8262. Then quarters on
    # Apr 1 and Jul 1 (calendar quarters, not Feb/May/Aug)
    monthly = [("recurring", 9_990, 0, 0, 9_990)]
    quarter = [("recurring", 26_970, 0, 0, 26_970)]
    assert got == [
        ("2026-01-01", "subscription_create", 9_990, monthly),
        ("2026-02-01", "subscription_cycle", 9_990, monthly),
        (
            "2026-02-11",
            "subscription_update",
            8_262,
            [("proration", -6_422, 0, 0, -6_422), ("recurring", 14_684, 0, 0, 14_684)],
        ),
        ("2026-04-01", "subscription_cycle", 26_970, quarter),
        ("2026-07-01", "subscription_cycle", 26_970, quarter),
    ]
    assert periods[2:] == [
        (utc(2026, 2, 11, 15), utc(2026, 4, 1, 3)),
        (utc(2026, 4, 1, 3), utc(2026, 7, 1, 3)),
        (utc(2026, 7, 1, 3), utc(2026, 10, 1, 3)),
    ]
    assert calendar is True


def test_interval_change_monthly_to_quarterly_calendar_second_precision(db):
    with world(utc(2026, 1, 1), **SECOND) as w:
        sub = w.subscribe(w.plan("monthly", 9_990), calendar_billing=True)
        q = quarterly(w, 26_970)
        w.advance(utc(2026, 2, 11, 12))
        change(w, sub, plan=q, anchor="keep")
        w.advance(utc(2026, 4, 2))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Feb 11 12:00 -> Mar 1 is 17.5 of 28 days: 9990 * 17.5/28 = 6243.75 -> 6244
    # credited; Feb 11 12:00 -> Apr 1 is 48.5 of 90 days: 26970 * 48.5/90 =
    # 14533.83 -> 14534; 14534 - 6244 = 8290
    assert got[2:] == [
        (
            "2026-02-11",
            "subscription_update",
            8_290,
            [("proration", -6_244, 0, 0, -6_244), ("recurring", 14_534, 0, 0, 14_534)],
        ),
        ("2026-04-01", "subscription_cycle", 26_970, [("recurring", 26_970, 0, 0, 26_970)]),
    ]


def test_interval_change_with_a_reset_leaves_the_calendar(db):
    # Given the same calendar-billed monthly subscription
    with world(utc(2026, 1, 1, 3)) as w:
        sub = w.subscribe(w.plan("monthly", 9_990), calendar_billing=True)
        q = quarterly(w, 26_970)
        # When on Feb 11 at noon it moves to quarterly, resetting the anchor
        w.advance(utc(2026, 2, 11, 15))
        change(w, sub, plan=q, anchor="reset")
        w.advance(utc(2026, 5, 12))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        periods = [period(i) for i in invoices]
        calendar = w.refresh(sub).calendar_billing
    # Then a whole quarter from the change (Feb 11 -> May 11): 26970 - 6422 = 20548
    assert got[2:] == [
        (
            "2026-02-11",
            "subscription_update",
            20_548,
            [("proration", -6_422, 0, 0, -6_422), ("recurring", 26_970, 0, 0, 26_970)],
        ),
        ("2026-05-11", "subscription_cycle", 26_970, [("recurring", 26_970, 0, 0, 26_970)]),
    ]
    assert periods[2:] == [
        (utc(2026, 2, 11, 15), utc(2026, 5, 11, 15)),
        (utc(2026, 5, 11, 15), utc(2026, 8, 11, 15)),
    ]
    assert calendar is False


@pytest.mark.parametrize(
    ("plan_kw", "sub_kw", "param"),
    [
        pytest.param({}, {"anchor_day": 0}, "anchor_day", id="day-0"),
        pytest.param({}, {"anchor_day": 32}, "anchor_day", id="day-32"),
        pytest.param({"interval_count": 3}, {"anchor_day": 32}, "anchor_day", id="quarter-32"),
        pytest.param({}, {"anchor_day": True}, "anchor_day", id="day-bool"),
        pytest.param(
            {"interval": "week"}, {"calendar_billing": True}, "calendar_billing", id="weekly-cal"
        ),
        pytest.param({"interval": "day"}, {"anchor_day": 15}, "anchor_day", id="daily-day"),
        pytest.param(
            {"interval_count": 5}, {"calendar_billing": True}, "calendar_billing", id="5-months"
        ),
        pytest.param(
            {}, {"calendar_billing": True, "anchor_day": 15}, "anchor_day", id="day-and-calendar"
        ),
    ],
)
def test_anchor_bad_input_is_refused_and_changes_nothing(db, plan_kw, sub_kw, param):
    with world(utc(2026, 1, 10, 15)) as w:
        plan = w.plan("p", 9_990, **plan_kw)
        customer = w.customer()
        with pytest.raises(ValidationFailed) as err:
            w.subscribe(plan, customer, **sub_kw)
        left = (Subscription.objects.filter(tenant=w.tenant).count(), len(w.invoices()))
    assert err.value.param == param
    assert left == (0, 0)


def test_interval_change_to_weekly_keeping_the_anchor_leaves_the_calendar(db):
    # Given the calendar-billed monthly subscription from Jan 1 2026 (a Thursday)
    with world(utc(2026, 1, 1, 3)) as w:
        sub = w.subscribe(w.plan("monthly", 9_990), calendar_billing=True)
        weekly = w.plan("weekly", 2_500, interval="week")
        # When on Feb 11 at noon it moves to weekly, keeping the anchor
        w.advance(utc(2026, 2, 11, 15))
        change(w, sub, plan=weekly, anchor="keep")
        after = w.refresh(sub)
        w.advance(utc(2026, 2, 13))
        renewal = summary(w.invoices(sub)[-1])
    # Then weeks have no calendar grid: they run from the old anchor's day
    # (Thursdays: Jan 1 + 6 weeks = Feb 12) and calendar billing is off
    assert after.calendar_billing is False
    assert (after.current_period_start, after.current_period_end) == (
        utc(2026, 2, 11, 15),
        utc(2026, 2, 12, 3),
    )
    assert renewal == (
        "2026-02-12",
        "subscription_cycle",
        2_500,
        [("recurring", 2_500, 0, 0, 2_500)],
    )
