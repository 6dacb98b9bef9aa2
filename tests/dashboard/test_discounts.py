# ruff: noqa: F811  (the ``shop`` and ``other`` fixtures come from test_subscriptions)
"""Discounts in the dashboard: a coupon applied to or removed from a
subscription (the exact preview of "now" first) and a customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.coupons import coupon_create
from billing.models import CouponRedemption, Invoice
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tests.dashboard.test_subscriptions import Shop, _state, other, shop  # noqa: F401
from tests.support.billing import ACTOR, utc


def _coupon(s: Shop, code: str, **kw: Any) -> None:
    coupon_create(tenant=s.w.tenant, code=code, actor=ACTOR, now=s.w.now, **kw)


def test_apply_now_shows_the_exact_preview_then_invoices_it(shop: Shop) -> None:
    _coupon(shop, "TWENTY", percent_off=Decimal("20"), duration="forever")
    shop.w.advance(utc(2026, 3, 25, 12))
    before = _state(shop)
    data = {"action": "apply", "coupon": "TWENTY", "proration": "now"}

    response = shop.owner.post(shop.url("discount/"), {**data, "preview": "1"})

    assert response.status_code == 200
    preview = response.context["preview"]
    # Mar 25 .. Apr 9 remain: 16 of 31 days. 10000 × 16/31 = 5161.29 → 5161; 20% = 1032
    assert [(ln.kind, ln.amount_minor, ln.discount_minor) for ln in preview.lines] == [
        ("proration", -5_161, 0),
        ("proration", 5_161, 1_032),
        ("credit_carried", 1_032, 0),
    ]
    assert (preview.total_minor, preview.credit_carried_minor) == (0, 1_032)
    assert 'data-testid="preview-credit"' in response.content.decode()
    assert _state(shop) == before  # a preview changes nothing
    assert not CouponRedemption.objects.exists()

    response = shop.owner.post(shop.url("discount/"), {**data, "confirm": "1"})

    assert response.status_code == 302
    update = Invoice.objects.get(subscription=shop.sub, billing_reason="subscription_update")
    written = [(ln.kind, ln.amount_minor, ln.discount_minor) for ln in update.lines.all()]
    assert written == [(ln.kind, ln.amount_minor, ln.discount_minor) for ln in preview.lines]
    page = shop.owner.get(shop.url()).content.decode()
    assert 'data-testid="discount-link"' in page
    assert "TWENTY" in page


def test_apply_from_next_invoice_then_remove(shop: Shop) -> None:
    _coupon(shop, "TEN", percent_off=Decimal("10"), duration="forever")

    applied = shop.owner.post(
        shop.url("discount/"),
        {"action": "apply", "coupon": "TEN", "proration": "next_invoice", "confirm": "1"},
    )
    removed = shop.owner.post(
        shop.url("discount/"),
        {"action": "remove", "proration": "next_invoice", "confirm": "1"},
    )

    assert (applied.status_code, removed.status_code) == (302, 302)
    redemption = CouponRedemption.objects.get(subscription=shop.sub)
    assert redemption.ended_at is not None
    assert Invoice.objects.filter(subscription=shop.sub).count() == 1


def test_bad_input_is_an_error_next_to_the_field(shop: Shop) -> None:
    _coupon(shop, "GOLDONLY", percent_off=Decimal("10"), plan_codes=["gold"])
    _coupon(shop, "OLD", percent_off=Decimal("10"), redeem_by=utc(2026, 1, 1))
    before = _state(shop)

    for data in (
        {"action": "apply", "coupon": "NOPE", "proration": "now", "confirm": "1"},
        {"action": "apply", "coupon": "GOLDONLY", "proration": "now", "confirm": "1"},
        {"action": "apply", "coupon": "OLD", "proration": "next_invoice", "confirm": "1"},
        {"action": "apply", "coupon": "", "proration": "now", "confirm": "1"},
        {"action": "apply", "coupon": "NOPE", "proration": "later", "confirm": "1"},
        {"action": "explode", "coupon": "GOLDONLY", "proration": "now", "confirm": "1"},
    ):
        response = shop.owner.post(shop.url("discount/"), data)
        assert response.status_code == 400, data
        assert response.context["form"].errors, data

    assert _state(shop) == before
    assert not CouponRedemption.objects.exists()


def test_customer_discount_applied_and_shown(shop: Shop) -> None:
    _coupon(shop, "LOYAL", percent_off=Decimal("5"), duration="forever")
    customer = shop.sub.customer
    url = f"/dashboard/customers/{customer.public_id}/discount/"

    bad = shop.owner.post(url, {"action": "apply", "coupon": "NOPE"})
    good = shop.owner.post(url, {"action": "apply", "coupon": "LOYAL"})

    assert bad.status_code == 400
    assert "coupon" in bad.context["form"].errors
    assert good.status_code == 302
    page = shop.owner.get(f"/dashboard/customers/{customer.public_id}/").content.decode()
    assert 'data-testid="customer-discount"' in page
    assert "LOYAL" in page
    redemption = CouponRedemption.objects.get(customer=customer)
    assert redemption.subscription_id is None


def test_another_tenants_subscription_and_customer_are_404(
    shop: Shop,
    other: dict[str, Any],
) -> None:
    with tenant_context(other["tenant"]):
        theirs = Subscription.objects.select_related("customer").get(pk=other["sub"].pk)
    sub_url = f"/dashboard/subscriptions/{theirs.public_id}/discount/"
    customer_url = f"/dashboard/customers/{theirs.customer.public_id}/discount/"
    body = {"action": "remove", "proration": "now", "confirm": "1"}

    assert shop.owner.get(sub_url).status_code == 404
    assert shop.owner.post(sub_url, body).status_code == 404
    assert shop.owner.get(customer_url).status_code == 404
    assert shop.owner.post(customer_url, {"action": "remove"}).status_code == 404
    with tenant_context(other["tenant"]):
        assert not CouponRedemption.objects.exists()
