"""The foundation, driven end to end in headless Chromium against a live server."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_tenant
from tests.e2e.conftest import PASSWORD, clear_login_rate_limits, log_in

pytestmark = pytest.mark.e2e

WRONG_CREDENTIALS = "The email address and/or password you specified are not correct."


def test_owner_signs_in_and_sees_the_empty_dashboard(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")

    page.goto("/accounts/login/")
    expect(page).to_have_title("Sign In · Ciclo")
    expect(page.locator("h1")).to_have_text("Sign In")
    expect(page.locator("input[name=login]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()

    log_in(page, acme.owner.email)

    expect(page).to_have_url(live_server.url + "/")
    expect(page).to_have_title("Overview · Acme")
    expect(page.locator("main h1")).to_have_text("Acme")
    expect(page.locator(".topbar .tenant-name")).to_have_text("Acme")
    expect(page.locator(".topbar .who")).to_have_text("owner@acme.example")
    expect(page.get_by_text("You are signed in as Owner.")).to_be_visible()
    expect(page.get_by_test_id("customer-count")).to_have_text("0")
    empty = page.get_by_test_id("empty-customers")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No customers yet.")
    expect(empty.get_by_role("link", name="Get an API key")).to_have_attribute(
        "href", "/dashboard/api-keys/"
    )


def test_owner_creates_an_api_key_shown_once_that_calls_the_api(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    log_in(page, acme.owner.email)

    page.goto("/dashboard/api-keys/")
    expect(page.locator("main h1")).to_have_text("API keys")
    page.fill("input[name=name]", "E2E integration")
    page.select_option("select[name=kind]", "secret")
    page.select_option("select[name=mode]", "test")
    with page.expect_navigation():
        page.get_by_role("button", name="Create key").click()

    expect(page).to_have_url(live_server.url + "/dashboard/api-keys/")
    expect(page.get_by_test_id("issued-key")).to_contain_text(
        "Copy your new key now. It will not be shown again."
    )
    raw = page.get_by_test_id("raw-key").inner_text().strip()
    assert raw.startswith("sk_test_"), raw
    masked = f"sk_test_…{raw[-4:]}"
    row = page.locator("tbody tr", has_text="E2E integration")
    expect(row.locator("code")).to_have_text(masked)
    expect(row).to_contain_text("active")

    # Reloading shows it no more, and issues no second key (the creating POST redirects).
    page.reload()
    expect(page.locator("main h1")).to_have_text("API keys")
    expect(page.get_by_test_id("raw-key")).to_have_count(0)
    expect(page.get_by_test_id("issued-key")).to_have_count(0)
    assert raw not in page.content()
    row = page.locator("tbody tr", has_text="E2E integration")
    expect(row).to_have_count(1)
    expect(row.locator("code")).to_have_text(masked)
    expect(page.locator("tbody tr")).to_have_count(2)  # plus make_tenant's "test" key

    # The key works against the live server, over real HTTP (the URL is http://localhost:…).
    url = live_server.url + "/api/v1/customers"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {raw}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        body = json.loads(response.read())
    assert body["object"] == "list", body
    assert body["data"] == [], body


def test_language_switch_translates_the_login_page(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Sign In")

    with page.expect_navigation():
        page.select_option("select[name=language]", label="Português Brasileiro")

    expect(page).to_have_url(live_server.url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page.locator("select[name=language]")).to_have_value("pt-br")
    # allauth's own pt_BR catalog translates its login page.
    expect(page.locator("h1")).to_have_text("Entrar")
    expect(page.get_by_role("button", name="Entrar")).to_be_visible()


def test_language_switch_translates_the_dashboard(page: Page) -> None:
    acme = make_tenant("acme")
    log_in(page, acme.owner.email)
    nav_overview = page.locator(".sidebar a").first
    expect(nav_overview).to_have_text("Overview")

    with page.expect_navigation():
        page.select_option("select[name=language]", "pt-br")

    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page.locator("main h1")).to_have_text("Acme")
    # The project's catalog (locale/pt_BR/LC_MESSAGES/django.mo) translates the dashboard.
    expect(nav_overview).to_have_text("Visão geral")
    expect(page.get_by_role("button", name="Sair")).to_be_visible()
    expect(page.get_by_test_id("empty-customers")).to_contain_text("Nenhum cliente ainda.")


def test_wrong_password_shows_the_error_and_stays_on_the_login_page(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    acme = make_tenant("acme")
    email = acme.owner.email
    clear_login_rate_limits(live_server.url, email)
    try:
        log_in(page, email, password=PASSWORD + "-wrong")

        expect(page).to_have_url(live_server.url + "/accounts/login/")
        expect(page.locator(".errorlist.nonfield")).to_have_text(WRONG_CREDENTIALS)
        expect(page.locator("input[name=login]")).to_have_value(email)
        expect(page.locator("input[name=password]")).to_have_value("")
        expect(page.locator(".topbar .who")).to_have_count(0)
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        # Still signed out: the dashboard sends the browser back to the login page. (A second
        # tab of the same browser, so the screenshot keeps the error.)
        other = page.context.new_page()
        other.goto("/")
        expect(other).to_have_url(live_server.url + "/accounts/login/?next=/")
        other.close()
    finally:
        clear_login_rate_limits(live_server.url, email)


def test_owner_of_two_tenants_switches_between_them(page: Page) -> None:
    email = "both@tenants.example"
    alpha = make_tenant("alpha", email=email)
    bravo = make_tenant("bravo", email=email)
    assert alpha.owner.pk == bravo.owner.pk

    log_in(page, email)

    switcher = page.locator("select#tenant-switch")
    expect(switcher.locator("option")).to_have_text(["Alpha", "Bravo"])
    # Memberships are ordered by tenant name, and the first one is seated.
    expect(switcher).to_have_value(str(alpha.tenant.pk))
    expect(page.locator("main h1")).to_have_text("Alpha")

    with page.expect_navigation():
        switcher.select_option(str(bravo.tenant.pk))

    expect(page.locator("main h1")).to_have_text("Bravo")
    expect(page).to_have_title("Overview · Bravo")
    expect(page.locator(".messages .msg.success")).to_have_text("Switched to Bravo.")
    expect(page.locator("select#tenant-switch")).to_have_value(str(bravo.tenant.pk))

    # The choice is kept in the session.
    page.goto("/")
    expect(page.locator("main h1")).to_have_text("Bravo")
