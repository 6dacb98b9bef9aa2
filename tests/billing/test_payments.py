"""Charging invoices through the sandbox gateway: attempts, idempotency, webhooks.

The charge protocol calls the gateway outside any transaction, so these tests
use a transactional database.
"""

import threading

import pytest
from django.db import connections, transaction
from django.test import Client

from billing.gateways.sandbox import SandboxGateway
from billing.models import InboundWebhook, Invoice, PaymentAttempt, SandboxCharge
from billing.payments import (
    default_payment_method,
    invoice_charge,
    payment_attempt_reconcile,
    payment_method_attach,
)
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import PaymentMethod
from customers.services import payment_method_detach, payment_method_set_default
from subscriptions.models import Subscription
from tenants.context import platform_access, tenant_context
from tenants.models import Event
from tests.conftest import make_tenant
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
SANDBOX = SandboxGateway()


def _card(w, number: str = "4242 4242 4242 4242"):  # type: ignore[no-untyped-def]
    customer = w.customer()
    saved = SANDBOX.tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123")
    method = payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    return customer, method


def _first_invoice(w, number: str = "4242424242424242"):  # type: ignore[no-untyped-def]
    """Subscribe a customer with a card: the first invoice is charged on commit."""
    customer, _method = _card(w, number)
    sub = w.subscribe(w.plan(amount=9_990), customer)
    invoice = Invoice.objects.get(subscription=sub)
    return sub, invoice, PaymentAttempt.objects.filter(invoice=invoice).first()


def _uncharged_invoice(w, number: str = "4242424242424242"):  # type: ignore[no-untyped-def]
    """An open invoice nobody tried to charge yet: the card came after it."""
    customer = w.customer()
    sub = w.subscribe(w.plan(amount=9_990), customer)
    saved = SANDBOX.tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123")
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    return sub, Invoice.objects.get(subscription=sub)


def test_a_card_is_kept_as_a_token_never_as_a_number() -> None:
    with world(NOW) as w:
        _customer, method = _card(w)
        stored = PaymentMethod.objects.values().get(pk=method.pk)

    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "visa",
        "4242",
        12,
        2030,
    )
    assert method.token.startswith("tok_sandbox_ok_")
    assert method.is_default is True
    assert not any("4242424242424242" in str(value) for value in stored.values())


def test_subscribing_charges_the_first_invoice_once_it_commits() -> None:
    with world(NOW) as w:
        sub, invoice, attempt = _first_invoice(w)

        invoice.refresh_from_db()
        events = list(
            Event.objects.filter(type__startswith="payment.").values_list("type", flat=True)
        )
        assert (attempt.status, attempt.number) == ("succeeded", 1)
        assert attempt.idempotency_key == f"{invoice.public_id}:attempt:1"
        assert (invoice.status, invoice.amount_paid_minor) == ("paid", 9_990)
        assert Subscription.objects.get(pk=sub.pk).status == "active"
        assert events == ["payment.succeeded"]
        assert SandboxCharge.objects.filter(idempotency_key=attempt.idempotency_key).count() == 1
        with pytest.raises(StateConflict) as again:
            invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)
        assert again.value.code == "invoice_not_open"


def test_a_charge_pays_an_invoice_left_open() -> None:
    with world(NOW) as w:
        sub, invoice = _uncharged_invoice(w)
        assert not PaymentAttempt.objects.exists()

        attempt = invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)

        invoice.refresh_from_db()
        assert (attempt.status, attempt.number, invoice.status) == ("succeeded", 1, "paid")
        assert Subscription.objects.get(pk=sub.pk).status == "active"


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        pytest.param("4000000000009995", "insufficient_funds", "insufficient funds", id="funds"),
        pytest.param("4000000000000069", "expired_card", "expired", id="expired"),
        pytest.param("4000000000000002", "do_not_honor", "do not honour", id="do-not-honour"),
        pytest.param("4000000000000119", "processing_error", "could not be processed", id="error"),
        pytest.param("4000000000000341", "card_declined", "declined", id="declined"),
    ],
)
def test_each_failure_is_recorded_with_its_code_and_a_human_message(
    number: str, code: str, message: str
) -> None:
    with world(NOW) as w:
        sub, invoice, first = _first_invoice(w, number)

        second = invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)

        invoice.refresh_from_db()
        assert (first.status, first.failure_code) == ("failed", code)
        assert message in first.failure_message
        # A retry is a new attempt with a new key: the gateway sees a new charge.
        assert (second.number, second.idempotency_key) == (2, f"{invoice.public_id}:attempt:2")
        assert invoice.status == "open"
        assert Subscription.objects.get(pk=sub.pk).status == "incomplete"


