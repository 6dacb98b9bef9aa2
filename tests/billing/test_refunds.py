"""Refunds, full and partial, each with its credit note; never beyond what was paid."""

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.models import (
    BalanceTransaction,
    CreditNote,
    Invoice,
    PaymentAttempt,
    Refund,
    SandboxCharge,
)
from billing.payments import payment_method_attach, payment_refund
from core.errors import StateConflict, ValidationFailed
from tenants.models import Event
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _paid(w, number: str = "4242424242424242") -> PaymentAttempt:  # type: ignore[no-untyped-def]
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(number=number, exp_month=1, exp_year=2031, cvc="321")
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=10_000), customer)
    return PaymentAttempt.objects.get(invoice__subscription=sub)


def test_partial_then_full_refund_each_with_a_credit_note() -> None:
    with world(NOW) as w:
        attempt = _paid(w)

        first = payment_refund(
            tenant=w.tenant,
            attempt_id=attempt.pk,
            amount_minor=3_000,
            reason="Service outage",
            actor=ACTOR,
            now=NOW,
        )
        second = payment_refund(
            tenant=w.tenant,
            attempt_id=attempt.pk,
            amount_minor=7_000,
            reason="Cancelled",
            actor=ACTOR,
            now=NOW,
        )

        notes = list(CreditNote.objects.order_by("id").values_list("number", "total_minor"))
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        charge = SandboxCharge.objects.get(ref=attempt.gateway_ref)
        events = list(Event.objects.filter(type="payment.refunded").values_list("data", flat=True))
        assert (first.status, second.status) == ("succeeded", "succeeded")
        assert (first.idempotency_key, second.idempotency_key) == (
            f"{attempt.public_id}:refund:1",
            f"{attempt.public_id}:refund:2",
        )
        assert notes == [("ACME-CN-2026-000001", 3_000), ("ACME-CN-2026-000002", 7_000)]
        assert invoice.credited_minor == 10_000
        assert charge.refunded_minor == 10_000
        # The money went back to the card, not to the customer's credit balance.
        assert not BalanceTransaction.objects.filter(credit_note__isnull=False).exists()
        assert [e["amount"] for e in events] == [3_000, 7_000]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        pytest.param(10_001, "refund_too_large", id="more-than-paid"),
        pytest.param(0, "validation_failed", id="zero"),
        pytest.param(-5, "validation_failed", id="negative"),
        pytest.param(12.5, "validation_failed", id="float"),
    ],
)
def test_bad_refund_amounts_are_refused_and_change_nothing(amount, code) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        attempt = _paid(w)
        with pytest.raises(ValidationFailed) as caught:
            payment_refund(
                tenant=w.tenant,
                attempt_id=attempt.pk,
                amount_minor=amount,
                reason="x",
                actor=ACTOR,
                now=NOW,
            )
        assert caught.value.code == code
        assert not Refund.objects.exists()
        assert not CreditNote.objects.exists()
        assert SandboxCharge.objects.get(ref=attempt.gateway_ref).refunded_minor == 0


def test_a_failed_payment_cannot_be_refunded() -> None:
    with world(NOW) as w:
        attempt = _paid(w, "4000000000009995")
        assert attempt.status == "failed"
        with pytest.raises(StateConflict) as caught:
            payment_refund(
                tenant=w.tenant,
                attempt_id=attempt.pk,
                amount_minor=100,
                reason="x",
                actor=ACTOR,
                now=NOW,
            )
        assert caught.value.code == "payment_not_refundable"
        assert not Refund.objects.exists()
