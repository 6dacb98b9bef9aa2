"""The catalog in a real browser: a merchant signs in, creates a tax rate, a
product, a plan with a setup fee and that tax rate, and a coupon, then reads the
pages in English and Portuguese at desktop and phone widths.

With ``CICLO_ARTIFACTS_DIR`` set, every page is kept as
``<dir>/screens/catalog-<page>-<language>-<width>.png`` to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_tenant
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 390)


def _shoot(page: Page, name: str, language: str) -> None:
    target = os.environ.get("CICLO_ARTIFACTS_DIR")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        # Nothing of these pages may stick out sideways on a phone (the header is
        # base.html's, being replaced by a sidebar): wide tables scroll in their box.
        overflow = page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('main.page *')]
                .filter(el => !el.closest('.table-wrap'))
                .map(el => el.getBoundingClientRect().right)) - window.innerWidth"""
        )
        assert overflow <= 0, f"{name} is {overflow}px too wide at {width}px ({language})"
        if target:
            screens = Path(target) / "screens"
            screens.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(screens / f"catalog-{name}-{language}-{width}.png"), full_page=True
            )
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_merchant_builds_a_catalog(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    log_in(page, "owner@acme.example")

    page.goto("/dashboard/catalog/")
    expect(page.get_by_text("Nothing to sell yet")).to_be_visible()
    _shoot(page, "empty", "en")

    # A tax rate, so the plan can carry it.
    page.get_by_role("link", name="Tax rates").first.click()
    page.get_by_role("link", name="New tax rate").click()
    page.fill("input[name=name]", "ISS")
    page.fill("input[name=percent]", "5")
    page.get_by_role("button", name="Create tax rate").click()
    expect(page.locator("table")).to_contain_text("ISS")
    expect(page.locator("table")).to_contain_text("5 %")

    # A product, then its plan: the product is picked already.
    page.goto("/dashboard/catalog/")
    page.get_by_role("link", name="Create your first product").click()
    page.fill("input[name=name]", "Revista Digital")
    page.fill("textarea[name=description]", "A monthly magazine")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".msg.success")).to_contain_text("Now add a plan")
    expect(page.locator("select[name=product]")).to_have_value(
        page.locator("select[name=product] option").first.get_attribute("value") or ""
    )
    # A bad amount first: the error is next to the field, the rest is kept.
    page.fill("input[name=name]", "Mensal")
    page.fill("input[name=code]", "mensal")
    page.fill("input[name=amount]", "29,90")
    page.fill("input[name=setup_fee]", "9.90")
    page.select_option("select[name=tax_rate]", label="ISS (5 %)")
    page.fill("input[name=ent_0_key]", "issues")
    page.fill("input[name=ent_0_value]", "12")
    page.get_by_role("button", name="Create plan").click()
    expect(page.locator("#id_amount_error")).to_contain_text("29.90")
    _shoot(page, "plan-form-error", "en")
    page.fill("input[name=amount]", "29.90")
    page.get_by_role("button", name="Create plan").click()

    expect(page.get_by_test_id("current-price")).to_contain_text("R$29.90")
    expect(page.locator("dl.facts")).to_contain_text("R$9.90")
    expect(page.locator("dl.facts")).to_contain_text("ISS")
    expect(page.locator("dl.facts")).to_contain_text("issues=12")
    _shoot(page, "plan", "en")

    # A coupon for that plan.
    page.goto("/dashboard/catalog/coupons/")
    expect(page.get_by_text("No coupons yet")).to_be_visible()
    page.get_by_role("link", name="New coupon").click()
    page.fill("input[name=code]", "BEMVINDO")
    page.fill("input[name=percent_off]", "10")
    page.select_option("select[name=duration]", "repeating")
    page.fill("input[name=duration_cycles]", "3")
    page.check("input[name=plan_codes][value=mensal]")
    _shoot(page, "coupon-form", "en")
    page.get_by_role("button", name="Create coupon").click()
    row = page.get_by_test_id("coupon-BEMVINDO")
    expect(row).to_contain_text("10 %")
    expect(row).to_contain_text("3 cycles")
    expect(row).to_contain_text("mensal")
    _shoot(page, "coupons", "en")

    page.goto("/dashboard/catalog/")
    expect(page.locator("table.plans")).to_contain_text("R$29.90")
    expect(page.locator("table.plans")).to_contain_text("every month")
    _shoot(page, "overview", "en")
    for name, path in (("tax-rates", "tax-rates/"), ("sellers", "sellers/")):
        page.goto(f"/dashboard/catalog/{path}")
        _shoot(page, name, "en")
    page.goto("/dashboard/catalog/plans/new/")
    _shoot(page, "plan-form", "en")

    # In Portuguese: money is typed and shown the Brazilian way.
    page.context.add_cookies(
        [{"name": "django_language", "value": "pt-br", "url": live_server.url}]
    )
    page.goto("/dashboard/catalog/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page.locator("table.plans")).to_contain_text("R$\u00a029,90")
    _shoot(page, "overview", "pt-br")
    page.locator("table.plans a").first.click()
    page.fill("input[name=amount]", "34,90")
    page.locator("form[action$='/price/'] button").click()
    expect(page.get_by_test_id("current-price")).to_contain_text("R$\u00a034,90")
    _shoot(page, "plan", "pt-br")
    for name, path in (
        ("coupons", "coupons/"),
        ("tax-rates", "tax-rates/"),
        ("sellers", "sellers/"),
        ("plan-form", "plans/new/"),
        ("coupon-form", "coupons/new/"),
    ):
        page.goto(f"/dashboard/catalog/{path}")
        _shoot(page, name, "pt-br")
