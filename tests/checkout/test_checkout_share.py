"""The plan page's shareable checkout link and QR code; an old version's link
opens the plan's current version; the hosted page stays light."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from core import clock
from subscriptions import services as subs
from tenants.context import tenant_context
from tests.conftest import TenantSetup
from tests.dashboard.test_catalog import ACTOR, _owner, _plan, _product


def test_the_plan_page_shows_the_checkout_link_and_its_qr_code(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    page = _owner(acme).get(f"/dashboard/catalog/plans/{plan.public_id}/").content.decode()
    url = f"http://testserver/t/{acme.tenant.slug}/checkout/{plan.public_id}/"
    assert f'data-testid="checkout-url" target="_blank" rel="noopener">{url}</a>' in page
    share = page[page.index('data-testid="checkout-share"') :]
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in share
    assert f"<title>{url}</title>" in share
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200


def test_a_link_to_an_older_price_version_opens_the_current_one(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme), pricing_model="per_seat")
    with tenant_context(acme.tenant):
        v2 = subs.plan_change_price(
            tenant=acme.tenant, plan_id=plan.pk, amount_minor=3490, actor=ACTOR, now=clock.now()
        )
    client = Client()
    page = client.get(f"/t/{acme.tenant.slug}/checkout/{plan.public_id}/")
    assert page.status_code == 200
    assert b'data-testid="total-now" data-minor="3490"' in page.content
    # The current version's page on the dashboard links to the current version.
    dash = _owner(acme).get(f"/dashboard/catalog/plans/{plan.public_id}/").content.decode()
    assert f"/t/{acme.tenant.slug}/checkout/{v2.public_id}/" in dash


def test_an_inactive_plan_has_no_checkout(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    with tenant_context(acme.tenant):
        type(plan).objects.filter(pk=plan.pk).update(active=False)
    assert Client().get(f"/t/{acme.tenant.slug}/checkout/{plan.public_id}/").status_code == 404


def test_the_hosted_page_weighs_under_200_kb_with_everything_it_loads(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    response = Client().get(f"/t/{acme.tenant.slug}/checkout/{plan.public_id}/")
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="' + re.escape(settings.STATIC_URL) + r'([^"]+)"', html)
    assert any(a.endswith("card_setup.js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    total = len(response.content)
    for asset in assets:
        found = finders.find(asset)
        assert found, asset
        total += Path(str(found)).stat().st_size
    assert total < 200 * 1024, total
