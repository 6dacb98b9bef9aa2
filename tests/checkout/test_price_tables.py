"""Price tables: managed on the dashboard (create, edit, archive; link, QR code
and iframe snippet), shown on a hosted page with the plans side by side, each
leading to its plan's checkout; bad input refused next to its field with
nothing saved; another tenant's tables and plans are not found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from checkout.models import PriceTable
from subscriptions import services as subs
from subscriptions.models import Plan
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.dashboard.test_staff_pages import _signed_in
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
BASE = "/dashboard/catalog/price-tables/"


def _shop(slug: str = "acme", **tenant_kw: Any) -> tuple[Tenant, list[Plan]]:
    with world(NOW, slug=slug, locale="en", **tenant_kw) as w:
        plans = [
            w.plan("basic", amount=2_990, name="Basic"),
            w.plan("pro", amount=5_990, name="Pro", setup_fee_minor=1_000),
            w.plan("team", amount=9_990, name="Team"),
        ]
    return w.tenant, plans


def _tables(tenant: Tenant) -> list[PriceTable]:
    with tenant_context(tenant):
        return list(PriceTable.objects.filter(tenant=tenant).order_by("id"))


def _create(client: Client, plans: list[Plan], **kw: str) -> Any:
    form = {
        "name": "Our plans",
        "plan_1": plans[0].public_id,
        "plan_2": plans[1].public_id,
        "plan_3": plans[2].public_id,
        "highlighted": plans[1].public_id,
        **kw,
    }
    return client.post(f"{BASE}new/", form)


def test_create_share_and_open_a_price_table() -> None:
    tenant, plans = _shop(embed_domains=["https://shop.example.com"])
    owner = _signed_in("owner@acme.example")
    created = _create(owner, plans)
    assert created.status_code == 302, created.content.decode()[:3000]
    (table,) = _tables(tenant)
    assert table.name == "Our plans"
    assert table.plans == [p.public_id for p in plans]
    assert table.highlighted == plans[1].public_id
    assert created["Location"] == f"{BASE}{table.public_id}/"

    page = owner.get(created["Location"]).content.decode()
    url = f"http://testserver/t/{tenant.slug}/checkout/pricing/{table.public_id}/"
    assert f'data-testid="price-table-url" target="_blank" rel="noopener">{url}</a>' in page
    share = page[page.index('data-testid="price-table-share"') :]
    assert f"<title>{url}</title>" in share  # the QR code of that link
    assert f'&lt;iframe src="{url}?embed=1"' in page
    assert table.public_id in owner.get(BASE).content.decode()

    hosted = Client().get(url.removeprefix("http://testserver"))
    assert hosted.status_code == 200
    html = hosted.content.decode()
    columns = [html.index(f'data-plan="{p.public_id}"') for p in plans]
    assert columns == sorted(columns)  # in the merchant's order
    assert html.count('data-testid="price-column"') == 3
    assert html.count('data-highlighted="1"') == 1
    assert f'data-plan="{plans[1].public_id}" data-highlighted="1"' in html
    for plan in plans:
        assert f'href="/t/{tenant.slug}/checkout/{plan.public_id}/"' in html
    # Embedded: framable by the shop, and each choice stays in the iframe.
    embedded = Client().get(url.removeprefix("http://testserver") + "?embed=1")
    assert "frame-ancestors 'self' https://shop.example.com" in embedded["Content-Security-Policy"]
    assert f'href="/t/{tenant.slug}/checkout/{plans[0].public_id}/?embed=1"' in (
        embedded.content.decode()
    )


def test_edit_reorders_and_archive_closes_the_page() -> None:
    tenant, plans = _shop()
    owner = _signed_in("owner@acme.example")
    _create(owner, plans)
    (table,) = _tables(tenant)
    saved = owner.post(
        f"{BASE}{table.public_id}/edit/",
        {"name": "Two plans", "plan_1": plans[2].public_id, "plan_3": plans[0].public_id},
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    (table,) = _tables(tenant)
    assert (table.name, table.plans, table.highlighted) == (
        "Two plans",
        [plans[2].public_id, plans[0].public_id],
        "",
    )
    hosted = f"/t/{tenant.slug}/checkout/pricing/{table.public_id}/"
    # A price change: the table shows the plan's current version.
    with tenant_context(tenant):
        v2 = subs.plan_change_price(
            tenant=tenant, plan_id=plans[2].pk, amount_minor=12_990, actor=ACTOR, now=NOW
        )
    html = Client().get(hosted).content.decode()
    assert f'data-plan="{v2.public_id}"' in html
    assert 'data-minor="12990"' in html
    # An archived plan drops out of the page.
    with tenant_context(tenant):
        Plan.objects.filter(pk=plans[0].pk).update(active=False)
    assert Client().get(hosted).content.decode().count('data-testid="price-column"') == 1
    assert owner.post(f"{BASE}{table.public_id}/archive/").status_code == 302
    assert not _tables(tenant)[0].active
    assert Client().get(hosted).status_code == 404
    # An archived table cannot be edited back.
    again = owner.post(f"{BASE}{table.public_id}/edit/", {"name": "X", "plan_1": v2.public_id})
    assert again.status_code == 404
    assert _tables(tenant)[0].name == "Two plans"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Bad\x00name"}, "name"),
        ({"plan_1": "", "plan_2": "", "plan_3": "", "highlighted": ""}, "plan_1"),
        ({"plan_2": "plan_doesnotexist000000000000"}, "plan_2"),
        ({"plan_3": "OTHER"}, "plan_3"),
        ({"plan_3": "ARCHIVED"}, "plan_3"),
        ({"plan_3": "SAME"}, "plan_1"),
        ({"highlighted": "OTHER"}, "highlighted"),
        ({"plan_2": "", "highlighted": "PLAN2"}, "highlighted"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_saves_nothing(
    change: dict[str, str], field: str
) -> None:
    tenant, plans = _shop()
    other_tenant, other_plans = _shop("globex")
    with tenant_context(tenant):
        archived = subs.plan_create(
            tenant=tenant,
            product=plans[0].product,
            code="old",
            name="Old",
            currency="BRL",
            amount_minor=100,
            actor=ACTOR,
            now=NOW,
        )
        Plan.objects.filter(pk=archived.pk).update(active=False)
    names = {
        "OTHER": other_plans[0].public_id,
        "ARCHIVED": archived.public_id,
        "SAME": plans[0].public_id,
        "PLAN2": plans[1].public_id,
    }
    values = {k: names.get(v, v) for k, v in change.items()}
    owner = _signed_in("owner@acme.example")
    response = _create(owner, plans, **values)
    assert response.status_code == 400, response.content.decode()[:2000]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert _tables(tenant) == []
    assert _tables(other_tenant) == []


def test_another_tenants_table_is_not_found_anywhere() -> None:
    tenant, plans = _shop()
    _other, other_plans = _shop("globex")
    owner = _signed_in("owner@acme.example")
    _create(owner, plans)
    (table,) = _tables(tenant)
    globex = _signed_in("owner@globex.example")
    assert globex.get(f"{BASE}{table.public_id}/").status_code == 404
    assert globex.post(f"{BASE}{table.public_id}/archive/").status_code == 404
    edit = {"name": "Hacked", "plan_1": other_plans[0].public_id}
    assert globex.post(f"{BASE}{table.public_id}/edit/", edit).status_code == 404
    assert Client().get(f"/t/globex/checkout/pricing/{table.public_id}/").status_code == 404
    for bad in ("ptab_nope", "x" * 80, "ptab_%00"):
        assert Client().get(f"/t/{tenant.slug}/checkout/pricing/{bad}/").status_code == 404
    (after,) = _tables(tenant)
    assert (after.name, after.active) == ("Our plans", True)
