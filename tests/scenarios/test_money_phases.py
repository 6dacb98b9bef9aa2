"""Introductory phases (issue 16, item 5) and the trial-invoice convention.

A plan may start with an introductory phase: ``intro_amount_minor`` a unit for
the subscription's first ``intro_cycles`` paid cycles, then the evergreen price.
Expectations computed by hand; São Paulo local midnight = 03:00 UTC, noon = 15:00.
The tenant's language is English so the line descriptions read as written here.
"""

from datetime import date
from decimal import Decimal

import pytest

from billing import subscriptions as billing_subs
from billing.models import PaymentAttempt
from core.errors import ValidationFailed
from subscriptions import services as subs
from subscriptions.models import Plan, Readjustment
from tests.scenarios.helpers_lifecycle import events
from tests.scenarios.helpers_money import change, period
from tests.support.billing import ACTOR, summary, utc, world

INTRO = [("recurring", 990, 0, 0, 990)]
EVERGREEN = [("recurring", 4_990, 0, 0, 4_990)]


def descriptions(invoice):
    return [line.description for line in invoice.lines.all()]


def intro_plan(w, code="basic", **kw):
    # R$ 9,90 for the first 3 months, then R$ 49,90
    kw.setdefault("intro_cycles", 3)
    return w.plan(code, 4_990, intro_amount_minor=990, **kw)


def test_phases_three_intro_months_then_evergreen(db):
    # Given a monthly plan at R$ 9,90 for 3 months then R$ 49,90, bought Jan 10 2026 at noon
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        sub = w.subscribe(intro_plan(w))
        # When the clock reaches Jun 11
        w.advance(utc(2026, 6, 11))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        texts = [descriptions(i) for i in invoices]
        periods = [period(i) for i in invoices]
    # Then three invoices at the intro price, each saying which cycle of the
    # phase it is, then the evergreen price from the fourth cycle on
    assert got == [
        ("2026-01-10", "subscription_create", 990, INTRO),
        ("2026-02-10", "subscription_cycle", 990, INTRO),
        ("2026-03-10", "subscription_cycle", 990, INTRO),
        ("2026-04-10", "subscription_cycle", 4_990, EVERGREEN),
        ("2026-05-10", "subscription_cycle", 4_990, EVERGREEN),
        ("2026-06-10", "subscription_cycle", 4_990, EVERGREEN),
    ]
    assert texts == [
        ["Basic — Intro price, 1 of 3"],
        ["Basic — Intro price, 2 of 3"],
        ["Basic — Intro price, 3 of 3"],
        ["Basic"],
        ["Basic"],
        ["Basic"],
    ]
    assert periods[0] == (utc(2026, 1, 10, 15), utc(2026, 2, 10, 15))
    assert periods[3] == (utc(2026, 4, 10, 15), utc(2026, 5, 10, 15))


def test_phases_per_seat_intro_price_times_the_seats(db):
    # Given a per-seat plan at R$ 9,90 a seat for 2 months, then R$ 49,90 a seat; 3 seats
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        plan = intro_plan(w, pricing_model="per_seat", intro_cycles=2)
        sub = w.subscribe(plan, quantity=3)
        w.advance(utc(2026, 3, 11))
        got = [summary(i) for i in w.invoices(sub)]
    # Then 3 x 990 = 2970 twice, then 3 x 4990 = 14970
    assert got == [
        ("2026-01-10", "subscription_create", 2_970, [("recurring", 2_970, 0, 0, 2_970)]),
        ("2026-02-10", "subscription_cycle", 2_970, [("recurring", 2_970, 0, 0, 2_970)]),
        ("2026-03-10", "subscription_cycle", 14_970, [("recurring", 14_970, 0, 0, 14_970)]),
    ]


