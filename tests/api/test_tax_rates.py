"""Tax rates over the API: list, create, retrieve, rename, archive; percent and mode are
fixed once an invoice used the rate; bad input and other tenants' ids change nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.models import TaxRate
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _create(setup: TenantSetup, **body: Any) -> dict[str, Any]:
    response = setup.client().post(
        "/api/v1/tax_rates", {"name": "ISS", "percent": 5} | body, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_retrieve_list_and_archive(acme: TenantSetup) -> None:
    created = _create(acme, name="ISS São Paulo", percent=2.5, description="Serviços")
    vat = _create(acme, name="VAT", percent=12.3456, inclusive=True)

    assert created == {
        "id": created["id"],
        "object": "tax_rate",
        "name": "ISS São Paulo",
        "description": "Serviços",
        "percent": "2.5000",
        "inclusive": False,
        "active": True,
        "created": created["created"],
    }
    assert created["id"].startswith("txr_")
    assert (vat["percent"], vat["inclusive"]) == ("12.3456", True)
    assert acme.client().get(f"/api/v1/tax_rates/{created['id']}").json() == created
    listed = acme.client().get("/api/v1/tax_rates").json()
    assert [r["id"] for r in listed["data"]] == [vat["id"], created["id"]]
    page = acme.client().get("/api/v1/tax_rates", {"limit": 1}).json()
    assert (page["has_more"], [r["id"] for r in page["data"]]) == (True, [vat["id"]])

    archived = acme.client().post(f"/api/v1/tax_rates/{vat['id']}/archive")
    again = acme.client().post(f"/api/v1/tax_rates/{vat['id']}/archive")

    assert archived.status_code == 200
    assert archived.json()["active"] is False
    assert again.status_code == 409
    assert error(again)["code"] == "tax_rate_archived"
    active = acme.client().get("/api/v1/tax_rates", {"active": "true"}).json()["data"]
    assert [r["id"] for r in active] == [created["id"]]


def test_an_unused_rate_changes_name_description_percent_and_mode(acme: TenantSetup) -> None:
    rate = _create(acme)

    response = acme.client().patch(
        f"/api/v1/tax_rates/{rate['id']}",
        {"name": "ISS 2026", "description": "Novo", "percent": 3, "inclusive": True},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["description"], body["percent"], body["inclusive"]) == (
        "ISS 2026",
        "Novo",
        "3.0000",
        True,
    )


def _used_rate(acme: TenantSetup) -> dict[str, Any]:
    """A rate on a plan whose subscription was invoiced."""
    rate = _create(acme, percent=5)
    client = acme.client()
    product = client.post("/api/v1/products", {"name": "P"}, format="json").json()
    plan = client.post(
        "/api/v1/plans",
        {
            "product": product["id"],
            "code": "pro",
            "name": "Pro",
            "currency": "BRL",
            "amount_minor": 10_000,
            "tax_rate": rate["id"],
        },
        format="json",
    )
    assert plan.status_code == 201, plan.json()
    customer = client.post("/api/v1/customers", {"name": "Ana"}, format="json").json()
    sub = client.post(
        "/api/v1/subscriptions",
        {
            "customer": customer["id"],
            "plan": plan.json()["id"],
            "collection_method": "send_invoice",
        },
        format="json",
    )
    assert sub.status_code == 201, sub.json()
    [invoice] = client.get("/api/v1/invoices").json()["data"]
    assert invoice["tax_minor"] == 500
    return rate


@pytest.mark.parametrize(
    ("body", "param"), [({"percent": 6}, "percent"), ({"inclusive": True}, "inclusive")]
)
def test_a_used_rates_percent_and_mode_are_fixed(
    acme: TenantSetup, body: dict[str, Any], param: str
) -> None:
    rate = _used_rate(acme)

    refused = acme.client().patch(f"/api/v1/tax_rates/{rate['id']}", body, format="json")
    renamed = acme.client().patch(
        f"/api/v1/tax_rates/{rate['id']}",
        {"name": "ISS (old)", "description": "until 2026", "percent": 5},
        format="json",
    )

    assert refused.status_code == 409
    err = error(refused)
    assert (err["code"], err["param"]) == ("tax_rate_in_use", param)
    assert "create a new tax rate" in err["message"]
    assert renamed.status_code == 200, renamed.json()
    assert (renamed.json()["name"], renamed.json()["percent"]) == ("ISS (old)", "5.0000")
    with tenant_context(acme.tenant):
        assert list(TaxRate.objects.values_list("percent", "inclusive")) == [(Decimal(5), False)]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": 5}, "name", id="name-not-text"),
        pytest.param({"name": "x" * 101}, "name", id="long-name"),
        pytest.param({"percent": "5"}, "percent", id="percent-as-string"),
        pytest.param({"percent": True}, "percent", id="percent-bool"),
        pytest.param({"percent": -1}, "percent", id="negative"),
        pytest.param({"percent": 100.5}, "percent", id="over-100"),
        pytest.param({"percent": 1.00001}, "percent", id="five-decimals"),
        pytest.param({"percent": None}, "percent", id="percent-null"),
        pytest.param({"inclusive": "yes"}, "inclusive", id="inclusive-not-bool"),
        pytest.param({"description": "x" * 301}, "description", id="long-description"),
        pytest.param({"rate": 5}, "rate", id="unknown-field"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
    acme: TenantSetup, body: dict[str, Any], param: str
) -> None:
    rate = _create(acme)
    before = counts(acme, TaxRate, AuditEntry, Event)
    snapshot = acme.client().get(f"/api/v1/tax_rates/{rate['id']}").json()

    created = acme.client().post(
        "/api/v1/tax_rates", {"name": "VAT", "percent": 20} | body, format="json"
    )
    updated = acme.client().patch(f"/api/v1/tax_rates/{rate['id']}", body, format="json")

    for response in (created, updated):
        assert response.status_code == 400, response.json()
        assert error(response)["param"] == param
    assert counts(acme, TaxRate, AuditEntry, Event) == before
    assert acme.client().get(f"/api/v1/tax_rates/{rate['id']}").json() == snapshot


def test_another_tenants_rate_is_404_and_untouched(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _create(globex, name="VAT", percent=20)

    got = acme.client().get(f"/api/v1/tax_rates/{theirs['id']}")
    patched = acme.client().patch(
        f"/api/v1/tax_rates/{theirs['id']}", {"name": "Mine"}, format="json"
    )
    archived = acme.client().post(f"/api/v1/tax_rates/{theirs['id']}/archive")

    for response in (got, patched, archived):
        assert response.status_code == 404
        assert error(response)["param"] == "id"
    assert acme.client().get("/api/v1/tax_rates").json()["data"] == []
    assert globex.client().get(f"/api/v1/tax_rates/{theirs['id']}").json() == theirs
    # nor may a plan of ours point at it
    product = acme.client().post("/api/v1/products", {"name": "P"}, format="json").json()
    plan = acme.client().post(
        "/api/v1/plans",
        {
            "product": product["id"],
            "code": "pro",
            "name": "Pro",
            "currency": "BRL",
            "amount_minor": 100,
            "tax_rate": theirs["id"],
        },
        format="json",
    )
    assert plan.status_code == 404
    assert error(plan)["param"] == "tax_rate"


def test_a_create_is_idempotent_with_a_key(acme: TenantSetup) -> None:
    body = {"name": "ISS", "percent": 5}
    first = acme.client().post(
        "/api/v1/tax_rates", body, format="json", HTTP_IDEMPOTENCY_KEY="txr-1"
    )
    replay = acme.client().post(
        "/api/v1/tax_rates", body, format="json", HTTP_IDEMPOTENCY_KEY="txr-1"
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert counts(acme, TaxRate) == {"TaxRate": 1}
