"""A card that keeps being declined, end to end on a test clock: the failed
renewal opens the case, the policy retries on D+1, D+3, D+5 and D+7 at the
tenant's local hour (each failure telling the subscriber), the subscriber puts a
new card in between, and the fourth retry pays: active → past_due → active.

São Paulo wall-clock times (UTC-3 all of 2026); the policy's hour is 09:00.
"""

from __future__ import annotations

import pytest

from billing.models import Invoice, PaymentAttempt
from dunning.models import DunningCase, DunningStepRun
from tenants.models import Event
from tests.dunning.helpers import DECLINED_CARD, GOOD_CARD, attach_card, timeline
from tests.scenarios.helpers_lifecycle import loc, sp
from tests.support.billing import world

pytestmark = pytest.mark.django_db(transaction=True)


def test_declined_three_retries_then_paid_on_the_fourth_reactivates_the_subscription() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        # Given an active monthly subscriber whose card then starts declining
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        assert w.refresh(sub).status == "active"
        attach_card(w, customer, DECLINED_CARD)

        # When the renewal is declined and three retries are declined too
        w.advance(sp(2026, 2, 10, 18))
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        case = DunningCase.objects.get(invoice=renewal)
        past_due = w.refresh(sub)
        # …and the subscriber puts in a new card, the next retry pays
        w.advance(sp(2026, 2, 11, 10))
        attach_card(w, customer, GOOD_CARD)
        w.advance(sp(2026, 3, 1, 12))

        renewal.refresh_from_db()
        case.refresh_from_db()
        final = w.refresh(sub)
        attempts = list(PaymentAttempt.objects.filter(invoice=renewal).order_by("number"))
        runs = list(DunningStepRun.objects.filter(case=case).order_by("position"))
        reminder = Event.objects.filter(type="dunning.reminder").order_by("at").first()
        events = timeline(sp(2026, 2, 5, 12))

    assert (past_due.status, past_due.has_access) == ("past_due", True)
    assert (final.status, final.has_access) == ("active", True)
    assert (renewal.status, loc(renewal.paid_at)) == ("paid", "2026-02-12 09:00")
    assert (case.status, case.close_reason, loc(case.closed_at)) == (
        "closed",
        "paid",
        "2026-02-12 09:00",
    )
    # Every retry is a new attempt under a new idempotency key.
    assert [(a.number, a.status) for a in attempts] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
        (4, "failed"),
        (5, "succeeded"),
    ]
    assert [a.idempotency_key for a in attempts] == [
        f"{renewal.public_id}:attempt:{n}" for n in range(1, 6)
    ]
    assert [loc(a.created_at) for a in attempts[1:]] == [
        "2026-02-06 09:00",
        "2026-02-08 09:00",
        "2026-02-10 09:00",
        "2026-02-12 09:00",
    ]
    assert [(r.offset_days, r.action, r.status, r.outcome) for r in runs] == [
        (1, "retry", "executed", "failed"),
        (3, "retry", "executed", "failed"),
        (5, "retry", "executed", "failed"),
        (7, "retry", "executed", "succeeded"),
        (15, "cancel", "canceled", ""),
    ]
    assert reminder is not None
    assert reminder.subject_id == renewal.public_id
    assert reminder.data == {
        "case": case.public_id,
        "invoice": renewal.public_id,
        "customer": customer.public_id,
        "subscription": sub.public_id,
        "offset_days": 1,
        "channels": ["email"],
        "template": "dunning_payment_failed",
    }
    retry_failed = [
        ("payment.failed", ""),
        ("dunning.reminder", None),
        ("dunning.step_executed", None),
    ]
    expected = [
        ("2026-02-05 12:00", "invoice.finalized", ""),
        # The renewal is charged at the moment it is made, on the clock's time.
        ("2026-02-05 12:00", "payment.failed", ""),
        ("2026-02-05 12:00", "dunning.case_opened", ""),
        ("2026-02-05 12:00", "subscription.past_due", ""),
    ]
    for day, offset in (("06", 1), ("08", 3), ("10", 5)):
        for type_, _ in retry_failed:
            detail = {
                "payment.failed": "",
                "dunning.reminder": (offset, "dunning_payment_failed"),
                "dunning.step_executed": (offset, "retry", "failed"),
            }[type_]
            expected.append((f"2026-02-{day} 09:00", type_, detail))
    expected += [
        ("2026-02-11 10:00", "customer.payment_method_attached", ""),
        ("2026-02-12 09:00", "payment.succeeded", ""),
        ("2026-02-12 09:00", "invoice.paid", ""),
        ("2026-02-12 09:00", "dunning.step_executed", (7, "retry", "succeeded")),
        ("2026-02-12 09:00", "dunning.case_closed", "paid"),
        ("2026-02-12 09:00", "subscription.reactivated", ""),
        # The next renewal is charged and paid as usual; the D+15 cancel never runs.
        ("2026-03-05 12:00", "invoice.finalized", ""),
    ][:-1]
    assert events == expected


def test_a_card_never_paid_is_canceled_on_day_15() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        attach_card(w, customer, DECLINED_CARD)

        w.advance(sp(2026, 2, 25, 12))

        final = w.refresh(sub)
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        case = DunningCase.objects.get(invoice=renewal)
        tail = timeline(sp(2026, 2, 12, 9))

    assert (final.status, final.has_access, loc(final.canceled_at)) == (
        "canceled",
        False,
        "2026-02-20 09:00",
    )
    assert renewal.status == "open"  # still owed: the policy has no write-off step
    assert (case.status, case.close_reason) == ("closed", "canceled")
    assert tail == [
        ("2026-02-12 09:00", "payment.failed", ""),
        ("2026-02-12 09:00", "dunning.reminder", (7, "dunning_payment_failed")),
        ("2026-02-12 09:00", "dunning.step_executed", (7, "retry", "failed")),
        ("2026-02-20 09:00", "subscription.canceled", ""),
        ("2026-02-20 09:00", "dunning.step_executed", (15, "cancel", "canceled")),
        ("2026-02-20 09:00", "dunning.case_closed", "canceled"),
    ]


def test_a_first_invoice_never_paid_cancels_the_incomplete_subscription() -> None:
    """Decision: an incomplete subscription (its first charge failed) is dunned
    like any other; the policy's cancel step ends it, here on D+15."""
    with world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, DECLINED_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        incomplete = w.refresh(sub)

        w.advance(sp(2026, 1, 25, 12))

        final = w.refresh(sub)
        invoices = Invoice.objects.filter(subscription=sub).count()
        statuses = [
            e.data.get("previous_status")
            for e in Event.objects.filter(
                type__in=["subscription.past_due", "subscription.suspended"]
            )
        ]

    assert (incomplete.status, incomplete.has_access) == ("incomplete", False)
    assert (final.status, loc(final.canceled_at)) == ("canceled", "2026-01-20 09:00")
    assert invoices == 1  # canceled before its first renewal
    assert statuses == []  # an incomplete subscription never becomes past_due
