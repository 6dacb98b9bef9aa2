"""``/api/v1/fulfilment_orders``: list with filters, retrieve, ship, deliver,
cancel; bad input changes nothing; another tenant's order is a 404."""

from __future__ import annotations

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.models import FulfilmentOrder
from billing.payments import payment_method_attach
from tenants.context import tenant_context
from tests.api.helpers import client_for, error
from tests.conftest import TenantSetup
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 3, 10, 15)


def _shop(slug: str):  # type: ignore[no-untyped-def]
    from tenants.services import api_key_create

    with world(NOW, slug=slug) as w:
        key = api_key_create(tenant=w.tenant, name="k", actor=ACTOR, now=NOW)
        customer = w.customer()
        customer.address = {
            "line1": "Rua A",
            "city": "Recife",
            "state": "PE",
            "postal_code": "50000000",
            "country": "BR",
        }
        customer.save(update_fields=["address"])
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        plan = w.plan("box", amount=7_000, ships_goods=True, box_items="2 x Café")
        sub = w.subscribe(plan, customer)
        order = FulfilmentOrder.objects.get(subscription=sub)
        return TenantSetup(tenant=w.tenant, owner=None, key=key), sub, order


def _status(setup: TenantSetup, order: FulfilmentOrder) -> tuple[str, str]:
    with tenant_context(setup.tenant):
        fresh = FulfilmentOrder.objects.get(pk=order.pk)
        return fresh.status, fresh.tracking_code


def test_list_filter_ship_and_deliver() -> None:
    setup, sub, order = _shop("acme")
    api = client_for(setup.key.raw)

    listed = api.get("/api/v1/fulfilment_orders", {"status": "pending"})
    assert listed.status_code == 200, listed.json()
    [row] = listed.json()["data"]
    assert row["id"] == order.public_id
    assert row["object"] == "fulfilment_order"
    assert row["subscription"] == sub.public_id
    assert row["items"] == "2 x Café"
    assert row["shipping_address"]["city"] == "Recife"
    assert api.get("/api/v1/fulfilment_orders", {"status": "shipped"}).json()["data"] == []
    by_sub = api.get("/api/v1/fulfilment_orders", {"subscription": sub.public_id}).json()
    assert [r["id"] for r in by_sub["data"]] == [order.public_id]
    assert api.get("/api/v1/fulfilment_orders", {"status": "lost"}).status_code == 400

    shipped = api.post(
        f"/api/v1/fulfilment_orders/{order.public_id}/ship",
        {"tracking_code": "BR1234BR", "carrier": "Correios"},
    )
    assert shipped.status_code == 200, shipped.json()
    assert (shipped.json()["status"], shipped.json()["tracking_code"]) == ("shipped", "BR1234BR")
    delivered = api.post(f"/api/v1/fulfilment_orders/{order.public_id}/deliver")
    assert delivered.json()["status"] == "delivered"
    assert api.get(f"/api/v1/fulfilment_orders/{order.public_id}").json()["status"] == "delivered"

    again = api.post(
        f"/api/v1/fulfilment_orders/{order.public_id}/ship", {"tracking_code": "OTHER"}
    )
    assert again.status_code == 409
    assert error(again)["code"] == "fulfilment_transition"
    assert _status(setup, order) == ("delivered", "BR1234BR")


@pytest.mark.parametrize(
    "body",
    [
        {"tracking_code": ""},
        {"tracking_code": "A" * 10_240},
        {},
        {"tracking_code": "X", "bogus": 1},
    ],
    ids=["empty", "10kb", "missing", "unknown-field"],
)
def test_bad_tracking_input_is_refused_and_changes_nothing(body) -> None:  # type: ignore[no-untyped-def]
    setup, _sub, order = _shop("acme")
    response = client_for(setup.key.raw).post(
        f"/api/v1/fulfilment_orders/{order.public_id}/ship", body, format="json"
    )
    assert response.status_code == 400
    assert error(response)["param"] in ("tracking_code", "bogus")
    assert _status(setup, order) == ("pending", "")


def test_another_tenants_order_is_not_found() -> None:
    setup, _sub, order = _shop("acme")
    other, _other_sub, _other_order = _shop("other")
    api = client_for(other.key.raw)
    for response in (
        api.get(f"/api/v1/fulfilment_orders/{order.public_id}"),
        api.post(f"/api/v1/fulfilment_orders/{order.public_id}/ship", {"tracking_code": "X"}),
        api.post(f"/api/v1/fulfilment_orders/{order.public_id}/deliver"),
        api.post(f"/api/v1/fulfilment_orders/{order.public_id}/cancel"),
    ):
        assert response.status_code == 404
    assert order.public_id not in str(api.get("/api/v1/fulfilment_orders").json())
    assert _status(setup, order) == ("pending", "")
    canceled = client_for(setup.key.raw).post(f"/api/v1/fulfilment_orders/{order.public_id}/cancel")
    assert canceled.json()["status"] == "canceled"
