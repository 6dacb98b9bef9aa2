"""Issue 14's whole subscriber walk in headless Chromium, one visitor from the
hosted checkout to a cancellation undone: the checkout of a monthly plan with a
setup fee and a coupon, paid with a sandbox card → signed in to the portal →
signs out → signs in again with the code emailed to them (read from the real
local SMTP server) → upgrades with the preview shown → pauses → resumes →
starts to cancel, is offered the retention coupon, declines, cancels at period
end → undoes it. Each step asserts what the page shows and what was written."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from billing.coupons import coupon_create
from billing.models import PlanPortalOptions
from customers.models import Customer
from subscriptions.models import ScheduledChange, Subscription
from tenants.context import tenant_context
from tests.support.billing import ACTOR, utc, world
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.e2e
NOW = utc(2026, 6, 1, 15)


def _code(message) -> str:  # type: ignore[no-untyped-def]
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    found = re.search(r"^\s*(\d{6})\s*$", text, re.M)
    assert found, text
    return found.group(1)


def test_checkout_then_sign_in_by_code_then_upgrade_pause_resume_cancel_and_undo(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
) -> None:
    with world(NOW, locale="en") as w:
        monthly = w.plan("monthly", amount=5_000, setup_fee_minor=2_000, name="Basic")
        pro = w.plan("pro", amount=9_000, name="Pro", max_pauses=1, max_pause_cycles=2)
        coupon_create(
            tenant=w.tenant,
            code="HALF",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("50"),
            duration="once",
            plan_codes=["monthly"],
        )
        stay = coupon_create(
            tenant=w.tenant,
            code="STAY50",
            name="50% off to stay",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("50"),
            duration="repeating",
            duration_cycles=3,
        )
        PlanPortalOptions.objects.create(
            tenant=w.tenant, plan_code="pro", offer="coupon", offer_coupon=stay
        )
    tenant = w.tenant
    slug = tenant.slug

    # 1. The hosted checkout: R$ 50 + R$ 20 setup fee, the coupon halves the plan.
    page.goto(f"/t/{slug}/checkout/{monthly.public_id}/")
    expect(page.get_by_test_id("plan-name")).to_have_text("Basic")
    expect(page.get_by_test_id("total-now")).to_have_text("R$70.00")
    page.fill("#f-coupon", "HALF")
    expect(page.get_by_test_id("total-now")).to_have_text("R$45.00")
    page.fill("#f-name", "Ana Souza")
    page.fill("#f-email", "ana@example.com")
    page.fill("#f-tax-id", "529.982.247-25")
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-exp", "12/31")
    page.fill("#card-cvc", "123")
    with page.expect_navigation(url=f"**/t/{slug}/checkout/done/"):
        page.click("#card-setup button[type=submit]")
    expect(page.get_by_test_id("paid")).to_contain_text("R$45.00")
    with tenant_context(tenant):
        ana = Customer.objects.get(tenant=tenant, email="ana@example.com")
        Customer.objects.filter(pk=ana.pk).update(locale="en")
        sub = Subscription.objects.get(customer=ana)
        assert sub.status == "active"

    # 2. Landed signed in to the portal; sign out.
    page.get_by_role("link", name="Go to your account").click()
    expect(page.locator("h1")).to_have_text("Hello, Ana Souza")
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"/t/{slug}/subscriptions/")
    expect(page.locator(".portal-nav")).to_have_count(0)

    # 3. Back in with the emailed code.
    with smtp_server(settings) as smtp:
        page.goto(f"/t/{slug}/sign-in/")
        page.locator("input[name=email]").fill("ana@example.com")
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/sign-in/code/")
        [message] = smtp.wait_for(1)
    assert message["To"] == "ana@example.com"
    page.locator("input[name=code]").fill(_code(message))
    page.locator("form button[type=submit]").click()
    expect(page.locator(".portal-nav")).to_be_visible()

    # 4. Upgrade to Pro, the preview shown before anything changes.
    page.get_by_test_id("nav-subscriptions").click()
    expect(page.get_by_test_id("portal-subscriptions")).to_contain_text("Basic")
    page.get_by_role("link", name="Manage").click()
    page.get_by_test_id("change-link").click()
    page.select_option("select[name=plan]", pro.public_id)
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-total")).to_contain_text("R$")
    with tenant_context(tenant):
        assert Subscription.objects.get(pk=sub.pk).plan_id == monthly.pk  # not yet
    page.get_by_test_id("confirm-button").click()
    expect(page.locator("h1")).to_contain_text("Pro")
    with tenant_context(tenant):
        assert Subscription.objects.get(pk=sub.pk).plan.code == "pro"

    # 5. Pause, then resume.
    page.get_by_test_id("pause-button").click()
    expect(page.get_by_test_id("pause-scheduled")).to_be_visible()
    page.get_by_test_id("resume-button").click()
    expect(page.get_by_test_id("pause-scheduled")).to_have_count(0)

    # 6. Cancel: a reason, the retention coupon offered and declined, at period end.
    page.get_by_test_id("cancel-link").click()
    page.select_option("select[name=reason]", "too_expensive")
    page.get_by_test_id("cancel-continue").click()
    expect(page.get_by_test_id("retention-offer")).to_contain_text("50% off to stay")
    page.get_by_test_id("decline-offer").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("cancel-scheduled")).to_be_visible()
    with tenant_context(tenant):
        assert ScheduledChange.objects.filter(
            subscription_id=sub.pk, kind="cancel", status="pending"
        ).exists()

    # 7. Undo it: the subscription renews as before.
    page.get_by_test_id("undo-cancel").click()
    expect(page.get_by_test_id("cancel-scheduled")).to_have_count(0)
    with tenant_context(tenant):
        assert not ScheduledChange.objects.filter(subscription_id=sub.pk, status="pending").exists()
        assert Subscription.objects.get(pk=sub.pk).status == "active"
