"""A subscriber saves a card in the portal, in headless Chromium: the card
number goes to the (sandbox) gateway's tokenizer, never to Ciclo's portal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_url
from tenants.context import tenant_context
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e


def test_subscriber_saves_a_test_card_and_only_the_token_reaches_the_portal(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    acme = make_tenant("acme")
    with tenant_context(acme.tenant):
        ana = Customer.objects.create(
            tenant=acme.tenant, name="Ana", email="ana@example.com", locale="en"
        )
    url = portal_url(ana, page="payment_methods")
    portal_posts: list[str] = []

    def remember(request: Request) -> None:
        if request.method == "POST" and "/t/acme/" in request.url:
            portal_posts.append(request.post_data or "")

    page.on("request", remember)
    page.goto(url[url.index("/t/") :])
    expect(page.locator("h1")).to_have_text("Payment methods")
    expect(page.get_by_text("No payment method saved yet.")).to_be_visible()

    page.fill("#card-number", "4000 0000 0000 9995")
    page.fill("#card-exp", "12/31")
    page.fill("#card-cvc", "123")
    with page.expect_navigation():
        page.click("#card-setup button[type=submit]")

    expect(page.get_by_text("Card Visa ending in 9995 saved.")).to_be_visible()
    expect(page.locator("tr[data-method]")).to_have_count(1)
    expect(page.locator("tr[data-method]")).to_contain_text("Visa •••• 9995")
    expect(page.locator("tr[data-method]")).to_contain_text("12/2031")
    assert len(portal_posts) == 1
    assert "9995" not in portal_posts[0].replace("ending", "")
    assert "4000" not in portal_posts[0]
    assert "reference=tok_sandbox_insufficient_funds_" in portal_posts[0]
    with tenant_context(acme.tenant):
        method = PaymentMethod.objects.get(customer=ana)
    assert (method.last4, method.exp_year, method.is_default) == ("9995", 2031, True)

    # A mistyped number is refused by the tokenizer and nothing is posted.
    page.fill("#card-number", "4242 4242 4242 4241")
    page.fill("#card-exp", "12/31")
    page.fill("#card-cvc", "123")
    page.click("#card-setup button[type=submit]")
    expect(page.locator("#card-error")).to_have_text("That card number is not valid.")
    assert len(portal_posts) == 1
