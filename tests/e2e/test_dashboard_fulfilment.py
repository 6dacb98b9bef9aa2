"""Fulfilment in headless Chromium: the owner tries to ship a box without a
tracking code (refused next to the field), then ships it with one; screenshots
at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.models import FulfilmentOrder
from tenants.context import tenant_context
from tests.billing.test_fulfilment import NOW
from tests.dashboard.test_fulfilment import _order
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.support.billing import world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_ships_a_box_with_a_tracking_code(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        order = _order(w)
        tenant = w.tenant
    ref = order.public_id

    log_in(page, "owner@acme.example")
    page.goto("/")
    page.locator('a[href="/dashboard/fulfilment/"]').first.click()
    row = page.get_by_test_id(f"order-{ref}")
    expect(row).to_contain_text("Rua Augusta, 1500")
    expect(row).to_have_attribute("data-status", "pending")

    ship = page.get_by_test_id(f"ship-{ref}")
    ship.locator('input[name="carrier"]').fill("Correios")
    ship.locator('button[type="submit"]').click()
    expect(page.get_by_test_id(f"tracking-error-{ref}")).to_be_visible()
    expect(page.get_by_test_id(f"order-{ref}")).to_have_attribute("data-status", "pending")

    ship = page.get_by_test_id(f"ship-{ref}")
    expect(ship.locator('input[name="carrier"]')).to_have_value("Correios")
    ship.locator('input[name="tracking_code"]').fill("BR123456789BR")
    ship.locator('button[type="submit"]').click()
    row = page.get_by_test_id(f"order-{ref}")
    expect(row).to_have_attribute("data-status", "shipped")
    expect(row).to_contain_text("BR123456789BR")
    expect(page.get_by_test_id(f"deliver-{ref}")).to_be_visible()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"fulfilment-shipped-{width}.png"), full_page=True)
    with tenant_context(tenant):
        shipped = FulfilmentOrder.objects.get(pk=order.pk)
    assert (shipped.status, shipped.carrier, shipped.tracking_code) == (
        "shipped",
        "Correios",
        "BR123456789BR",
    )
