"""A subscriber signs in to the merchant's portal with the code emailed to
them (read from the real local SMTP server), edits their profile, and the
sign-in and profile pages are looked at in pt-BR, English and Romanian on a
phone (390 px) and a desktop (1280 px)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from customers.models import Customer
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.e2e.conftest import ARTIFACTS
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.e2e


def _code(message) -> str:  # type: ignore[no-untyped-def]
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    found = re.search(r"^\s*(\d{6})\s*$", text, re.M)
    assert found, text
    return found.group(1)


def test_subscriber_signs_in_with_the_emailed_code_and_edits_the_profile(
    page: Page,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    acme = make_tenant("acme")
    Tenant.objects.filter(pk=acme.tenant.pk).update(locale="en", support_email="help@acme.example")
    with tenant_context(acme.tenant):
        ana = Customer.objects.create(
            tenant=acme.tenant, name="Ana", email="ana@example.com", locale="en"
        )
    with smtp_server(settings) as smtp:
        page.goto("/t/acme/")
        page.get_by_role("link", name="Sign in").click()
        page.get_by_label("Email").fill("ana@example.com")
        page.get_by_role("button", name="Send me a code").click()
        expect(page.get_by_label("Code")).to_be_visible()
        [message] = smtp.wait_for(1)
    page.get_by_label("Code").fill(_code(message))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Hello, Ana")
    expect(page.get_by_text("help@acme.example").first).to_be_visible()

    page.get_by_role("link", name="Profile").click()
    page.get_by_label("CPF or CNPJ").fill("123.456.789-00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    page.get_by_label("CPF or CNPJ").fill("529.982.247-25")
    page.get_by_label("Postal code").fill("01310-100")
    page.get_by_label("State").fill("SP")
    page.get_by_label("City").fill("São Paulo")
    page.get_by_label("Street").fill("Av. Paulista")
    page.locator("#id_address_country").fill("BR")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    with tenant_context(acme.tenant):
        ana.refresh_from_db()
    assert ana.tax_id == "52998224725"
    assert ana.address["postal_code"] == "01310100"

    # Each page in each language, on a phone and on a desktop.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in ("pt-br", "en", "ro"):
        with tenant_context(acme.tenant):
            Customer.objects.filter(pk=ana.pk).update(locale=language)
        Tenant.objects.filter(pk=acme.tenant.pk).update(locale=language)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 844 if width == 390 else 800})
            page.goto("/t/acme/profile/")
            expect(page.locator("html")).to_have_attribute("lang", language)
            page.screenshot(
                path=str(ARTIFACTS / f"portal_profile_{language}_{width}.png"), full_page=True
            )
            page.goto("/t/acme/profile/email/confirm/")  # no change asked: back to the profile
            page.context.clear_cookies()
            page.goto("/t/acme/sign-in/")
            page.screenshot(
                path=str(ARTIFACTS / f"portal_sign_in_{language}_{width}.png"), full_page=True
            )
            page.goto("/t/acme/")
            page.screenshot(
                path=str(ARTIFACTS / f"portal_home_{language}_{width}.png"), full_page=True
            )
            # Back in for the next round, by a fresh code (under the per-email limit).
            cache.clear()
            with smtp_server(settings) as smtp:
                page.goto("/t/acme/sign-in/")
                page.locator("input[name=email]").fill("ana@example.com")
                page.locator("form button[type=submit]").click()
                page.wait_for_url("**/sign-in/code/")
                page.screenshot(
                    path=str(ARTIFACTS / f"portal_sign_in_code_{language}_{width}.png"),
                    full_page=True,
                )
                [message] = smtp.wait_for(1)
            page.locator("input[name=code]").fill(_code(message))
            page.locator("form button[type=submit]").click()
            expect(page.locator(".portal-nav")).to_be_visible()