def test_a_timeout_then_reconciliation_charges_exactly_once() -> None:
    with world(NOW) as w:
        _sub, invoice, pending = _first_invoice(w, "4000000000004954")

        again = invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)
        settled = payment_attempt_reconcile(tenant=w.tenant, attempt_id=pending.pk, now=NOW)

        invoice.refresh_from_db()
        assert pending.status == "pending"
        assert again.pk == pending.pk  # the attempt in flight is reused, never a second one
        assert settled.status == "succeeded"
        assert invoice.status == "paid"
        assert SandboxCharge.objects.count() == 1
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1


@pytest.mark.postgres
def test_two_workers_charging_the_same_invoice_make_one_charge() -> None:
    with world(NOW) as w:
        _sub, invoice = _uncharged_invoice(w)
        tenant = w.tenant
    barrier, results, errors = threading.Barrier(2), [], []

    def worker() -> None:
        try:
            with tenant_context(tenant):
                barrier.wait()
                results.append(invoice_charge(tenant=tenant, invoice_id=invoice.pk, now=NOW))
        except StateConflict as exc:  # the invoice was paid by the other worker first
            errors.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with tenant_context(tenant):
        assert SandboxCharge.objects.count() == 1
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert len(results) + len(errors) == 2
    assert set(errors) <= {"invoice_not_open"}


def test_authentication_completes_through_a_signed_webhook_processed_once() -> None:
    with world(NOW) as w:
        _sub, invoice, attempt = _first_invoice(w, "4000002500003155")
        assert attempt.status == "requires_action"
        assert attempt.action_url == f"/sandbox/authenticate/{attempt.gateway_ref}/"
        body, headers = SANDBOX.complete_authentication(gateway_ref=attempt.gateway_ref)
        http_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        client = Client()

        first = client.post(
            "/webhooks/sandbox/", body, content_type="application/json", **http_headers
        )
        replay = client.post(
            "/webhooks/sandbox/", body, content_type="application/json", **http_headers
        )

        attempt.refresh_from_db()
        invoice.refresh_from_db()
        assert first.status_code == 200
        assert first.json()["outcome"] == f"attempt {attempt.public_id} succeeded"
        assert replay.json()["outcome"] == "duplicate"
        assert (attempt.status, invoice.status) == ("succeeded", "paid")
        assert Event.objects.filter(type="invoice.paid", subject_id=invoice.public_id).count() == 1
    with platform_access():
        assert InboundWebhook.objects.count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b, h: (b + b" ", h), id="body-changed"),
        pytest.param(lambda b, h: (b, {"Sandbox-Signature": "t=1,v1=00"}), id="forged"),
        pytest.param(lambda b, h: (b, {}), id="unsigned"),
        pytest.param(
            lambda b, h: SandboxGateway.signed_event("charge.succeeded", {}, timestamp=1_000),
            id="stale",
        ),
    ],
)
def test_a_forged_or_stale_webhook_is_refused_and_changes_nothing(tamper) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        _sub, _invoice, attempt = _first_invoice(w, "4000002500003155")
        body, headers = SandboxGateway.signed_event(
            "charge.succeeded", {"idempotency_key": attempt.idempotency_key}
        )
        body, headers = tamper(body, headers)
        http_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}

        response = Client().post(
            "/webhooks/sandbox/", body, content_type="application/json", **http_headers
        )

        attempt.refresh_from_db()
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_webhook"
        assert attempt.status == "requires_action"
    with platform_access():
        assert not InboundWebhook.objects.exists()


def test_an_out_of_order_webhook_cannot_undo_a_settled_payment() -> None:
    with world(NOW) as w:
        _sub, invoice, attempt = _first_invoice(w)
        body, headers = SandboxGateway.signed_event(
            "charge.failed", {"idempotency_key": attempt.idempotency_key}
        )
        http_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}

        late = Client().post(
            "/webhooks/sandbox/", body, content_type="application/json", **http_headers
        )

        attempt.refresh_from_db()
        invoice.refresh_from_db()
        assert late.status_code == 200
        assert (attempt.status, invoice.status) == ("succeeded", "paid")


