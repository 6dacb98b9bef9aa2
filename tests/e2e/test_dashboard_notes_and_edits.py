"""Headless Chromium over the customer address and notes and the plan and coupon
edit pages: the note is added through htmx without a page load, errors land next
to the field, and the new pages fit a phone (no sideways scrolling at 390 px).
Screenshots go to $CICLO_ARTIFACTS_DIR/screens/ when it is set."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing.coupons import coupon_create
from core import clock
from subscriptions.services import plan_create, product_create
from tenants.context import tenant_context
from tests.conftest import make_tenant
from tests.e2e.conftest import log_in
from tests.support.billing import ACTOR

pytestmark = pytest.mark.e2e


def _screens(page: Page, name: str) -> None:
    target = os.environ.get("CICLO_ARTIFACTS_DIR")
    if not target:
        return
    folder = Path(target) / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, f"{page.url} scrolls sideways at 390 px ({width} px wide)"


def test_address_and_notes_on_a_customer_and_the_catalog_edits(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    setup = make_tenant("acme")
    with tenant_context(setup.tenant):
        product = product_create(tenant=setup.tenant, name="Revista", actor=ACTOR, now=clock.now())
        plan = plan_create(
            tenant=setup.tenant,
            product=product,
            code="mensal",
            name="Mensal",
            currency="BRL",
            amount_minor=2990,
            entitlements={"seats": 3},
            actor=ACTOR,
            now=clock.now(),
        )
        coupon = coupon_create(
            tenant=setup.tenant,
            code="DEZ",
            percent_off=Decimal(10),
            actor=ACTOR,
            now=clock.now(),
        )
    log_in(page, "owner@acme.example")

    # A customer with a billing address: the CEP is typed with its mask.
    page.goto("/dashboard/customers/new/")
    page.fill("input[name=name]", "Maria Oliveira")
    page.fill("input[name=tax_id]", "52998224725")
    page.fill("input[name=address_postal_code]", "01310-100")
    page.fill("input[name=address_line1]", "Avenida Paulista")
    page.fill("input[name=address_number]", "1000")
    page.fill("input[name=address_city]", "São Paulo")
    page.fill("input[name=address_state]", "XX")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_test_id("error-address_state")).to_be_visible()
    page.fill("input[name=address_state]", "sp")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_test_id("address")).to_contain_text("Avenida Paulista, 1000")
    expect(page.get_by_test_id("address")).to_contain_text("São Paulo – SP")
    expect(page.get_by_test_id("address")).to_contain_text("01310-100")
    detail_url = page.url

    # A note through htmx: no page load, the card swaps in place.
    page.evaluate("window.__same_page = true")
    page.get_by_test_id("note-form").locator("textarea").fill("Prefers boleto.\nCall after 14h.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_test_id("note-list")).to_contain_text("Prefers boleto.")
    expect(page.get_by_test_id("note-list")).to_contain_text("owner@acme.example")
    assert page.evaluate("window.__same_page") is True
    # An empty note: the error next to the field, still without a page load.
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_test_id("error-text")).to_be_visible()
    assert page.evaluate("window.__same_page") is True
    page.reload()
    expect(page.get_by_test_id("timeline")).to_contain_text("Prefers boleto.")

    pages = {
        "customer": detail_url,
        "customer-edit": detail_url + "edit/",
        "plan-edit": f"/dashboard/catalog/plans/{plan.public_id}/edit/",
        "coupon-edit": f"/dashboard/catalog/coupons/{coupon.public_id}/edit/",
        "plan": f"/dashboard/catalog/plans/{plan.public_id}/",
    }
    for width_name, (width, height) in {"desktop": (1280, 800), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, path in pages.items():
            page.goto(path)
            _screens(page, f"edits-{name}-en-{width_name}")
            if width_name == "phone":
                _fits_a_phone(page)

    # Edit the plan (not its price) and archive it.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(pages["plan-edit"])
    expect(page.locator("input[name=ent_0_key]")).to_have_value("seats")
    page.fill("input[name=name]", "Mensal Plus")
    page.fill("input[name=trial_days]", "7")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("main h1")).to_contain_text("Mensal Plus")
    expect(page.get_by_test_id("current-price")).to_contain_text("R$29.90")
    with page.expect_navigation():
        page.get_by_test_id("plan-archive").click()
    expect(page.get_by_test_id("plan-archived")).to_be_visible()

    # Edit the coupon's rules; its discount is shown, not editable.
    page.goto(pages["coupon-edit"])
    expect(page.get_by_test_id("coupon-discount")).to_contain_text("10 %")
    page.fill("input[name=max_redemptions]", "50")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("coupon-DEZ")).to_contain_text("0 / 50")
