"""A subscriber manages a subscription in the portal, in headless Chromium:
upgrades with the exact preview shown, pauses, resumes, starts to cancel, is
offered the retention coupon, declines, cancels at period end and undoes it;
then pays an open invoice with a 3-D Secure card. Every page is photographed
in pt-BR, en and ro at phone and desktop widths (issue 14, items 3 and 4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from billing import subscriptions as billing_subs
from billing.coupons import coupon_create
from billing.models import Invoice, PlanPortalOptions
from billing.services import invoice_mark_paid
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_url
from subscriptions.models import Plan, ScheduledChange, Subscription
from subscriptions.services import ProrationBehavior
from tests.e2e.conftest import ARTIFACTS
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.e2e
WIDTHS = {"desktop": 1280, "phone": 390}
LANGS = ["pt-br", "en", "ro"]


def _shots(page: Page, customer: Customer, name: str) -> None:
    """The current page in every language and width, under test-artifacts/e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = page.url
    origin = url.split("/t/")[0]
    for lang in LANGS:
        # The subscriber's locale and, until the portal reads it (issue 14
        # item 2), the language cookie the language switcher sets.
        Customer.objects.filter(pk=customer.pk).update(locale=lang)
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": origin}])
        page.goto(url)
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(
                path=str(ARTIFACTS / f"portal-{name}-{lang}-{label}.png"), full_page=True
            )
    Customer.objects.filter(pk=customer.pk).update(locale="en")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": origin}])
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(url)


def _enter(page: Page, customer: Customer, where: str) -> None:
    url = portal_url(customer)
    page.goto(url[url.index("/t/") :])
    page.goto(f"/t/{customer.tenant.slug}/{where}/")