def test_charging_refuses_to_run_inside_a_transaction_and_other_tenants_invoices() -> None:
    with world(NOW) as w:
        _sub, invoice = _uncharged_invoice(w)
        with (
            pytest.raises(RuntimeError, match="must not run inside a transaction"),
            transaction.atomic(),
        ):
            invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)
        other = make_tenant("globex").tenant
    with tenant_context(other), pytest.raises(NotFound):
        invoice_charge(tenant=other, invoice_id=invoice.pk, now=NOW)
    with platform_access():
        assert not PaymentAttempt.objects.exists()
        assert not SandboxCharge.objects.exists()


@pytest.mark.parametrize(
    ("number", "param"),
    [
        pytest.param("4242 4242 4242 4241", "number", id="bad-luhn"),
        pytest.param("1234", "number", id="short"),
    ],
)
def test_bad_card_numbers_are_refused_by_the_sandbox(number: str, param: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        SANDBOX.tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123")
    assert caught.value.param == param


def test_the_default_method_is_the_one_charged_and_can_be_changed_or_detached() -> None:
    with world(NOW) as w:
        customer, visa = _card(w)
        saved = SANDBOX.tokenize_card(
            number="4000000000009995", exp_month=3, exp_year=2029, cvc="999"
        )
        declining = payment_method_attach(
            tenant=w.tenant,
            customer=customer,
            saved=saved,
            gateway="sandbox",
            actor=ACTOR,
            now=NOW,
            make_default=False,
        )
        assert default_payment_method(customer_id=customer.pk) == visa

        payment_method_set_default(
            tenant=w.tenant, payment_method_id=declining.pk, actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=5_000), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        payment_method_detach(tenant=w.tenant, payment_method_id=declining.pk, actor=ACTOR, now=NOW)

        assert (attempt.payment_method_id, attempt.failure_code) == (
            declining.pk,
            "insufficient_funds",
        )
        assert default_payment_method(customer_id=customer.pk) is None
        with pytest.raises(NotFound):
            payment_method_set_default(
                tenant=w.tenant, payment_method_id=declining.pk, actor=ACTOR, now=NOW
            )


def test_a_subscription_can_be_charged_with_its_own_method() -> None:
    with world(NOW) as w:
        customer, visa = _card(w)
        saved = SANDBOX.tokenize_card(
            number="5555555555554444", exp_month=8, exp_year=2032, cvc="123"
        )
        mastercard = payment_method_attach(
            tenant=w.tenant,
            customer=customer,
            saved=saved,
            gateway="sandbox",
            actor=ACTOR,
            now=NOW,
            make_default=False,
        )
        sub = w.subscribe(w.plan(amount=7_000), customer, payment_method=mastercard)
        other = w.customer("Other")
        with pytest.raises(NotFound):
            w.subscribe(w.plan("other", amount=1_000), other, payment_method=visa)

        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        assert attempt.payment_method_id == mastercard.pk
        assert default_payment_method(customer_id=customer.pk) == visa


def test_a_card_about_to_expire_is_announced_once() -> None:
    from customers.services import payment_methods_expiring_notify

    with world(utc(2026, 6, 10, 15)) as w:
        customer = w.customer()
        for number, month, year in (("4242424242424242", 7, 2026), ("5555555555554444", 9, 2026)):
            saved = SANDBOX.tokenize_card(number=number, exp_month=month, exp_year=year, cvc="123")
            payment_method_attach(
                tenant=w.tenant,
                customer=customer,
                saved=saved,
                gateway="sandbox",
                actor=ACTOR,
                now=NOW,
            )

        first = payment_methods_expiring_notify(tenant=w.tenant, now=utc(2026, 6, 10, 15))
        again = payment_methods_expiring_notify(tenant=w.tenant, now=utc(2026, 6, 11, 15))
        events = list(
            Event.objects.filter(type="customer.payment_method_expiring").values_list(
                "data", flat=True
            )
        )

    assert (first, again) == (1, 0)
    assert [(e["last4"], e["exp_month"]) for e in events] == [("4242", 7)]
