"""A merchant applies a coupon to a live subscription now, with the exact
preview of what is credited, then puts a coupon on the customer (issue 16,
lifecycle 3)."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from billing.coupons import coupon_create
from billing.models import CouponRedemption, Invoice
from tests.e2e.conftest import log_in
from tests.support.billing import ACTOR, utc, world


def test_merchant_applies_a_coupon_now_with_the_preview(page: Page) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic")
        customer = w.customer("Ana Souza")
        sub = w.subscribe(basic, customer, collection_method="send_invoice")
        coupon_create(
            tenant=w.tenant,
            code="TWENTY",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("20"),
            duration="forever",
        )
        coupon_create(
            tenant=w.tenant, code="LOYAL", actor=ACTOR, now=w.now, percent_off=Decimal("5")
        )
        w.advance(utc(2026, 3, 25, 12))

        log_in(page, "owner@acme.example")
        page.goto(f"/dashboard/subscriptions/{sub.public_id}/")
        page.get_by_test_id("discount-link").click()
        form = page.get_by_test_id("discount-form")
        form.get_by_label("Coupon code").fill("TWENTY")
        form.get_by_label("From").select_option("now")
        page.get_by_test_id("preview-button").click()
        # 16 of 31 days left: 10000 × 16/31 = 5161; 20% = 1032 credited to the balance
        expect(page.get_by_test_id("preview-credit")).to_have_text("R$10.32")
        assert not CouponRedemption.objects.exists()
        page.get_by_test_id("confirm-button").click()
        expect(page.get_by_test_id("current-discount")).to_contain_text("TWENTY")
        update = Invoice.objects.get(subscription=sub, billing_reason="subscription_update")
        carried = update.lines.get(kind="credit_carried")
        assert (update.total_minor, carried.amount_minor) == (0, 1_032)

        page.goto(f"/dashboard/customers/{customer.public_id}/discount/")
        form = page.get_by_test_id("discount-form")
        form.get_by_label("Coupon code").fill("NOPE")
        page.get_by_test_id("confirm-button").click()
        expect(form.locator(".errorlist")).to_be_visible()
        form.get_by_label("Coupon code").fill("LOYAL")
        page.get_by_test_id("confirm-button").click()
        expect(page.get_by_test_id("customer-discount")).to_contain_text("LOYAL")
        assert CouponRedemption.objects.filter(customer=customer, subscription=None).count() == 1