def test_subscriber_upgrades_pauses_resumes_and_cancels_through_the_flow(page: Page) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic", max_pauses=2, max_pause_cycles=3)
        pro = w.plan("pro", 25_000, name="Pro")
        coupon = coupon_create(
            tenant=w.tenant,
            code="STAY50",
            name="50% off",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("50"),
            duration="repeating",
            duration_cycles=3,
        )
        for code in ("basic", "pro"):
            PlanPortalOptions.objects.create(
                tenant=w.tenant, plan_code=code, offer="coupon", offer_coupon=coupon
            )
        ana = w.customer("Ana Souza")
        Customer.objects.filter(pk=ana.pk).update(locale="en", email="ana@example.com")
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=ana,
            kind="card",
            gateway="sandbox",
            token="tok",
            brand="visa",
            last4="4242",
            is_default=True,
        )
        sub = w.subscribe(basic, ana)
        for invoice in w.invoices(sub):
            invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        w.advance(utc(2026, 3, 25, 12))  # half way through the period: a real proration

        _enter(page, ana, "subscriptions")
        expect(page.get_by_test_id("portal-subscriptions")).to_contain_text("Basic")
        _shots(page, ana, "subscriptions")
        page.get_by_role("link", name="Manage").click()
        expect(page.get_by_test_id("next-charge")).to_be_visible()
        _shots(page, ana, "subscription")

        # Upgrade, the exact preview first.
        page.get_by_test_id("change-link").click()
        page.select_option("select[name=plan]", pro.public_id)
        page.get_by_test_id("preview-button").click()
        expected = billing_subs.subscription_preview_change(
            tenant=w.tenant,
            subscription=Subscription.objects.get(pk=sub.pk),
            now=w.now,
            plan=pro,
            quantity=1,
            when="now",
            proration=ProrationBehavior.NEXT_INVOICE,
        )
        total = page.get_by_test_id("preview-total")
        expect(total).to_be_visible()
        assert expected.total_minor > 0
        digits = f"{expected.total_minor // 100}.{expected.total_minor % 100:02d}"
        expect(total).to_contain_text(digits)
        page.get_by_test_id("confirm-button").click()
        expect(page.locator("h1")).to_contain_text("Pro")
        assert Subscription.objects.get(pk=sub.pk).plan_id == pro.pk

        # Pause, then resume.
        Plan.objects.filter(pk=pro.pk).update(max_pauses=1, max_pause_cycles=2)  # Pro may pause
        page.reload()
        page.get_by_test_id("pause-button").click()
        expect(page.get_by_test_id("pause-scheduled")).to_be_visible()
        page.get_by_test_id("resume-button").click()
        expect(page.get_by_test_id("pause-scheduled")).to_have_count(0)

        # Cancel: reason, comment, the coupon offered and declined, at period end.
        page.get_by_test_id("cancel-link").click()
        page.select_option("select[name=reason]", "too_expensive")
        page.fill("textarea[name=comment]", "Too much for me right now")
        _shots(page, ana, "cancel-reason")
        page.get_by_test_id("cancel-continue").click()
        offer = page.get_by_test_id("retention-offer")
        expect(offer).to_contain_text("50% off")
        page.screenshot(path=str(ARTIFACTS / "portal-cancel-offer-en-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 800})
        page.screenshot(path=str(ARTIFACTS / "portal-cancel-offer-en-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_test_id("decline-offer").click()
        expect(page.get_by_test_id("cancel-summary")).to_be_visible()
        page.get_by_test_id("confirm-cancel").click()
        expect(page.get_by_test_id("cancel-scheduled")).to_be_visible()
        assert ScheduledChange.objects.filter(
            subscription=sub, kind="cancel", status="pending"
        ).exists()
        _shots(page, ana, "subscription-canceling")
        page.get_by_test_id("undo-cancel").click()
        expect(page.get_by_test_id("cancel-scheduled")).to_have_count(0)
        assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()


def test_subscriber_pays_an_open_invoice_with_a_3d_secure_card(page: Page) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        plan = w.plan("basic", 10_000, name="Basic")
        ana = w.customer("Ana Souza")
        Customer.objects.filter(pk=ana.pk).update(locale="en")
        sub = w.subscribe(plan, ana)
        [invoice] = w.invoices(sub)
        assert invoice.status == Invoice.Status.OPEN
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=ana,
            kind="card",
            gateway="sandbox",
            token="tok_sandbox_authenticate_e2e",
            brand="visa",
            last4="3155",
        )
        _enter(page, ana, "invoices")
        page.goto(f"/t/{w.tenant.slug}/invoices/{invoice.public_id}/")
        expect(page.get_by_test_id("amount-due")).to_contain_text("100.00")
        _shots(page, ana, "invoice-open")
        page.get_by_test_id("pay-button").click()
        expect(page.get_by_test_id("status")).to_have_text("requires_action")
        page.get_by_role("button", name="Approve").click()
        page.get_by_test_id("return").click()
        expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        _shots(page, ana, "invoice-paid")


def test_subscriber_sees_the_credit_of_a_pause_now_then_pauses_and_picks_a_resume_date(
    page: Page,
) -> None:
    # Issue 16: pause now, mid-period, the credit shown before confirming.
    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic", max_pauses=1, max_pause_cycles=3)
        ana = w.customer("Ana Souza")
        Customer.objects.filter(pk=ana.pk).update(locale="en", email="ana@example.com")
        sub = w.subscribe(basic, ana, collection_method="send_invoice")
        for invoice in w.invoices(sub):
            invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        w.advance(utc(2026, 3, 20, 12))
        _enter(page, ana, f"subscriptions/{sub.public_id}")

        # Mar 20 .. Apr 9 = 21 of 31 days: 10000 × 21/31 = 6774.19 → 6774
        page.check("input[name=when][value=now]")
        page.get_by_test_id("pause-preview-button").click()
        expect(page.get_by_test_id("pause-preview")).to_contain_text("67.74")
        assert Subscription.objects.get(pk=sub.pk).status == "active"
        # The preview is the answer to a POST: photographed as it is (no reload).
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "portal-pause-now-preview-en-desktop.png"))
        page.check("input[name=when][value=now]")
        page.get_by_test_id("pause-button").click()
        expect(page.get_by_test_id("paused-until")).to_be_visible()
        assert Subscription.objects.get(pk=sub.pk).status == "paused"

        page.fill("input[name=resume_on]", "2026-04-25")
        page.get_by_test_id("resume-button").click()
        expect(page.get_by_test_id("paused-until")).to_be_visible()
        assert Subscription.objects.get(pk=sub.pk).current_period_end == utc(2026, 4, 25, 3)
