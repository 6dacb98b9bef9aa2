"""Boleto and Pix in the charge flow: issued, waiting, confirmed by webhook."""

import pytest
from django.test import Client

from billing.domain.boleto import parse_linha_digitavel
from billing.domain.pix import parse_br_code
from billing.gateways.sandbox import SandboxBoletoGateway, SandboxPixGateway
from billing.models import Invoice, PaymentAttempt, SandboxCharge
from billing.payments import payment_attempt_reconcile, payment_method_attach_offline
from core.errors import ValidationFailed
from subscriptions.models import Subscription
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _subscribe(w, kind: str, currency: str = "BRL", tax_id: str = "529.982.247-25"):  # type: ignore[no-untyped-def]
    customer = w.customer()
    customer.tax_id = tax_id
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind=kind, actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=12_345, currency=currency), customer)
    return sub, PaymentAttempt.objects.get(invoice__subscription=sub)


def _deliver(gateway: str, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(f"/webhooks/{gateway}/", body, content_type="application/json", **http)


def test_a_boleto_is_issued_for_the_amount_due_and_paid_by_webhook() -> None:
    with world(NOW) as w:
        sub, attempt = _subscribe(w, "boleto")
        charge = SandboxCharge.objects.get(ref=attempt.gateway_ref)
        barcode = parse_linha_digitavel(charge.details["linha_digitavel"])

        still_waiting = payment_attempt_reconcile(tenant=w.tenant, attempt_id=attempt.pk, now=NOW)
        body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=attempt.gateway_ref)
        response = _deliver("sandbox_boleto", body, headers)

        attempt.refresh_from_db()
        assert (still_waiting.status, still_waiting.action_url) == (
            "pending",
            f"/sandbox/boleto/{attempt.gateway_ref}/",
        )
        assert barcode.digits == charge.details["barcode"]
        assert barcode.amount_minor == 12_345
        assert charge.details["due_date"] == "2026-06-04"
        assert response.status_code == 200
        assert attempt.status == "succeeded"
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
        assert Subscription.objects.get(pk=sub.pk).status == "active"


def test_a_pix_code_carries_the_amount_with_a_valid_crc_and_is_paid_by_webhook() -> None:
    with world(NOW) as w:
        _sub, attempt = _subscribe(w, "pix", tax_id="")
        charge = SandboxCharge.objects.get(ref=attempt.gateway_ref)
        code = parse_br_code(charge.details["payload"])

        body, headers = SandboxPixGateway().simulate_payment(gateway_ref=attempt.gateway_ref)
        first = _deliver("sandbox_pix", body, headers)
        replay = _deliver("sandbox_pix", body, headers)

        attempt.refresh_from_db()
        assert code.amount_minor == 12_345
        assert code.key == SandboxPixGateway.KEY
        assert charge.details["expires_at"].startswith("2026-06-02")
        assert (first.status_code, replay.json()["outcome"]) == (200, "duplicate")
        assert attempt.status == "succeeded"


def test_a_boleto_needs_a_valid_cpf_or_cnpj() -> None:
    with world(NOW) as w:
        customer = w.customer()
        customer.tax_id = "111.111.111-11"
        customer.save()
        with pytest.raises(ValidationFailed) as caught:
            payment_method_attach_offline(
                tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
            )
        assert caught.value.code == "invalid_tax_id"
        assert not customer.payment_methods.exists()


def test_boleto_and_pix_are_only_in_reais() -> None:
    with world(NOW) as w:
        _sub, attempt = _subscribe(w, "boleto", currency="USD")
        assert (attempt.status, attempt.failure_code) == ("failed", "currency_not_supported")
