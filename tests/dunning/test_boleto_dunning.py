"""A boleto renewal, end to end on a test clock: the slip is issued with the
invoice (due 7 days later), reminders run on D-5, D-1, D0, D+1, D+3 and D+7 at
09:00 local time, access is suspended on D+10 and the subscription canceled on
D+30. Paid on D+12 instead, the subscription is reactivated and nothing more is
sent. São Paulo wall-clock times (UTC-3 all of 2026)."""

from __future__ import annotations

import pytest

from billing.models import Invoice
from dunning.models import DunningCase, DunningStepRun
from tests.dunning.helpers import boleto_customer, pay_slip, timeline
from tests.scenarios.helpers_lifecycle import loc, sp
from tests.support.billing import World, world

pytestmark = pytest.mark.django_db(transaction=True)

REMINDERS = [
    ("2026-04-03 09:00", -5, "dunning_reminder_before"),
    ("2026-04-07 09:00", -1, "dunning_reminder_before"),
    ("2026-04-08 09:00", 0, "dunning_reminder_due"),
    ("2026-04-09 09:00", 1, "dunning_reminder_overdue"),
    ("2026-04-11 09:00", 3, "dunning_reminder_overdue"),
    ("2026-04-15 09:00", 7, "dunning_reminder_overdue"),
]


def _quarterly_boleto_subscriber(w: World):  # type: ignore[no-untyped-def]
    """Subscribed Jan 1, first slip paid the next day; renews Apr 1, due Apr 8."""
    customer = boleto_customer(w)
    sub = w.subscribe(w.plan(amount=12_345, interval_count=3), customer)
    first = Invoice.objects.get(subscription=sub)
    w.advance(sp(2026, 1, 2, 10))
    assert pay_slip(first, w.now).endswith("succeeded")
    assert w.refresh(sub).status == "active"
    return customer, sub


def _reminder_rows() -> list[tuple[str, str, object]]:
    rows = []
    for at, offset, template in REMINDERS:
        rows.append((at, "dunning.reminder", (offset, template)))
        rows.append((at, "dunning.step_executed", (offset, "remind", "sent")))
    return rows


def test_a_boleto_never_paid_reminds_on_each_day_suspends_on_d10_and_cancels_on_d30() -> None:
    with world(sp(2026, 1, 1, 12), net_terms_days=7) as w:
        _customer, sub = _quarterly_boleto_subscriber(w)

        w.advance(sp(2026, 4, 17, 12))
        before_suspension = w.refresh(sub)
        w.advance(sp(2026, 4, 18, 12))
        suspended = w.refresh(sub)
        w.advance(sp(2026, 5, 20, 12))
        final = w.refresh(sub)

        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        case = DunningCase.objects.get(invoice=renewal)
        events = timeline(sp(2026, 4, 1, 12), subjects={renewal.public_id, sub.public_id})

    assert loc(renewal.due_at) == "2026-04-08 12:00"
    assert (before_suspension.status, before_suspension.has_access) == ("active", True)
    assert (suspended.status, suspended.has_access) == ("past_due", False)
    assert (final.status, final.has_access, loc(final.canceled_at)) == (
        "canceled",
        False,
        "2026-05-08 09:00",
    )
    assert (case.status, case.close_reason) == ("closed", "canceled")
    assert renewal.status == "open"
    assert events == [
        ("2026-04-01 12:00", "invoice.finalized", ""),
        ("2026-04-01 12:00", "dunning.case_opened", ""),
        *_reminder_rows(),
        ("2026-04-18 09:00", "subscription.suspended", ""),
        ("2026-04-18 09:00", "dunning.step_executed", (10, "suspend", "suspended")),
        ("2026-05-08 09:00", "subscription.canceled", ""),
        ("2026-05-08 09:00", "dunning.step_executed", (30, "cancel", "canceled")),
        ("2026-05-08 09:00", "dunning.case_closed", "canceled"),
    ]


