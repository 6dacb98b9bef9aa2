"""The sandbox gateway's pages: 3-D Secure, the boleto slip, the Pix code."""

import pytest
from django.test import Client

from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, PaymentAttempt
from billing.payments import payment_method_attach, payment_method_attach_offline
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _attempt(w, kind: str, number: str = "4000002500003155") -> PaymentAttempt:  # type: ignore[no-untyped-def]
    """A subscriber of a new plan (one per kind) whose first charge awaits them."""
    customer = w.customer()
    customer.tax_id = "529.982.247-25"
    customer.save()
    if kind == "card":
        saved = SandboxGateway().tokenize_card(number=number, exp_month=1, exp_year=2031, cvc="123")
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
    else:
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind=kind, actor=ACTOR, now=NOW
        )
    sub = w.subscribe(w.plan(f"plan-{kind}", amount=2_500), customer)
    return PaymentAttempt.objects.get(invoice__subscription=sub)


@pytest.mark.parametrize(
    ("outcome", "status", "invoice"),
    [
        pytest.param("approve", "succeeded", "paid", id="approve"),
        pytest.param("decline", "failed", "open", id="decline"),
    ],
)
def test_the_3ds_page_settles_the_payment_through_the_webhook(
    outcome: str, status: str, invoice: str
) -> None:
    with world(NOW) as w:
        attempt = _attempt(w, "card")
        page = Client().get(attempt.action_url)
        done = Client().post(attempt.action_url, {"outcome": outcome})

        attempt.refresh_from_db()
        assert 'value="approve"' in page.content.decode()
        assert done.status_code == 200
        assert attempt.status == status
        assert Invoice.objects.get(pk=attempt.invoice_id).status == invoice


def test_the_boleto_slip_is_a_pdf_and_the_pix_page_simulates_payment() -> None:
    with world(NOW) as w:
        boleto = _attempt(w, "boleto")
        pix = _attempt(w, "pix")

        slip = Client().get(boleto.action_url)
        page = Client().get(pix.action_url)
        paid = Client().post(pix.action_url)

        pix.refresh_from_db()
        assert slip.status_code == 200
        assert slip["Content-Type"] == "application/pdf"
        assert slip.content.startswith(b"%PDF-")
        assert "br.gov.bcb.pix" in page.content.decode()
        assert "<svg" in page.content.decode()
        assert paid.status_code == 200
        assert pix.status == "succeeded"
        assert Client().get("/sandbox/pix/nope/").status_code == 404
