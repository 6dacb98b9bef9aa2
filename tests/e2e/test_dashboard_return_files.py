"""Bank return files in headless Chromium: the owner uploads a CNAB 240 file
from Payments, sees the summary, uploads it again and nothing is paid twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing.gateways.sandbox import SandboxBoletoGateway
from billing.models import Invoice, PaymentAttempt
from billing.payments import payment_method_attach_offline
from tenants.context import tenant_context
from tests.billing.cnab import Titulo, return_file
from tests.e2e.conftest import log_in
from tests.support.billing import ACTOR, utc, world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = utc(2026, 6, 1, 15)


def test_owner_uploads_a_return_file_twice_and_each_boleto_is_paid_once(
    page: Page, live_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        customer = w.customer("Ana Souza")
        customer.tax_id = "529.982.247-25"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=12_345), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        number = SandboxBoletoGateway().slip(gateway_ref=attempt.gateway_ref)["our_number"]
        tenant = w.tenant
    path = tmp_path / "retorno.ret"
    path.write_bytes(return_file([Titulo(number, 12_345, 12_345), Titulo("4242", 100, 100)]))
    empty = tmp_path / "empty.ret"
    empty.write_bytes(b"")

    log_in(page, "owner@acme.example")
    page.goto("/dashboard/payments/")
    page.get_by_role("link", name="Bank return files").click()
    page.set_input_files('input[name="file"]', str(empty))
    page.get_by_role("button", name="Upload and settle").click()
    expect(page.locator(".errorlist")).to_be_visible()
    for settled, already in (("1", "0"), ("0", "1")):
        page.goto("/dashboard/payments/return-files/")
        page.set_input_files('input[name="file"]', str(path))
        page.get_by_role("button", name="Upload and settle").click()
        expect(page.get_by_test_id("count-settled")).to_have_text(settled)
        expect(page.get_by_test_id("count-already-paid")).to_have_text(already)
        expect(page.get_by_test_id("count-unknown")).to_have_text("1")

    expect(page.get_by_test_id("line-5")).to_have_attribute("data-outcome", "unknown")
    with tenant_context(tenant):
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
