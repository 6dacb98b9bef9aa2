"""The two régua scenarios through the real outbox dispatcher: the subscriber's
emails (Django's locmem backend) and the merchant's webhooks (a real local
receiver verifying each delivery with the official ``standardwebhooks``
library), dispatched after each step of the clock, in order, once each."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail

from billing.models import Invoice
from core.actors import Actor
from notifications import webhooks
from notifications.models import MessageDelivery
from notifications.outbox import dispatch_pending
from tenants.models import Event
from tests.dunning.helpers import DECLINED_CARD, GOOD_CARD, attach_card, boleto_customer, pay_slip
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import World, world
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
WATCHED = ["dunning.*", "subscription.*"]
# The messages the régua itself causes (payment receipts and failures are the
# payments' own notices).
REGUA = (
    "dunning_payment_failed",
    "dunning_reminder_before",
    "dunning_reminder_due",
    "dunning_reminder_overdue",
    "subscription_suspended",
    "subscription_reactivated",
    "subscription_canceled",
)


def _advance(w: World, to) -> None:  # type: ignore[no-untyped-def]
    w.advance(to)
    dispatch_pending(tenant=w.tenant, now=to)


def _endpoint(w: World, receiver: Receiver) -> None:
    created = webhooks.webhook_endpoint_create(
        tenant=w.tenant,
        actor=Actor.system("tests"),
        now=w.now,
        url=receiver.url,
        enabled_events=WATCHED,
    )
    receiver.secret = created.secret


def _regua_mail(w: World) -> list[tuple[str, str]]:
    """(template, recipient) of the régua's emails, in event order, as sent."""
    rows = MessageDelivery.objects.filter(
        tenant=w.tenant, channel="email", template__in=REGUA
    ).order_by("event__at", "event_id")
    return [(r.template, r.recipient, r.status) for r in rows]


def _watched_event_ids(w: World) -> Counter[str]:
    return Counter(
        Event.objects.filter(tenant=w.tenant)
        .filter(type__regex=r"^(dunning|subscription)\.")
        .values_list("public_id", flat=True)
    )


def test_card_retries_email_the_subscriber_and_notify_the_merchant() -> None:
    with Receiver() as receiver, world(sp(2026, 1, 5, 12)) as w:
        _endpoint(w, receiver)
        customer = w.customer()
        customer.email = "ana@example.com"
        customer.save()
        attach_card(w, customer, GOOD_CARD)
        w.subscribe(w.plan(amount=9_990), customer)
        attach_card(w, customer, DECLINED_CARD)
        dispatch_pending(tenant=w.tenant, now=w.now)

        _advance(w, sp(2026, 2, 10, 18))
        attach_card(w, customer, GOOD_CARD)
        _advance(w, sp(2026, 3, 1, 12))

        sent = _regua_mail(w)
        expected_ids = _watched_event_ids(w)
        to = [m.to for m in mail.outbox]
        emails_sent = MessageDelivery.objects.filter(channel="email", status="sent").count()
        failures = MessageDelivery.objects.filter(channel="email", template="payment_failed")
        failure_payments = [m.event.subject_id for m in failures.select_related("event")]
        renewal_first_attempt = (
            Invoice.objects.get(billing_reason="subscription_cycle")
            .attempts.get(number=1)
            .public_id
        )

    # One email per failure: the renewal's own failure says "payment failed"; each
    # failed retry is announced by the régua's message alone.
    assert failure_payments == [renewal_first_attempt]
    assert sent == [
        ("dunning_payment_failed", "ana@example.com", "sent"),
        ("dunning_payment_failed", "ana@example.com", "sent"),
        ("dunning_payment_failed", "ana@example.com", "sent"),
        ("subscription_reactivated", "ana@example.com", "sent"),
    ]
    assert all(t == ["ana@example.com"] for t in to)
    assert len(to) == emails_sent
    assert receiver.accepted_ids() == expected_ids  # every event, once each, verified
    assert all(r.verified for r in receiver.received)
    types = Counter(r.payload["type"] for r in receiver.accepted() if r.payload)
    assert {t: n for t, n in types.items() if t.startswith("dunning.")} == {
        "dunning.case_opened": 1,
        "dunning.reminder": 3,
        "dunning.step_executed": 4,
        "dunning.case_closed": 1,
    }
    assert (types["subscription.past_due"], types["subscription.reactivated"]) == (1, 1)


def test_a_boleto_paid_on_d12_emails_each_reminder_and_the_reactivation() -> None:
    with Receiver() as receiver, world(sp(2026, 1, 1, 12), net_terms_days=7) as w:
        _endpoint(w, receiver)
        customer = boleto_customer(w)
        sub = w.subscribe(w.plan(amount=12_345, interval_count=3), customer)
        _advance(w, sp(2026, 1, 2, 10))
        pay_slip(Invoice.objects.get(subscription=sub), w.now)
        dispatch_pending(tenant=w.tenant, now=w.now)

        _advance(w, sp(2026, 4, 20, 10))
        pay_slip(Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle"), w.now)
        dispatch_pending(tenant=w.tenant, now=w.now)
        _advance(w, sp(2026, 5, 20, 12))

        sent = _regua_mail(w)
        expected_ids = _watched_event_ids(w)

    assert sent == [
        ("dunning_reminder_before", "bia@example.com", "sent"),
        ("dunning_reminder_before", "bia@example.com", "sent"),
        ("dunning_reminder_due", "bia@example.com", "sent"),
        ("dunning_reminder_overdue", "bia@example.com", "sent"),
        ("dunning_reminder_overdue", "bia@example.com", "sent"),
        ("dunning_reminder_overdue", "bia@example.com", "sent"),
        ("subscription_suspended", "bia@example.com", "sent"),
        ("subscription_reactivated", "bia@example.com", "sent"),
    ]
    assert receiver.accepted_ids() == expected_ids
    assert all(r.verified for r in receiver.received)
