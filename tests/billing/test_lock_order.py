"""One lock order (billing/locks.py): a payment settling an invoice and the
merchant cancelling its subscription with credit, at the same moment, never
deadlock. PostgreSQL only: real row locks, one connection per thread, committed
rows (``transaction=True``). Before the order, the payment locked invoice then
subscription and the cancellation subscription then invoice: this test hit
"deadlock detected" within a few dozen rounds. 100 rounds here; the issue's 200
with CICLO_LOCK_ORDER_ROUNDS=200."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from django.db import connections

from billing import subscriptions as billing_subs
from billing.gateways.base import ChargeResult, ChargeStatus
from billing.gateways.sandbox import SandboxGateway
from billing.models import CreditNote, Invoice, PaymentAttempt
from billing.payments import payment_method_attach
from billing.payments.charges import _begin_attempt, _settle
from subscriptions.models import Subscription, SubscriptionStatus
from tenants.context import tenant_context
from tests.support.billing import ACTOR, World, utc, world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
NOW = utc(2026, 6, 1, 15)
ROUNDS = int(os.environ.get("CICLO_LOCK_ORDER_ROUNDS", "100"))


def _open_invoice_with_attempt(w: World) -> tuple[Subscription, Invoice, PaymentAttempt]:
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    # Invoiced, not charged: the attempt below is the payment in flight.
    sub = w.subscribe(w.plan(code=f"p{customer.pk}"), customer, collection_method="send_invoice")
    invoice = Invoice.objects.get(subscription=sub)
    attempt = _begin_attempt(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)
    return sub, invoice, attempt


def _together(w: World, *jobs: Callable[[], object]) -> list[BaseException]:
    """Run ``jobs`` at once, each on its own thread and connection; their errors."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            with tenant_context(w.tenant):
                barrier.wait(timeout=30)
                job()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_a_payment_settling_and_a_cancellation_with_credit_never_deadlock() -> None:
    with world(NOW) as w:
        for _ in range(ROUNDS):
            sub, invoice, attempt = _open_invoice_with_attempt(w)

            def settle(attempt: PaymentAttempt = attempt) -> None:
                _settle(
                    tenant=w.tenant,
                    attempt_id=attempt.pk,
                    result=ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_ref="ch_lock"),
                    now=NOW,
                )

            def cancel(sub: Subscription = sub) -> None:
                billing_subs.subscription_cancel(
                    tenant=w.tenant,
                    subscription_id=sub.pk,
                    actor=ACTOR,
                    now=NOW,
                    prorate_credit=True,
                )

            errors = _together(w, settle, cancel)

            assert errors == []
            invoice.refresh_from_db()
            sub.refresh_from_db()
            attempt.refresh_from_db()
            # Whichever came first, both happened, once.
            assert attempt.status == PaymentAttempt.Status.SUCCEEDED
            assert invoice.status == Invoice.Status.PAID
            assert sub.status == SubscriptionStatus.CANCELED
            assert CreditNote.objects.filter(invoice=invoice).count() == 1
