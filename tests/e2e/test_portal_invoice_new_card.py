"""A subscriber pays an open invoice with a NEW card from the portal's invoice
page, in headless Chromium: the card goes to the sandbox tokenizer, the portal
receives only its token. A declined card shows the gateway's message, leaves the
invoice open and saves nothing; a 3-D Secure card completes after the challenge
and, asked to, is kept (issue 14, portal item 4)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from billing.models import Invoice
from customers.models import Customer, PaymentMethod
from tests.e2e.test_portal_subscriptions import _enter, _shots
from tests.support.billing import utc, world

pytestmark = pytest.mark.e2e


def _type_card(page: Page, number: str) -> None:
    # Open when the payer has no saved card; unfold it otherwise.
    page.get_by_test_id("new-card").evaluate("details => { details.open = true; }")
    page.fill("#card-number", number)
    page.fill("#card-exp", "12/31")
    page.fill("#card-cvc", "123")


def test_declined_then_3d_secure_new_card_pays_the_invoice(page: Page) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        plan = w.plan("basic", 10_000, name="Basic")
        ana = w.customer("Ana Souza")
        Customer.objects.filter(pk=ana.pk).update(locale="en")
        [invoice] = w.invoices(w.subscribe(plan, ana))
        assert invoice.status == Invoice.Status.OPEN
        posts: list[str] = []

        def remember(request: Request) -> None:
            if request.method == "POST" and "/pay/card/" in request.url:
                posts.append(request.post_data or "")

        page.on("request", remember)
        _enter(page, ana, "invoices")
        here = f"/t/{w.tenant.slug}/invoices/{invoice.public_id}/"
        page.goto(here)
        expect(page.get_by_test_id("new-card")).to_be_visible()
        _shots(page, ana, "invoice-new-card")

        # 1. A declined card: the gateway's reason, the invoice still open, nothing saved.
        _type_card(page, "4000 0000 0000 9995")
        page.get_by_test_id("save-card").check()
        with page.expect_navigation():
            page.get_by_test_id("pay-new-card").click()
        expect(page.get_by_text("The card has insufficient funds.")).to_be_visible()
        expect(page.get_by_test_id("invoice-status")).to_have_text("Open")
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
        assert not PaymentMethod.objects.filter(customer=ana, detached_at__isnull=True).exists()
        assert len(posts) == 1
        assert "9995" not in posts[0]
        assert "reference=tok_sandbox_insufficient_funds_" in posts[0]

        # 2. A 3-D Secure card, saved: the issuer's page, approve, back, paid.
        _type_card(page, "4000 0025 0000 3155")
        page.get_by_test_id("save-card").check()
        with page.expect_navigation(url="**/sandbox/authenticate/**"):
            page.get_by_test_id("pay-new-card").click()
        expect(page.get_by_test_id("status")).to_have_text("requires_action")
        page.get_by_role("button", name="Approve").click()
        page.get_by_test_id("return").click()
        expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        [card] = PaymentMethod.objects.filter(customer=ana, detached_at__isnull=True)
        assert card.last4 == "3155"
        assert "3155" not in posts[1].replace(card.token, "")
