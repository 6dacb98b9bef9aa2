"""In Chromium: "Continue with Google" through a local OpenID provider (real
RS256 id_tokens) lands in the portal; then the subscriber sets a password on
the profile page and signs in with email and password in a fresh browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from core.actors import Actor
from customers.models import Customer
from tenants import services as tenant_services
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.support.fake_oidc import running_fake_oidc

pytestmark = pytest.mark.e2e


def test_continue_with_google_then_set_and_use_a_password(
    page: Page,
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
) -> None:
    acme = make_tenant("acme")
    Tenant.objects.filter(pk=acme.tenant.pk).update(locale="en", portal_password_signin=True)
    acme.tenant.refresh_from_db()
    with running_fake_oidc() as provider:
        settings.GOOGLE_OIDC = provider.settings
        with tenant_context(acme.tenant):
            Customer.objects.create(
                tenant=acme.tenant, name="Ana", email="ana@example.com", locale="en"
            )
            tenant_services.tenant_update_settings(
                tenant=acme.tenant,
                actor=Actor.system(),
                now=acme.tenant.created_at,
                google_client_id=provider.client_id,
                google_client_secret=provider.client_secret,
            )
        provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
        page.goto("/t/acme/sign-in/")
        page.get_by_test_id("google-sign-in").click()
        expect(page.locator("h1")).to_have_text("Hello, Ana")
        assert page.url == f"{live_server.url}/t/acme/"
        assert len(provider.token_requests) == 1

    page.get_by_role("link", name="Profile").click()
    page.locator("#id_new_password1").fill("correct horse battery 42")
    page.locator("#id_new_password2").fill("correct horse battery 42")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("button", name="Change password")).to_be_visible()

    fresh = browser.new_context(base_url=live_server.url, locale="en-US")
    other = fresh.new_page()
    other.goto("/t/acme/sign-in/")
    form = other.get_by_test_id("password-sign-in")
    form.get_by_label("Email").fill("ana@example.com")
    form.get_by_label("Password").fill("wrong password here")
    form.get_by_role("button", name="Sign in").click()
    expect(other.get_by_test_id("password-sign-in-error")).to_be_visible()
    form = other.get_by_test_id("password-sign-in")
    form.get_by_label("Email").fill("ana@example.com")
    form.get_by_label("Password").fill("correct horse battery 42")
    form.get_by_role("button", name="Sign in").click()
    expect(other.locator("h1")).to_have_text("Hello, Ana")
    fresh.close()
