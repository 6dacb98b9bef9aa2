"""The customers slice of the dashboard in headless Chromium: create a customer, find
them by CPF in the global search, open the detail, adjust the balance; screenshots in
English and Portuguese at a desktop and a phone width (CICLO_ARTIFACTS_DIR=test-artifacts
keeps them under test-artifacts/screens/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_tenant
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def _screens(page: Page, name: str) -> None:
    target = os.environ.get("CICLO_ARTIFACTS_DIR")
    if not target:
        return
    folder = Path(target) / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_merchant_creates_finds_and_credits_a_customer(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    log_in(page, "owner@acme.example")

    # The sidebar leads to the customers list, empty at first.
    page.locator(".sidebar").get_by_role("link", name="Customers").click()
    expect(page.locator("main h1")).to_have_text("Customers")
    expect(page.get_by_test_id("empty-customers")).to_contain_text("No customers yet.")

    page.get_by_test_id("new-customer").click()
    page.fill("input[name=name]", "Maria Oliveira")
    page.fill("input[name=email]", "maria@example.com")
    page.fill("input[name=tax_id]", "52998224725")
    page.fill("input[name=phone]", "11 98765-4321")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("Maria Oliveira")
    expect(page.get_by_test_id("tax-id")).to_have_text("529.982.247-25")
    detail_url = page.url

    # The global search finds her by the CPF, typed with its mask.
    page.get_by_test_id("global-search").fill("529.982.247-25")
    with page.expect_navigation():
        page.get_by_test_id("global-search").press("Enter")
    results = page.get_by_test_id("result-customers")
    expect(results).to_contain_text("Maria Oliveira")
    expect(results).to_contain_text("529.982.247-25")
    results.get_by_role("link", name="Maria Oliveira").click()
    expect(page).to_have_url(detail_url)

    # A credit with a reason lands in the balance, the ledger and the timeline.
    page.fill("input[name=amount]", "25.50")
    page.fill("input[name=reason]", "Goodwill for the outage")
    with page.expect_navigation():
        page.get_by_role("button", name="Adjust balance").click()
    expect(page.locator(".msg.success")).to_contain_text("Balance adjusted: now R$25.50.")
    expect(page.get_by_test_id("balance-BRL")).to_have_text("R$25.50")
    expect(page.get_by_test_id("ledger")).to_contain_text("Goodwill for the outage")
    expect(page.get_by_test_id("timeline")).to_contain_text("Goodwill for the outage")

    # A bad amount is refused next to its field.
    page.fill("input[name=amount]", "0")
    page.fill("input[name=reason]", "Nothing")
    with page.expect_navigation():
        page.get_by_role("button", name="Adjust balance").click()
    expect(page.get_by_test_id("error-amount")).to_be_visible()
    expect(page.get_by_test_id("ledger")).not_to_contain_text("Nothing")

    # The live search narrows the table without a page load.
    page.goto("/dashboard/customers/")
    page.get_by_test_id("customer-search").fill("nobody-here")
    expect(page.get_by_test_id("no-match")).to_be_visible()
    page.get_by_test_id("customer-search").fill("maria")
    expect(page.get_by_test_id("customer-table")).to_contain_text("Maria Oliveira")

    pages = {
        "customers": "/dashboard/customers/",
        "customer": detail_url,
        "search": "/dashboard/search/?q=52998224725",
        "customer-new": "/dashboard/customers/new/",
    }
    for language in ("en", "pt-br"):
        if language != "en":
            with page.expect_navigation():
                page.select_option("select[name=language]", language)
            expect(page.locator("html")).to_have_attribute("lang", language)
        for width_name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                page.goto(path)
                _screens(page, f"customers-{name}-{language}-{width_name}")
            if width_name == "phone":
                # The sidebar folds into a menu on a phone.
                sidebar = page.locator(".sidebar")
                expect(sidebar).to_be_hidden()
                page.get_by_test_id("menu-toggle").click()
                expect(sidebar).to_be_visible()
                _screens(page, f"customers-menu-open-{language}-phone")
    expect(page.get_by_test_id("balance-BRL")).to_have_count(0)  # last page: the form
    page.goto(detail_url)
    expect(page.get_by_test_id("balance-BRL")).to_have_text("R$ 25,50")