def test_phases_upgrade_during_the_intro_phase_day_precision(db):
    # Given the intro plan bought Jan 10 2026 at noon, and a Pro plan at R$ 99,90
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        sub = w.subscribe(intro_plan(w))
        pro = w.plan("pro", 9_990)
        # When, on Feb 24 at noon (cycle 2 of the phase), it upgrades to Pro now
        w.advance(utc(2026, 2, 24, 15))
        change(w, sub, plan=pro)
        w.advance(utc(2026, 4, 11))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        texts = [descriptions(i) for i in invoices]
    # Then the period Feb 10 -> Mar 10 has 28 days, 14 of them left (Feb 24 is
    # the new plan's): the credit is at the phase price, 990 * 14/28 = 495, and
    # Pro's rest is 9990 * 14/28 = 4995, both on the Mar 10 invoice with Pro's
    # full month: 9990 - 495 + 4995 = 14490
    assert got == [
        ("2026-01-10", "subscription_create", 990, INTRO),
        ("2026-02-10", "subscription_cycle", 990, INTRO),
        (
            "2026-03-10",
            "subscription_cycle",
            14_490,
            [
                ("recurring", 9_990, 0, 0, 9_990),
                ("proration", -495, 0, 0, -495),
                ("proration", 4_995, 0, 0, 4_995),
            ],
        ),
        ("2026-04-10", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
    ]
    assert texts[2] == ["Pro", "Basic", "Pro"]


def test_phases_upgrade_during_the_intro_phase_second_precision(db):
    # Given a UTC tenant prorating by the second, half-up; the intro plan bought Jan 10 at 12:00
    with world(
        utc(2026, 1, 10, 12),
        time_zone="UTC",
        proration_precision="second",
        rounding_mode="half_up",
        locale="en",
    ) as w:
        sub = w.subscribe(intro_plan(w))
        pro = w.plan("pro", 9_990)
        # When it upgrades on Feb 17 at 00:00 with the prorations invoiced now
        w.advance(utc(2026, 2, 17))
        change(w, sub, plan=pro, proration="invoice_now")
        w.advance(utc(2026, 3, 11))
        got = [summary(i, "UTC") for i in w.invoices(sub)]
    # Then Feb 17 00:00 -> Mar 10 12:00 is 21.5 of the period's 28 days:
    # credit 990 * 21.5/28 = 760.18 -> 760; Pro 9990 * 21.5/28 = 7670.89 -> 7671;
    # 7671 - 760 = 6911 now, then Pro's full month
    assert got == [
        ("2026-01-10", "subscription_create", 990, INTRO),
        ("2026-02-10", "subscription_cycle", 990, INTRO),
        (
            "2026-02-17",
            "subscription_update",
            6_911,
            [("proration", -760, 0, 0, -760), ("proration", 7_671, 0, 0, 7_671)],
        ),
        ("2026-03-10", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
    ]


def test_phases_intro_phase_after_a_trial(db):
    # Given R$ 9,90 for 2 months then R$ 49,90, with a 14-day trial, bought Jan 10 at noon
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        sub = w.subscribe(intro_plan(w, intro_cycles=2, trial_days=14))
        w.advance(utc(2026, 3, 25))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        texts = [descriptions(i) for i in invoices]
    # Then the trial is not a phase cycle: both intro months follow it (Jan 24,
    # Feb 24), and nothing is invoiced when the trial starts (trial_invoice none)
    assert got == [
        ("2026-01-24", "subscription_cycle", 990, INTRO),
        ("2026-02-24", "subscription_cycle", 990, INTRO),
        ("2026-03-24", "subscription_cycle", 4_990, EVERGREEN),
    ]
    assert texts == [
        ["Basic — Intro price, 1 of 2"],
        ["Basic — Intro price, 2 of 2"],
        ["Basic"],
    ]


def test_phases_trial_with_a_zero_invoice(db):
    # Given a tenant that issues a zero invoice when a trial starts, and the
    # 2-month intro plan with a 14-day trial, bought Jan 10 2026 at noon
    with world(utc(2026, 1, 10, 15), locale="en", trial_invoice="zero") as w:
        sub = w.subscribe(intro_plan(w, intro_cycles=2, trial_days=14))
        at_signup = w.invoices(sub)
        w.advance(utc(2026, 3, 25))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        zero = invoices[0]
        zero_lines = [
            (ln.kind, ln.description, ln.period_start, ln.period_end) for ln in zero.lines.all()
        ]
        attempts = PaymentAttempt.objects.filter(invoice=zero).count()
        outbox = [(e[1]) for e in events(w)]
    # Then a R$ 0,00 invoice for the trial's dates, paid at once, never charged
    assert len(at_signup) == 1
    assert (zero.status, zero.total_minor, zero.amount_due_minor) == ("paid", 0, 0)
    assert zero.number  # finalized (numbered)
    assert period(zero) == (utc(2026, 1, 10, 15), utc(2026, 1, 24, 15))
    assert zero_lines == [
        ("trial", "Basic — Trial period", utc(2026, 1, 10, 15), utc(2026, 1, 24, 15))
    ]
    assert attempts == 0
    assert "invoice.payment_failed" not in outbox
    # And the phase follows the trial as without the zero invoice
    assert got == [
        ("2026-01-10", "subscription_create", 0, [("trial", 0, 0, 0, 0)]),
        ("2026-01-24", "subscription_cycle", 990, INTRO),
        ("2026-02-24", "subscription_cycle", 990, INTRO),
        ("2026-03-24", "subscription_cycle", 4_990, EVERGREEN),
    ]


def test_phases_trial_zero_invoice_with_a_setup_fee_and_a_coupon(db):
    # Given the zero-invoice convention, a plan with a 7-day trial and a R$ 15,00
    # setup fee, and a 50 % coupon on the recurring fee for 2 cycles
    from tests.scenarios.helpers_money import coupon

    with world(utc(2026, 1, 10, 15), locale="en", trial_invoice="zero") as w:
        plan = w.plan(amount=4_990, trial_days=7, setup_fee_minor=1_500)
        coupon(w, "HALF", percent_off=Decimal("50"), duration="repeating", duration_cycles=2)
        sub = w.subscribe(plan, coupon="HALF")
        w.advance(utc(2026, 2, 18))
        got = [summary(i) for i in w.invoices(sub)]
    # Then the trial line joins the setup fee's invoice (1500, charged as today)
    # and the coupon is not spent on the free trial line: both discounted
    # cycles come after it (4990 - 2495 = 2495)
    assert got == [
        (
            "2026-01-10",
            "subscription_create",
            1_500,
            [("trial", 0, 0, 0, 0), ("setup_fee", 1_500, 0, 0, 1_500)],
        ),
        ("2026-01-17", "subscription_cycle", 2_495, [("recurring", 4_990, 2_495, 0, 2_495)]),
        ("2026-02-17", "subscription_cycle", 2_495, [("recurring", 4_990, 2_495, 0, 2_495)]),
    ]


def test_phases_readjustment_during_and_after_the_phase(db):
    # Given the 3-month intro plan bought Jan 10 2026 at noon, with a readjustment
    # 4990 -> 5240 taking effect Mar 10 (inside the phase) and 5240 -> 5500 on Jun 10
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        sub = w.subscribe(intro_plan(w))
        for due, old, new in ((date(2026, 3, 10), 4_990, 5_240), (date(2026, 6, 10), 5_240, 5_500)):
            Readjustment.objects.create(
                tenant=w.tenant,
                subscription=sub,
                due_on=due,
                effective_at=utc(due.year, due.month, due.day, 15),
                currency="BRL",
                old_amount_minor=old,
                new_amount_minor=new,
                factor=Decimal(new) / Decimal(old),
                computed_factor=Decimal(new) / Decimal(old),
                created_at=w.now,
            )
        w.advance(utc(2026, 6, 11))
        got = [summary(i) for i in w.invoices(sub)]
        statuses = list(
            Readjustment.objects.filter(subscription=sub)
            .order_by("due_on")
            .values_list("status", flat=True)
        )
        contract_price = w.refresh(sub).unit_amount_minor
    # Then the readjustment moves the evergreen price only: the third intro cycle
    # stays at 990, the evergreen months are 5240, then 5500 from Jun 10
    assert got == [
        ("2026-01-10", "subscription_create", 990, INTRO),
        ("2026-02-10", "subscription_cycle", 990, INTRO),
        ("2026-03-10", "subscription_cycle", 990, INTRO),
        ("2026-04-10", "subscription_cycle", 5_240, [("recurring", 5_240, 0, 0, 5_240)]),
        ("2026-05-10", "subscription_cycle", 5_240, [("recurring", 5_240, 0, 0, 5_240)]),
        ("2026-06-10", "subscription_cycle", 5_500, [("recurring", 5_500, 0, 0, 5_500)]),
    ]
    assert statuses == ["applied", "applied"]
    assert contract_price == 5_500


def test_phases_calendar_billing_partial_first_period_uses_no_cycle(db):
    # Given the 2-month intro plan with calendar billing, bought Jan 15 2026 at noon
    with world(utc(2026, 1, 15, 15), locale="en") as w:
        sub = w.subscribe(intro_plan(w, intro_cycles=2), calendar_billing=True)
        w.advance(utc(2026, 4, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        texts = [descriptions(i) for i in invoices]
    # Then Jan 15 -> Feb 1 is 17 of January's 31 days at the phase price:
    # 990 * 17/31 = 542.9 -> 543, using none of the phase's cycles; Feb and Mar
    # are the two intro cycles; April is evergreen
    assert got == [
        ("2026-01-15", "subscription_create", 543, [("recurring", 543, 0, 0, 543)]),
        ("2026-02-01", "subscription_cycle", 990, INTRO),
        ("2026-03-01", "subscription_cycle", 990, INTRO),
        ("2026-04-01", "subscription_cycle", 4_990, EVERGREEN),
    ]
    assert texts[0] == ["Basic — Intro price, partial period"]
    assert texts[2] == ["Basic — Intro price, 2 of 2"]


def test_phases_previews_show_the_phase_price(db):
    # Given the 2-month intro plan, previewed on Jan 10 2026 at noon
    with world(utc(2026, 1, 10, 15), locale="en") as w:
        plan = intro_plan(w, intro_cycles=2)
        preview = billing_subs.subscription_preview_create(
            tenant=w.tenant, customer=None, plan=plan, now=w.now
        )
        sub = w.subscribe(plan)
        nexts = []
        for moment in (utc(2026, 1, 11), utc(2026, 2, 11)):
            w.advance(moment)
            nxt = billing_subs.subscription_preview_next_invoice(
                tenant=w.tenant, subscription_id=sub.pk
            )
            nexts.append((nxt.totals.total_minor, [ln.description for ln in nxt.lines]))
        w.advance(utc(2026, 3, 11))
        written = [(i.total_minor, descriptions(i)) for i in w.invoices(sub)]
    # Then the checkout shows 990 now and 990 next; the next-invoice preview
    # shows the second intro cycle, then the evergreen price — what is then written
    assert (preview.total_minor, preview.next_total_minor) == (990, 990)
    assert [line.description for line in preview.lines] == ["Basic — Intro price, 1 of 2"]
    assert nexts == [(990, ["Basic — Intro price, 2 of 2"]), (4_990, ["Basic"])]
    assert written[1:] == nexts


@pytest.mark.parametrize(
    ("kw", "param", "code"),
    [
        pytest.param(
            {"intro_amount_minor": 990, "intro_cycles": 13, "term_cycles": 12},
            "intro_cycles",
            "intro_longer_than_term",
            id="longer-than-term",
        ),
        pytest.param(
            {"intro_amount_minor": -1, "intro_cycles": 3}, "intro_amount_minor", None, id="negative"
        ),
        pytest.param(
            {"intro_amount_minor": 990, "intro_cycles": 0}, "intro_cycles", None, id="zero-cycles"
        ),
        pytest.param({"intro_cycles": 3}, "intro_amount_minor", None, id="cycles-without-price"),
        pytest.param(
            {"intro_amount_minor": 990, "intro_cycles": True}, "intro_cycles", None, id="bool"
        ),
        pytest.param(
            {
                "intro_amount_minor": 990,
                "intro_cycles": 3,
                "pricing_model": "volume",
                "tiers": [{"up_to": None, "unit_amount_minor": 500}],
            },
            "intro_amount_minor",
            None,
            id="tiered",
        ),
    ],
)
def test_phases_bad_input_is_refused_and_changes_nothing(db, kw, param, code):
    with world(utc(2026, 1, 10, 15)) as w:
        with pytest.raises(ValidationFailed) as err:
            w.plan("phased", 4_990, **kw)
        count = Plan.objects.filter(tenant=w.tenant).count()
    assert err.value.param == param
    if code:
        assert err.value.code == code
    assert count == 0


def test_phases_a_new_price_version_keeps_or_changes_the_phase(db):
    with world(utc(2026, 1, 10, 15)) as w:
        plan = intro_plan(w)
        w.subscribe(plan)  # in use: a price change makes a new version
        kept = subs.plan_change_price(
            tenant=w.tenant, plan_id=plan.pk, amount_minor=5_490, actor=ACTOR, now=w.now
        )
        w.subscribe(kept)
        with pytest.raises(ValidationFailed) as err:
            subs.plan_change_price(
                tenant=w.tenant,
                plan_id=kept.pk,
                amount_minor=5_990,
                intro=(990, 0),
                actor=ACTOR,
                now=w.now,
            )
        dropped = subs.plan_change_price(
            tenant=w.tenant,
            plan_id=kept.pk,
            amount_minor=5_990,
            intro=(None, 0),
            actor=ACTOR,
            now=w.now,
        )
        versions = list(
            Plan.objects.filter(tenant=w.tenant, code="basic")
            .order_by("version")
            .values_list("version", "amount_minor", "intro_amount_minor", "intro_cycles")
        )
    assert err.value.param == "intro_cycles"
    assert (kept.intro_amount_minor, kept.intro_cycles) == (990, 3)
    assert (dropped.intro_amount_minor, dropped.intro_cycles) == (None, 0)
    assert versions == [(1, 4_990, 990, 3), (2, 5_490, 990, 3), (3, 5_990, None, 0)]
