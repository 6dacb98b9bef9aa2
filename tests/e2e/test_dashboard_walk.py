"""Issue 13's "Done means" walk in headless Chromium: a staff user with TOTP
signs in with a real code, builds a catalog (a product, a plan with a setup fee
and a tax rate, a coupon), creates a customer with a CPF on a test clock, starts
a subscription, advances the clock a month, sees the renewal invoice, refunds
half of it, sees the credit note, cancels at period end and finds the customer
again by CPF in the global search. Each step asserts what the page shows.

The clock pages and the new-subscription page are kept as screenshots in
test-artifacts/e2e/walk-<page>-<language>-<width>.png (en and pt-BR, 1280 and 390 px)."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import Page, expect

from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice
from billing.payments import payment_method_attach
from customers.models import Customer, TestClock
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.support.billing import ACTOR
from tests.support.totp import totp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CPF = "529.982.247-25"


def _shots(page: Page, name: str) -> None:
    lang = page.locator("html").get_attribute("lang") or "en"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 800})
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide}px wide at {width}px ({lang})"
        page.screenshot(path=str(ARTIFACTS / f"walk-{name}-{lang}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def _money(minor: int) -> str:
    return f"R${minor // 100:,}.{minor % 100:02d}"


def test_the_merchant_walk_of_issue_13(page: Page) -> None:
    setup = make_tenant("acme")
    Tenant.objects.filter(pk=setup.tenant.pk).update(locale="en")
    TOTP.activate(setup.owner, SECRET)
    tenant = setup.tenant

    # Sign in with the password, then a real TOTP code.
    log_in(page, "owner@acme.example")
    assert page.url.endswith("/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp(SECRET))
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    assert page.url.endswith("/")
    expect(page.locator("nav")).to_contain_text("Test clocks")

    # Catalog: a tax rate, a product, a plan with a setup fee and the tax rate, a coupon.
    page.goto("/dashboard/catalog/tax-rates/new/")
    page.fill("input[name=name]", "ISS")
    page.fill("input[name=percent]", "5")
    page.get_by_role("button", name="Create tax rate").click()
    expect(page.locator("table")).to_contain_text("ISS")
    page.goto("/dashboard/catalog/products/new/")
    page.fill("input[name=name]", "Revista Digital")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".msg.success")).to_contain_text("Now add a plan")
    page.fill("input[name=name]", "Mensal")
    page.fill("input[name=code]", "mensal")
    page.fill("input[name=amount]", "29.90")
    page.fill("input[name=setup_fee]", "9.90")
    page.select_option("select[name=tax_rate]", label="ISS (5 %)")
    page.get_by_role("button", name="Create plan").click()
    expect(page.get_by_test_id("current-price")).to_contain_text("R$29.90")
    expect(page.locator("dl.facts")).to_contain_text("R$9.90")
    expect(page.locator("dl.facts")).to_contain_text("ISS")
    page.goto("/dashboard/catalog/coupons/new/")
    page.fill("input[name=code]", "BEMVINDO")
    page.fill("input[name=percent_off]", "10")
    page.get_by_role("button", name="Create coupon").click()
    expect(page.get_by_test_id("coupon-BEMVINDO")).to_contain_text("10 %")

    # A test clock, and a customer with a CPF on it.
    page.goto("/dashboard/test-clocks/")
    expect(page.get_by_text("No test clocks yet.")).to_be_visible()
    page.get_by_test_id("new-clock").click()
    page.fill("input[name=name]", "Walk")
    page.fill("input[name=frozen_time]", "2026-06-01T10:00")
    page.get_by_role("button", name="Create test clock").click()
    expect(page.get_by_test_id("clock-time")).to_contain_text("06/01/2026")
    clock_url = page.url
    page.get_by_test_id("new-clock-customer").click()
    _shots(page, "clock-customer-new")
    page.fill("input[name=name]", "Ana Souza")
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=tax_id]", CPF)
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_test_id("clock-customers")).to_contain_text("Ana Souza")
    with tenant_context(tenant):
        ana = Customer.objects.get(tenant=tenant, name="Ana Souza")
        assert ana.test_clock is not None
        assert ana.test_clock.name == "Walk"
        # Her card, as the portal's card form would save it (staff never type card numbers).
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=tenant,
            customer=ana,
            saved=saved,
            gateway="sandbox",
            actor=ACTOR,
            now=ana.test_clock.frozen_time,
        )
        mensal = Plan.objects.get(tenant=tenant, code="mensal")

    # Start the subscription from her page, with the first invoice in sight.
    page.get_by_test_id("clock-customers").get_by_role("link", name="Ana Souza").click()
    page.get_by_test_id("start-subscription").click()
    expect(page.get_by_test_id("new-sub-customer")).to_contain_text("Ana Souza")
    form = page.get_by_test_id("new-sub-form")
    form.get_by_label("Plan").select_option(mensal.public_id)
    form.get_by_label("Coupon code").fill("BEMVINDO")
    page.get_by_test_id("preview-button").click()
    preview = page.get_by_test_id("preview-total").inner_text()
    _shots(page, "subscription-new")
    page.get_by_test_id("confirm-button").click()
    expect(page.locator(".msg.success")).to_contain_text("The subscription is started.")
    with tenant_context(tenant):
        sub = Subscription.objects.get(customer=ana)
        first = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
    assert preview == _money(first.total_minor)  # the preview was the invoice, to the cent

    # Advance the clock a month: the renewal invoice appears on the clock's page.
    page.goto(clock_url)
    _shots(page, "clock")
    advance = page.get_by_test_id("advance-form")
    expect(advance.locator("input[name=to]")).to_be_hidden()  # only for "To a date"
    advance.get_by_label("Advance").select_option("date")
    expect(advance.locator("input[name=to]")).to_be_visible()
    advance.get_by_label("Advance").select_option("month")
    page.get_by_test_id("advance-button").click()
    expect(page.get_by_test_id("clock-time")).to_contain_text("07/01/2026")
    with tenant_context(tenant):
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        assert renewal.status == "paid"
    invoices = page.get_by_test_id("clock-invoices")
    expect(invoices.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("clock-timeline")).to_contain_text("Invoice paid")
    _shots(page, "clock-advanced")

    # Refund half of the renewal, and see its credit note.
    invoices.get_by_role("link", name=renewal.number).click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    half = renewal.total_minor // 2
    refund = page.get_by_test_id("refund-form")
    refund.locator("input[name=amount]").fill(f"{half // 100}.{half % 100:02d}")
    refund.locator("input[name=reason]").fill("Half the month unused")
    with page.expect_navigation():
        refund.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Refund recorded, with its credit note.")
    expect(page.get_by_test_id("credit-notes")).to_contain_text(_money(half))

    # Cancel at the period end.
    page.goto(f"/dashboard/subscriptions/{sub.public_id}/")
    cancel = page.get_by_test_id("cancel-form")
    cancel.get_by_label("When").select_option("period_end")
    cancel.get_by_role("button", name="Cancel the subscription").click()
    expect(page.get_by_test_id("scheduled-cancel")).to_be_visible()

    # Find her again by CPF (typed without its mask) in the global search.
    page.fill("#global-search", "52998224725")
    with page.expect_navigation():
        page.press("#global-search", "Enter")
    expect(page.locator("main")).to_contain_text("Ana Souza")

    # The clock pages and the new-subscription page in Portuguese.
    page.goto(f"/dashboard/subscriptions/new/?customer={ana.public_id}")
    with page.expect_navigation():
        page.select_option("select[name=language]", "pt-br")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    page.get_by_test_id("new-sub-form").locator("select[name=plan]").select_option(mensal.public_id)
    expect(page.get_by_test_id("preview-total")).to_contain_text("R$")
    _shots(page, "subscription-new")
    page.goto(clock_url)
    _shots(page, "clock-advanced")
    page.goto("/dashboard/test-clocks/")
    _shots(page, "clocks")
    page.goto(clock_url + "customers/new/")
    _shots(page, "clock-customer-new")
    with tenant_context(tenant):
        assert TestClock.objects.filter(tenant=tenant).count() == 1


def test_the_clock_page_polls_the_progress_bar_until_the_advance_is_done(page: Page) -> None:
    from datetime import timedelta

    from tests.support.billing import utc, world

    utc_start = utc(2026, 6, 1, 13)
    with world(utc_start, locale="en") as w:
        TestClock.objects.filter(pk=w.clock.pk).update(
            advancing_to=utc_start + timedelta(days=30),
            advanced_through=utc_start + timedelta(days=12),
        )
        log_in(page, "owner@acme.example")
        page.goto(f"/dashboard/test-clocks/{w.clock.public_id}/")
        bar = page.get_by_test_id("clock-progress-bar")
        expect(bar).to_have_attribute("value", "288")
        expect(bar).to_have_attribute("max", "720")
        expect(page.get_by_test_id("clock-progress")).to_contain_text("288 of 720 hours (40%)")
        expect(page.get_by_test_id("advance-form")).to_have_count(0)
        _shots(page, "clock-advancing")
        # The worker moves on, then finishes: the polled bar follows, then the page reloads.
        TestClock.objects.filter(pk=w.clock.pk).update(
            advanced_through=utc_start + timedelta(days=24)
        )
        expect(bar).to_have_attribute("value", "576", timeout=5_000)
        TestClock.objects.filter(pk=w.clock.pk).update(
            frozen_time=utc_start + timedelta(days=30), advancing_to=None, advanced_through=None
        )
        expect(page.get_by_test_id("advance-form")).to_be_visible(timeout=5_000)
        expect(page.get_by_test_id("clock-time")).to_contain_text("07/01/2026")
