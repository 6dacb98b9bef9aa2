"""A merchant starts a subscription from the customer's page: the first invoice is
shown to the cent (live, as the form changes) before confirming; the pages are
photographed in en and pt-BR at desktop and phone widths (issue 13)."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from billing.coupons import coupon_create
from billing.models import Invoice
from billing.taxes import tax_rate_create
from customers.models import PaymentMethod
from subscriptions.models import Subscription
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.support.billing import ACTOR, utc, world

WIDTHS = {"desktop": 1280, "phone": 390}
START = utc(2026, 3, 10, 12)


def _shots(page: Page, name: str) -> None:
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    lang = page.locator("html").get_attribute("lang") or "en"
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(
            path=str(folder / f"subscription-new-{name}-{lang}-{label}.png"), full_page=True
        )
    page.set_viewport_size({"width": 1280, "height": 800})


def test_merchant_starts_a_subscription_with_the_first_invoice_in_sight(page: Page) -> None:
    with world(START, locale="en") as w:
        iss = tax_rate_create(
            tenant=w.tenant, name="ISS", percent=Decimal(5), actor=ACTOR, now=START
        )
        pro = w.plan(
            "pro", 10_000, name="Pro", setup_fee_minor=5_000, tax_rate=iss, max_installments=3
        )
        w.plan("seats", 2_000, name="Seats", pricing_model="per_seat")
        coupon_create(tenant=w.tenant, code="HALF", percent_off=Decimal(50), actor=ACTOR, now=START)
        customer = w.customer("Ana Souza")
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=customer,
            kind="card",
            gateway="sandbox",
            token="tok",
            brand="visa",
            last4="4242",
            is_default=True,
        )

        log_in(page, "owner@acme.example")
        # The list's button leads to the customer picker.
        page.goto("/dashboard/subscriptions/")
        page.get_by_test_id("new-subscription").click()
        picker = page.get_by_test_id("customer-pick-form")
        picker.locator("input[name=q]").fill("Ana")
        picker.get_by_role("button", name="Search").click()
        expect(page.get_by_test_id("customer-pick")).to_contain_text("Ana Souza")
        _shots(page, "pick")

        # From the customer's page.
        page.goto(f"/dashboard/customers/{customer.public_id}/")
        page.get_by_test_id("start-subscription").click()
        expect(page.get_by_test_id("new-sub-customer")).to_contain_text("Ana Souza")
        form = page.get_by_test_id("new-sub-form")
        form.get_by_label("Plan").select_option(pro.public_id)
        # htmx refreshes the preview as the form changes.
        expect(page.get_by_test_id("preview-total")).to_have_text("R$157.50")
        form.get_by_label("Coupon code").fill("HALF")
        page.get_by_test_id("preview-button").click()
        expect(page.get_by_test_id("preview-total")).to_have_text("R$105.00")
        assert not Subscription.objects.filter(customer=customer).exists()
        _shots(page, "preview")

        page.get_by_test_id("confirm-button").click()
        expect(page.locator(".msg.success")).to_contain_text("The subscription is started.")
        sub = Subscription.objects.get(customer=customer)
        first = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
        assert first.total_minor == 10_500

        # The same form in Portuguese.
        page.goto(f"/dashboard/subscriptions/new/?customer={customer.public_id}")
        with page.expect_navigation():
            page.select_option("select[name=language]", "pt-br")
        expect(page.locator("html")).to_have_attribute("lang", "pt-br")
        page.get_by_test_id("new-sub-form").locator("select[name=plan]").select_option(
            pro.public_id
        )
        expect(page.get_by_test_id("preview-total")).to_contain_text("R$")
        _shots(page, "preview")
        page.goto("/dashboard/subscriptions/new/?q=Ana")
        _shots(page, "pick")
