"""A subscriber sets marketing preferences and downloads their data, in headless
Chromium, at phone and desktop widths, in pt-BR, English and Romanian."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from customers.models import Customer
from customers.portal_links import portal_url
from tenants.context import tenant_context
from tests.conftest import make_tenant
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["pt-br", "en", "ro"])
def test_subscriber_preferences_and_data_download(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    locale: str,
) -> None:
    acme = make_tenant("acme")
    with tenant_context(acme.tenant):
        ana = Customer.objects.create(
            tenant=acme.tenant, name="Ana Lima", email="ana@example.com", locale=locale
        )
    url = portal_url(ana)
    page.goto(url[url.index("/t/") :])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/t/acme/preferences/")
        expect(page.locator("input[name=marketing]")).to_have_count(2)
        page.screenshot(
            path=str(ARTIFACTS / f"portal_preferences_{locale}_{width}.png"), full_page=True
        )
        page.goto("/t/acme/privacy/")
        page.screenshot(
            path=str(ARTIFACTS / f"portal_privacy_{locale}_{width}.png"), full_page=True
        )

    page.goto("/t/acme/preferences/")
    page.locator("input[name=marketing][value=sms]").uncheck()
    with page.expect_navigation():
        page.click("form:has(input[name=marketing]) button[type=submit]")
    expect(page.locator("input[name=marketing][value=sms]")).not_to_be_checked()
    expect(page.locator("input[name=marketing][value=email]")).to_be_checked()

    page.goto("/t/acme/privacy/")
    with page.expect_download() as download_info:
        page.locator("form[action$='/privacy/export/'] button").click()
    path = download_info.value.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["customer"][0]["email"] == "ana@example.com"
