"""Invoices in the dashboard, in headless Chromium: open an invoice the real
services made, refund half of it, see the credit note. Screenshots of the money
pages in en and pt-BR, at 1280 and 390 px, when CICLO_ARTIFACTS_DIR is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from billing.gateways.sandbox import SandboxGateway
from billing.models import PaymentAttempt
from billing.payments import payment_method_attach
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, log_in
from tests.support.billing import ACTOR, utc, world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = utc(2026, 6, 1, 15)


def _screens(browser: Browser, base_url: str, email: str, paths: dict[str, str]) -> None:
    target = os.environ.get("CICLO_ARTIFACTS_DIR")
    if not target:
        return
    folder = Path(target) / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    for locale, lang in (("en-US", "en"), ("pt-BR", "pt-BR")):
        for width, height in ((1280, 800), (390, 844)):
            context = browser.new_context(
                base_url=base_url, locale=locale, viewport={"width": width, "height": height}
            )
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            page = context.new_page()
            log_in(page, email)
            for name, path in paths.items():
                page.goto(path)
                page.screenshot(path=str(folder / f"{name}-{lang}-{width}.png"), full_page=True)
            context.close()


def test_owner_refunds_half_an_invoice_and_sees_the_credit_note(
    page: Page, browser: Browser, live_server
) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        customer = w.customer("Ana Souza")
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=10_000, name="Pro"), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        invoice = attempt.invoice

    log_in(page, "owner@acme.example")
    page.goto("/dashboard/invoices/")
    expect(page.locator("main h1")).to_have_text("Invoices")
    row = page.locator("tbody tr", has_text=invoice.number)
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text("R$100.00")
    with page.expect_navigation():
        row.get_by_role("link", name=invoice.number).click()

    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("invoice-totals")).to_contain_text("R$100.00")
    expect(page.get_by_test_id("attempts")).to_contain_text(attempt.public_id)
    form = page.get_by_test_id("refund-form")
    expect(form).to_contain_text("Up to R$100.00")
    form.locator("input[name=amount]").fill(
        "50.00"
    )  # the page speaks English: its decimal sign is a dot
    form.locator("input[name=reason]").fill("Half the month unused")
    with page.expect_navigation():
        form.get_by_role("button", name="Refund", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("Refund recorded, with its credit note.")
    notes = page.get_by_test_id("credit-notes")
    expect(notes).to_contain_text("ACME-CN-2026-000001")
    expect(notes).to_contain_text("R$50.00")
    expect(notes).to_contain_text("Half the month unused")
    expect(page.get_by_test_id("amount-credited")).to_have_text("R$50.00")
    expect(page.get_by_test_id("refund-form")).to_contain_text("Up to R$50.00")

    page.goto("/dashboard/credit-notes/")
    expect(page.locator("tbody tr")).to_contain_text("ACME-CN-2026-000001")

    _screens(
        browser,
        live_server.url,
        "owner@acme.example",
        {
            "invoices": "/dashboard/invoices/",
            "invoice": f"/dashboard/invoices/{invoice.public_id}/",
            "payments": "/dashboard/payments/",
            "refunds": "/dashboard/refunds/",
            "credit-notes": "/dashboard/credit-notes/",
            "events": "/dashboard/events/",
        },
    )
