"""The hosted checkout in headless Chromium: a visitor subscribes to a monthly
plan with a setup fee, applies a coupon (the total refreshes), pays with a
sandbox card and lands signed in to the portal; a declined card; 3-D Secure.
Screenshots of the checkout in en, pt-BR and ro at 390 and 1280 px."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, Request, Response, expect

from billing.coupons import coupon_create
from customers.models import Customer
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.e2e.conftest import ARTIFACTS, DEFAULT_TIMEOUT_MS
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.e2e
NOW = utc(2026, 6, 1, 15)


def _shop() -> tuple[Tenant, Plan]:
    with world(NOW, locale="en") as w:
        plan = w.plan(
            "monthly", amount=5_000, setup_fee_minor=2_000, pricing_model="per_seat", name="Pro"
        )
        coupon_create(
            tenant=w.tenant,
            code="HALF",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("50"),
            plan_codes=["monthly"],
        )
    return w.tenant, plan


def _card(page: Page, number: str) -> None:
    page.fill("#card-number", number)
    page.fill("#card-exp", "12/31")
    page.fill("#card-cvc", "123")


def _details(page: Page) -> None:
    page.fill("#f-name", "Ana Souza")
    page.fill("#f-email", "ana@example.com")
    page.fill("#f-tax-id", "529.982.247-25")


def test_visitor_applies_a_coupon_pays_by_card_and_lands_in_the_portal(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    tenant, plan = _shop()
    posts: list[str] = []

    def remember(request: Request) -> None:
        if request.method == "POST" and "/checkout/" in request.url:
            posts.append(request.post_data or "")

    page.on("request", remember)
    page.goto(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    expect(page.get_by_test_id("plan-name")).to_have_text("Pro")
    expect(page.get_by_test_id("total-now")).to_have_text("R$70.00")
    page.fill("#f-coupon", "HALF")
    expect(page.get_by_test_id("total-now")).to_have_text("R$45.00")
    expect(page.get_by_test_id("next-charge")).to_contain_text("R$50.00")
    page.fill("#f-coupon", "NOPE")
    expect(page.locator("[data-quote-error=coupon]")).to_be_visible()
    page.fill("#f-coupon", "HALF")
    expect(page.get_by_test_id("total-now")).to_have_text("R$45.00")
    _details(page)
    _card(page, "4242 4242 4242 4242")
    with page.expect_navigation(url=f"**/t/{tenant.slug}/checkout/done/"):
        page.click("#card-setup button[type=submit]")
    expect(page.get_by_test_id("paid")).to_contain_text("R$45.00")
    assert len(posts) == 1
    assert "4242" not in posts[0]
    page.get_by_role("link", name="Go to your account").click()
    expect(page.locator("body")).to_contain_text("Pro")
    with tenant_context(tenant):
        customer = Customer.objects.get(tenant=tenant)
        assert Subscription.objects.get(customer=customer).status == "active"


def test_a_declined_card_shows_the_message_and_a_3ds_card_completes(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    tenant, plan = _shop()
    page.goto(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    _details(page)
    _card(page, "4000 0000 0000 0002")
    with page.expect_navigation():
        page.click("#card-setup button[type=submit]")
    expect(page.locator("[data-error=card]")).to_contain_text("do not honour")
    expect(page.locator("#f-email")).to_have_value("ana@example.com")
    with tenant_context(tenant):
        assert not Customer.objects.filter(tenant=tenant).exists()

    _card(page, "4000 0025 0000 3155")
    with page.expect_navigation(url="**/sandbox/authenticate/**"):
        page.click("#card-setup button[type=submit]")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    with page.expect_navigation(url=f"**/t/{tenant.slug}/checkout/done/"):
        page.get_by_test_id("continue").click()
    expect(page.get_by_test_id("paid")).to_be_visible()
    with tenant_context(tenant):
        assert Subscription.objects.get(tenant=tenant).status == "active"


def test_checkout_screens_in_three_languages_on_phone_and_desktop(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    tenant, plan = _shop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for locale, lang in (("en-US", "en"), ("pt-BR", "pt-BR"), ("ro-RO", "ro")):
        for width, height in ((1280, 800), (390, 844)):
            context = browser.new_context(
                base_url=live_server.url, locale=locale, viewport={"width": width, "height": height}
            )
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            page = context.new_page()
            page.goto(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
            page.fill("#f-coupon", "HALF")
            expect(page.get_by_test_id("total-now")).to_have_attribute("data-minor", "4500")
            page.screenshot(
                path=str(ARTIFACTS / f"checkout-hosted-{lang}-{width}.png"), full_page=True
            )
            context.close()


def test_a_boleto_checkout_shows_the_slip_and_waits_for_the_payment(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    tenant, plan = _shop()
    page.goto(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    _details(page)
    page.get_by_label("Boleto").check()
    expect(page.locator("#card-fields")).to_be_hidden()
    # Without the billing address the bank cannot issue the slip: refused, kept.
    with page.expect_navigation():
        page.click("#card-setup button[type=submit]")
    expect(page.locator("[data-error=address]")).to_be_visible()
    expect(page.locator("#f-email")).to_have_value("ana@example.com")
    page.fill("#id_address_postal_code", "01310-100")
    page.fill("#id_address_line1", "Avenida Paulista")
    page.fill("#id_address_number", "1000")
    page.fill("#id_address_district", "Bela Vista")
    page.fill("#id_address_city", "São Paulo")
    page.fill("#id_address_state", "SP")
    with page.expect_navigation(url=f"**/t/{tenant.slug}/checkout/done/"):
        page.click("#card-setup button[type=submit]")
    expect(page.get_by_test_id("boleto")).to_contain_text("R$70.00")
    link = page.get_by_test_id("boleto-link")
    href = link.get_attribute("href") or ""
    assert href.startswith("/sandbox/boleto/")
    assert page.request.get(href).headers["content-type"] == "application/pdf"
    with tenant_context(tenant):
        assert Subscription.objects.get(tenant=tenant).status == "incomplete"
        assert Customer.objects.get(tenant=tenant).address["postal_code"] == "01310100"


def test_the_hosted_checkout_with_everything_it_loads_weighs_under_200_kb(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    """Every same-origin response the browser fetches for the page (HTML, CSS,
    scripts, images, the quote htmx loads) counted by its body; a gateway's
    own script would come from its origin and is not counted."""
    tenant, plan = _shop()
    origin = live_server.url
    sizes: dict[str, int] = {}
    other_origins: list[str] = []

    def weigh(response: Response) -> None:
        if response.url.startswith(origin):
            sizes[response.url] = len(response.body())
        elif not response.url.startswith("data:"):
            other_origins.append(response.url)

    page.on("response", weigh)
    page.goto(f"/t/{tenant.slug}/checkout/{plan.public_id}/", wait_until="networkidle")
    page.fill("#f-coupon", "HALF")
    expect(page.get_by_test_id("total-now")).to_have_attribute("data-minor", "4500")
    page.wait_for_load_state("networkidle")
    kinds = {url.rsplit(".", 1)[-1] for url in sizes if "/static/" in url}
    assert {"css", "js"} <= kinds, sizes
    assert any("/quote/" in url for url in sizes)  # what htmx fetched counts too
    assert other_origins == []
    total = sum(sizes.values())
    assert 10_000 < total < 200 * 1024, sizes


def test_a_price_table_side_by_side_stacks_on_a_phone_and_leads_to_checkout(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    from checkout.price_tables import price_table_create

    with world(NOW, locale="en") as w:
        plans = [
            w.plan("basic", amount=2_990, name="Basic"),
            w.plan("pro", amount=5_990, name="Pro"),
            w.plan("team", amount=9_990, name="Team"),
        ]
        table = price_table_create(
            tenant=w.tenant,
            actor=ACTOR,
            now=w.now,
            name="Plans",
            plans=[p.public_id for p in plans],
            highlighted=plans[1].public_id,
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tops: dict[int, set[float]] = {}
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(
            base_url=live_server.url, locale="pt-BR", viewport={"width": width, "height": height}
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"/t/{w.tenant.slug}/checkout/pricing/{table.public_id}/")
        columns = page.get_by_test_id("price-column")
        expect(columns).to_have_count(3)
        boxes = [columns.nth(i).bounding_box() for i in range(3)]
        tops[width] = {round(box["y"]) for box in boxes if box}
        page.screenshot(
            path=str(ARTIFACTS / f"checkout-price-table-pt-BR-{width}.png"), full_page=True
        )
        if width == 390:
            with page.expect_navigation(url=f"**/checkout/{plans[1].public_id}/"):
                columns.nth(1).get_by_test_id("choose-plan").click()
            expect(page.get_by_test_id("plan-name")).to_have_text("Pro")
        context.close()
    assert len(tops[1280]) == 1  # one row, side by side
    assert len(tops[390]) == 3  # stacked
