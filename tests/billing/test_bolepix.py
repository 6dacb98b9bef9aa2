"""Bolepix: a boleto that also carries a Pix QR code; the first rail paid
withdraws the other, and a late payment on the withdrawn rail is an overpayment
to refund, never a second settlement."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from pypdf import PdfReader

from billing.domain.pix import parse_br_code, pix_qr
from billing.gateways.sandbox import SandboxBoletoGateway
from billing.models import CollectionSettings, Invoice, PaymentAttempt, SandboxCharge
from billing.payments import payment_method_attach_offline
from billing.return_files import boleto_return_file_process
from tenants.context import tenant_context
from tenants.models import Event
from tests.billing.cnab import Titulo, return_file
from tests.e2e.conftest import PASSWORD
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
LATER = utc(2026, 6, 2, 15)


def _bolepix(w, *, with_pix: bool = True):  # type: ignore[no-untyped-def]
    CollectionSettings.objects.create(tenant=w.tenant, boleto_with_pix=with_pix)
    customer = w.customer()
    customer.tax_id = "529.982.247-25"
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=12_345), customer)
    attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
    return attempt, SandboxCharge.objects.get(ref=attempt.gateway_ref)


def _deliver(body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post("/webhooks/sandbox_boleto/", body, content_type="application/json", **http)


def _paid_events(w) -> int:  # type: ignore[no-untyped-def]
    return Event.objects.filter(tenant=w.tenant, type="invoice.paid").count()


def test_the_slip_carries_a_pix_code_for_the_amount_tied_to_the_invoice() -> None:
    with world(NOW) as w:
        attempt, charge = _bolepix(w)
        code = parse_br_code(charge.details["pix_payload"])
        invoice = Invoice.objects.get(pk=attempt.invoice_id)

        assert code.amount_minor == 12_345
        assert code.txid == charge.details["pix_txid"]
        assert code.txid == invoice.public_id.removeprefix("in_") + "1"  # invoice + attempt 1
        assert len(charge.details["barcode"]) == 44


def test_without_the_setting_a_boleto_has_no_pix() -> None:
    with world(NOW) as w:
        _attempt, charge = _bolepix(w, with_pix=False)
        assert "pix_payload" not in charge.details


def _qr_modules(image, count: int) -> list[list[bool]]:  # type: ignore[no-untyped-def]
    """Read the QR symbol's dark modules (``count`` a side, quiet zone included)
    off the image printed in the PDF, at each module's centre."""
    gray = image.convert("L")
    step = gray.size[0] / count
    return [
        [gray.getpixel((int((c + 0.5) * step), int((r + 0.5) * step))) < 128 for c in range(count)]
        for r in range(count)
    ]


def test_the_pdf_shows_the_barcode_line_and_the_pix_qr_code() -> None:
    with world(NOW) as w:
        attempt, charge = _bolepix(w)
        payload = charge.details["pix_payload"]

        response = Client().get(f"/sandbox/boleto/{attempt.gateway_ref}/")

        assert response.status_code == 200
        reader = PdfReader(io.BytesIO(response.content))
        text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in reader.pages))
        assert re.sub(r"\s+", "", charge.details["linha_digitavel"]) in text
        assert "PixCopiaeCola" in text
        assert payload.replace(" ", "") in text
        images = [img for page in reader.pages for img in page.images]
        assert len(images) == 1  # the QR (the barcode is drawn as vectors)
        expected = [
            [bool(v) for v in row] for row in pix_qr(payload).matrix_iter(scale=1, border=4)
        ]
        assert _qr_modules(images[0].image, len(expected)) == expected


def test_paid_by_pix_then_the_boleto_in_a_return_file_is_money_to_refund() -> None:
    with world(NOW) as w:
        attempt, charge = _bolepix(w)
        gateway = SandboxBoletoGateway()

        paid = _deliver(*gateway.simulate_payment(gateway_ref=attempt.gateway_ref, rail="pix"))
        number = charge.details["our_number"]
        stored = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(number, 12_345, 12_345)]),
            filename="r.ret",
            actor=ACTOR,
            now=LATER,
        )
        again = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(number, 12_345, 12_345)]),
            filename="r.ret",
            actor=ACTOR,
            now=LATER,
        )

        charge.refresh_from_db()
        attempt.refresh_from_db()
        assert paid.status_code == 200
        assert (charge.details["paid_by"], charge.details["withdrawn"]) == ("pix", "boleto")
        assert attempt.status == "succeeded"
        [line] = stored.lines.all()
        assert (line.outcome, line.refund_due_minor) == ("withdrawn", 12_345)
        assert [r.outcome for r in again.lines.all()] == ["already_paid"]
        assert _paid_events(w) == 1


def test_paid_by_boleto_return_file_then_the_pix_is_reported_as_an_overpayment() -> None:
    with world(NOW) as w:
        attempt, charge = _bolepix(w)
        gateway = SandboxBoletoGateway()

        stored = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(charge.details["our_number"], 12_345, 12_345)]),
            filename="r.ret",
            actor=ACTOR,
            now=LATER,
        )
        charge.refresh_from_db()
        late = _deliver(*gateway.simulate_payment(gateway_ref=attempt.gateway_ref, rail="pix"))

        attempt.refresh_from_db()
        assert [r.outcome for r in stored.lines.all()] == ["settled"]
        assert (charge.status, charge.details["withdrawn"]) == ("succeeded", "pix")
        assert late.status_code == 200
        assert late.json()["outcome"] == f"attempt {attempt.public_id} paid twice: 12345 to refund"
        [overpaid] = Event.objects.filter(tenant=w.tenant, type="payment.overpaid")
        assert (overpaid.data["rail"], overpaid.data["refund_due"]) == ("pix", 12_345)
        assert attempt.status == "succeeded"
        assert _paid_events(w) == 1


def test_paid_by_boleto_webhook_then_pix_never_settles_twice() -> None:
    with world(NOW) as w:
        attempt, _charge = _bolepix(w)
        gateway = SandboxBoletoGateway()

        first = _deliver(*gateway.simulate_payment(gateway_ref=attempt.gateway_ref, rail="boleto"))
        second = _deliver(*gateway.simulate_payment(gateway_ref=attempt.gateway_ref, rail="pix"))

        assert (first.status_code, second.status_code) == (200, 200)
        assert Event.objects.filter(tenant=w.tenant, type="payment.overpaid").count() == 1
        assert _paid_events(w) == 1
        with pytest.raises(SandboxCharge.DoesNotExist):  # the same rail cannot pay again
            gateway.simulate_payment(gateway_ref=attempt.gateway_ref, rail="boleto")


def test_the_owner_turns_bolepix_on_in_the_payment_settings() -> None:
    with world(NOW) as w:
        tenant = w.tenant
    client = Client()
    assert (
        client.post(
            "/accounts/login/", {"login": "owner@acme.example", "password": PASSWORD}
        ).status_code
        == 302
    )
    page = client.get("/dashboard/billing/payments/").content.decode()
    posted = client.post(
        "/dashboard/billing/payments/",
        {
            "form": "late_charges",
            "fine_percent": "2.00",
            "monthly_interest_percent": "1.00",
            "days_to_pay": "3",
            "with_pix": "on",
        },
    )

    assert 'name="with_pix"' in page
    assert posted.status_code == 302
    with tenant_context(tenant):
        assert CollectionSettings.objects.get(tenant=tenant).boleto_with_pix is True