def test_the_same_boleto_paid_on_d12_reactivates_and_stops_the_reminders() -> None:
    with world(sp(2026, 1, 1, 12), net_terms_days=7) as w:
        _customer, sub = _quarterly_boleto_subscriber(w)

        w.advance(sp(2026, 4, 20, 10))
        suspended = w.refresh(sub)
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        outcome = pay_slip(renewal, w.now)
        w.advance(sp(2026, 5, 20, 12))
        final = w.refresh(sub)

        renewal.refresh_from_db()
        case = DunningCase.objects.get(invoice=renewal)
        runs = list(DunningStepRun.objects.filter(case=case).values_list("offset_days", "status"))
        payments = set(renewal.attempts.values_list("public_id", flat=True))
        events = timeline(
            sp(2026, 4, 1, 12), subjects={renewal.public_id, sub.public_id, *payments}
        )

    assert outcome.endswith("succeeded")
    assert (suspended.status, suspended.has_access) == ("past_due", False)
    assert (final.status, final.has_access, final.canceled_at) == ("active", True, None)
    assert (renewal.status, loc(renewal.paid_at)) == ("paid", "2026-04-20 10:00")
    assert (case.status, case.close_reason, loc(case.closed_at)) == (
        "closed",
        "paid",
        "2026-04-20 10:00",
    )
    assert runs == [
        (-5, "executed"),
        (-1, "executed"),
        (0, "executed"),
        (1, "executed"),
        (3, "executed"),
        (7, "executed"),
        (10, "executed"),
        (30, "canceled"),
    ]
    assert events == [
        ("2026-04-01 12:00", "invoice.finalized", ""),
        ("2026-04-01 12:00", "dunning.case_opened", ""),
        *_reminder_rows(),
        ("2026-04-18 09:00", "subscription.suspended", ""),
        ("2026-04-18 09:00", "dunning.step_executed", (10, "suspend", "suspended")),
        ("2026-04-20 10:00", "payment.succeeded", ""),
        ("2026-04-20 10:00", "invoice.paid", ""),
        ("2026-04-20 10:00", "dunning.case_closed", "paid"),
        ("2026-04-20 10:00", "subscription.reactivated", ""),
    ]


def test_a_written_off_boleto_can_still_be_paid_and_reactivates() -> None:
    """An uncollectible invoice stays payable (uncollectible → paid, as in Stripe)."""
    from dunning.models import DunningPolicy
    from dunning.services import dunning_policy_update
    from tests.support.billing import ACTOR

    with world(sp(2026, 1, 1, 12), net_terms_days=7) as w:
        boleto = DunningPolicy.objects.get(tenant=w.tenant, payment_method_kind="boleto")
        dunning_policy_update(
            tenant=w.tenant,
            policy_id=boleto.pk,
            actor=ACTOR,
            now=w.now,
            steps=[
                {"offset_days": 5, "action": "suspend"},
                {"offset_days": 10, "action": "uncollectible"},
            ],
        )
        _customer, sub = _quarterly_boleto_subscriber(w)
        w.advance(sp(2026, 4, 19, 12))
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        written_off = Invoice.objects.get(pk=renewal.pk).status
        case = DunningCase.objects.get(invoice=renewal)

        outcome = pay_slip(renewal, sp(2026, 4, 20, 10))

        renewal.refresh_from_db()
        final = w.refresh(sub)
        events = timeline(sp(2026, 4, 1, 12), subjects={renewal.public_id, sub.public_id})

    assert (written_off, case.close_reason) == ("uncollectible", "uncollectible")
    assert outcome.endswith("succeeded")
    assert (renewal.status, loc(renewal.paid_at)) == ("paid", "2026-04-20 10:00")
    assert (final.status, final.has_access) == ("active", True)
    assert events == [
        ("2026-04-01 12:00", "invoice.finalized", ""),
        ("2026-04-01 12:00", "dunning.case_opened", ""),
        ("2026-04-13 09:00", "subscription.suspended", ""),
        ("2026-04-13 09:00", "dunning.step_executed", (5, "suspend", "suspended")),
        (
            "2026-04-18 09:00",
            "dunning.step_executed",
            (10, "uncollectible", "marked_uncollectible"),
        ),
        ("2026-04-18 09:00", "invoice.marked_uncollectible", ""),
        ("2026-04-18 09:00", "dunning.case_closed", "uncollectible"),
        ("2026-04-20 10:00", "invoice.paid", ""),
        ("2026-04-20 10:00", "subscription.reactivated", ""),
    ]
