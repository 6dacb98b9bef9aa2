"""The plan's billing timing over the API (issue 16, item 6): in advance by
default, in arrears when asked; bad values refused with nothing created."""

from __future__ import annotations

import pytest

from subscriptions.models import Plan
from tests.api.helpers import counts, error
from tests.api.test_subscriptions import catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def test_a_plan_is_in_advance_unless_asked(acme: TenantSetup) -> None:
    plan = catalog(acme)

    assert plan["billing_timing"] == "in_advance"


def test_a_plan_billed_in_arrears_is_created_and_read(acme: TenantSetup) -> None:
    plan = catalog(acme, billing_timing="in_arrears", setup_fee_minor=5_000)

    assert plan["billing_timing"] == "in_arrears"
    assert acme.client().get(f"/api/v1/plans/{plan['id']}").json()["billing_timing"] == (
        "in_arrears"
    )
    listed = acme.client().get("/api/v1/plans").json()["data"]
    assert [(p["id"], p["billing_timing"]) for p in listed] == [(plan["id"], "in_arrears")]


@pytest.mark.parametrize("value", ["monthly", "", None, 1, "IN_ARREARS"])
def test_a_bad_billing_timing_is_refused_and_nothing_is_created(
    acme: TenantSetup, value: object
) -> None:
    product = acme.client().post("/api/v1/products", {"name": "P"}).json()
    body = {
        "product": product["id"],
        "code": "basic",
        "currency": "BRL",
        "amount_minor": 1_000,
        "billing_timing": value,
    }

    response = acme.client().post("/api/v1/plans", body, format="json")

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == "billing_timing"
    assert counts(acme, Plan) == {"Plan": 0}


def test_another_tenants_plan_is_a_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = catalog(globex, billing_timing="in_arrears")

    response = acme.client().get(f"/api/v1/plans/{theirs['id']}")

    assert response.status_code == 404
