"""Splitting an existing open invoice into installments over the API."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Installment
from tests.api.helpers import counts, error
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _open_annual(
    setup: TenantSetup, max_installments: int = 12, code: str = "annual"
) -> dict[str, Any]:
    plan = catalog(
        setup, code, amount_minor=100_000, interval="year", max_installments=max_installments
    )
    sub = _subscribe(
        setup, customer=_customer(setup)["id"], plan=plan["id"], collection_method="send_invoice"
    )
    invoices = setup.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"]
    assert [i["status"] for i in invoices] == ["open"]
    return invoices[0]


def test_an_open_invoice_is_split_to_the_centavo(acme: TenantSetup) -> None:
    invoice = _open_annual(acme)

    response = acme.client().post(f"/api/v1/invoices/{invoice['id']}/installments", {"count": 3})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["invoice"] == invoice["id"]
    # R$ 1.000,00 / 3: the existing rule gives the odd centavo to the first parts.
    assert [(p["number"], p["amount_minor"], p["status"]) for p in body["installments"]] == [
        (1, 33_334, "scheduled"),
        (2, 33_333, "scheduled"),
        (3, 33_333, "scheduled"),
    ]
    assert sum(p["amount_minor"] for p in body["installments"]) == 100_000


def test_bad_splits_are_refused_and_nothing_changes(acme: TenantSetup) -> None:
    invoice = _open_annual(acme, max_installments=6)
    path = f"/api/v1/invoices/{invoice['id']}/installments"

    for body, param in (
        ({"count": 1}, "count"),
        ({"count": 7}, "count"),
        ({"count": "three"}, "count"),
        ({}, "count"),
    ):
        response = acme.client().post(path, body)
        assert response.status_code == 400, (body, response.json())
        assert error(response)["param"] == param, (body, response.json())
    assert counts(acme, Installment) == {"Installment": 0}

    assert acme.client().post(path, {"count": 2}).status_code == 201
    again = acme.client().post(path, {"count": 3})
    assert again.status_code == 409, again.json()
    assert counts(acme, Installment) == {"Installment": 2}


def test_paid_void_and_draft_invoices_cannot_be_split(acme: TenantSetup) -> None:
    paid = _open_annual(acme)
    acme.client().post(f"/api/v1/invoices/{paid['id']}/pay", {"paid_out_of_band": True})
    void = _open_annual(acme, code="annual2")
    acme.client().post(f"/api/v1/invoices/{void['id']}/void", {})
    draft = acme.client().post(
        "/api/v1/invoices",
        {
            "customer": _customer(acme)["id"],
            "currency": "BRL",
            "lines": [{"description": "x", "unit_amount_minor": 10_000}],
        },
    )
    assert draft.status_code == 201, draft.json()

    for invoice_id in (paid["id"], void["id"], draft.json()["id"]):
        response = acme.client().post(f"/api/v1/invoices/{invoice_id}/installments", {"count": 2})
        assert response.status_code == 409, response.json()
    assert counts(acme, Installment) == {"Installment": 0}


def test_another_tenants_invoice_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _open_annual(globex)

    response = acme.client().post(f"/api/v1/invoices/{theirs['id']}/installments", {"count": 2})

    assert response.status_code == 404, response.json()
    assert counts(globex, Installment) == {"Installment": 0}
