"""Pix Automático in headless Chromium: the owner asks a subscriber for a mandate
(refused below the plan's price, next to the field), sees its QR code, simulates
the payer's authorisation, a cycle's debit and the payer's cancellation in test
mode, then finds it on the mandates list; screenshots at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.models import Invoice, PixMandate
from tenants.context import tenant_context
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.support.billing import utc, world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = utc(2026, 6, 1, 15)


def _shots(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.set_viewport_size({"width": 1280, "height": 900})


def test_owner_walks_a_pix_automatico_mandate_in_test_mode(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, time_zone="America/Sao_Paulo") as w:
        customer = w.customer("Ana Souza")
        customer.tax_id = "529.982.247-25"
        customer.save()
        sub = w.subscribe(w.plan("pix", amount=4_990, name="Clube do Café"), customer)
    url = f"/dashboard/subscriptions/{sub.public_id}/"

    log_in(page, "owner@acme.example")
    page.goto("/")
    page.locator('a[href="/dashboard/pix-mandates/"]').first.click()
    expect(page.get_by_test_id("mandates-empty")).to_be_visible()
    _shots(page, "pix-mandates-empty")

    page.goto(url)
    expect(page.get_by_test_id("no-mandate")).to_be_visible()
    ask = page.get_by_test_id("mandate-request-form")
    ask.locator('input[name="max_amount"]').fill("40.00")
    ask.get_by_test_id("mandate-request").click()
    expect(page.get_by_test_id("mandate-request-form")).to_contain_text("below what each cycle")
    ask = page.get_by_test_id("mandate-request-form")
    ask.locator('input[name="max_amount"]').fill("59.90")
    ask.get_by_test_id("mandate-request").click()
    expect(page.get_by_test_id("mandate-qr")).to_be_visible()
    expect(page.get_by_test_id("mandate-status")).to_contain_text("Pending")
    _shots(page, "pix-mandate-pending")

    page.get_by_test_id("simulate-authorise").click()
    expect(page.get_by_test_id("mandate-status")).to_contain_text("Active")
    expect(page.get_by_test_id("mandate-psp")).to_contain_text("BANCO SANDBOX")
    expect(page.get_by_test_id("mandate-qr")).to_have_count(0)

    with tenant_context(w.tenant):
        w.advance(utc(2026, 7, 1, 16))  # July's instruction sent, its debit made on the 1st
    page.goto(url)
    page.get_by_test_id("simulate-pay").first.click()
    expect(page.locator(".messages")).to_contain_text("debit went through")
    expect(page.get_by_test_id("instruction-invoice")).to_contain_text("Paid")
    expect(page.get_by_test_id("simulate-pay")).to_have_count(0)
    _shots(page, "pix-mandate-active")

    page.get_by_test_id("simulate-payer-cancel").click()
    expect(page.get_by_test_id("mandate-status")).to_contain_text("Cancelled by the payer")
    expect(page.get_by_test_id("mandate-request-form")).to_be_visible()

    page.locator('a[href="/dashboard/pix-mandates/"]').first.click()
    with tenant_context(w.tenant):
        mandate = PixMandate.objects.get(subscription=sub)
        statuses = list(
            Invoice.objects.filter(subscription=sub).order_by("id").values_list("status", flat=True)
        )
    expect(page.get_by_test_id(f"mandate-{mandate.public_id}")).to_have_attribute(
        "data-status", "cancelled_by_payer"
    )
    _shots(page, "pix-mandates-list")
    assert mandate.status == "cancelled_by_payer"
    assert statuses == ["paid", "paid"]
