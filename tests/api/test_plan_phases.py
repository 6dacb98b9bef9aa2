"""Introductory phases on ``/api/v1/plans`` and the billing anchors of
``/api/v1/subscriptions`` (issue 16, items 5 and 7)."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Invoice
from subscriptions.domain.cycles import boundary, to_local
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _product(setup: TenantSetup) -> str:
    response = setup.client().post("/api/v1/products", {"name": "Product"}, format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def _plan_body(product: str, **kw: Any) -> dict[str, Any]:
    return {
        "product": product,
        "code": "intro",
        "name": "Intro",
        "currency": "BRL",
        "amount_minor": 4_990,
        **kw,
    }


def _plan(setup: TenantSetup, **kw: Any) -> dict[str, Any]:
    response = setup.client().post(
        "/api/v1/plans", _plan_body(_product(setup), **kw), format="json"
    )
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_a_plan_takes_and_shows_an_introductory_phase(acme: TenantSetup) -> None:
    plan = _plan(acme, intro_amount_minor=990, intro_cycles=3)

    assert (plan["intro_amount_minor"], plan["intro_cycles"]) == (990, 3)
    assert acme.client().get(f"/api/v1/plans/{plan['id']}").json() == plan


def test_a_plan_without_a_phase_shows_none(acme: TenantSetup) -> None:
    plan = _plan(acme)

    assert (plan["intro_amount_minor"], plan["intro_cycles"]) == (None, 0)


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        pytest.param(
            {"intro_amount_minor": 990, "intro_cycles": 13, "term_cycles": 12},
            "intro_cycles",
            "intro_longer_than_term",
            id="longer-than-term",
        ),
        pytest.param({"intro_amount_minor": -1, "intro_cycles": 3}, "intro_amount_minor", None),
        pytest.param({"intro_amount_minor": 990, "intro_cycles": 0}, "intro_cycles", None),
        pytest.param({"intro_amount_minor": 990}, "intro_cycles", None, id="price-only"),
        pytest.param({"intro_cycles": 3}, "intro_amount_minor", None, id="cycles-only"),
        pytest.param(
            {"intro_amount_minor": "cheap", "intro_cycles": 3}, "intro_amount_minor", None
        ),
        pytest.param({"intro_amount_minor": 990, "intro_cycles": -1}, "intro_cycles", None),
        pytest.param({"intro_amount_minor": 990, "intro_cycles": 1.5}, "intro_cycles", None),
    ],
)
def test_a_bad_phase_is_refused_and_nothing_is_created(
    acme: TenantSetup, change: dict[str, Any], param: str, code: str | None
) -> None:
    product = _product(acme)

    response = acme.client().post("/api/v1/plans", _plan_body(product, **change), format="json")

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == param
    if code:
        assert error(response)["code"] == code
    assert counts(acme, Plan) == {"Plan": 0}


def test_a_price_change_sets_keeps_or_removes_the_phase(acme: TenantSetup) -> None:
    plan = _plan(acme, intro_amount_minor=990, intro_cycles=3)
    url = f"/api/v1/plans/{plan['id']}/change_price"

    kept = acme.client().post(url, {"amount_minor": 5_490}, format="json").json()
    changed = acme.client().post(
        url, {"amount_minor": 5_490, "intro_amount_minor": 0, "intro_cycles": 1}, format="json"
    )
    refused = acme.client().post(
        url, {"amount_minor": 1, "intro_amount_minor": 990, "intro_cycles": 0}, format="json"
    )
    removed = acme.client().post(
        url, {"amount_minor": 5_490, "intro_amount_minor": None, "intro_cycles": 0}, format="json"
    )

    assert (kept["intro_amount_minor"], kept["intro_cycles"]) == (990, 3)
    assert changed.status_code == 200
    assert (changed.json()["intro_amount_minor"], changed.json()["intro_cycles"]) == (0, 1)
    assert refused.status_code == 400
    assert error(refused)["param"] == "intro_cycles"
    assert removed.json()["intro_amount_minor"] is None
    # Unused, the plan changed in place; the refused call changed nothing
    with tenant_context(acme.tenant):
        assert list(Plan.objects.values_list("amount_minor", "intro_cycles")) == [(5_490, 0)]


def test_another_tenants_plan_is_a_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _plan(globex, intro_amount_minor=990, intro_cycles=3)

    response = acme.client().post(
        f"/api/v1/plans/{theirs['id']}/change_price",
        {"amount_minor": 1, "intro_amount_minor": 0, "intro_cycles": 1},
        format="json",
    )

    assert response.status_code == 404
    assert acme.client().get(f"/api/v1/plans/{theirs['id']}").status_code == 404


def test_subscribing_bills_the_intro_price(acme: TenantSetup) -> None:
    plan = _plan(acme, intro_amount_minor=990, intro_cycles=3)
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}, format="json").json()

    created = acme.client().post(
        "/api/v1/subscriptions",
        {"customer": customer["id"], "plan": plan["id"], "collection_method": "send_invoice"},
        format="json",
    )
    assert created.status_code == 201, created.json()

    with tenant_context(acme.tenant):
        invoice = Invoice.objects.get()
        line = invoice.lines.get()
    assert (invoice.total_minor, line.amount_minor) == (990, 990)
    # The customer's language (pt-BR here): "Intro price, 1 of 3" translated.
    assert line.description == "Intro — Preço promocional, 1 de 3"


@pytest.mark.parametrize(
    ("plan_kw", "body", "param"),
    [
        pytest.param({"interval": "week"}, {"calendar_billing": True}, "calendar_billing"),
        pytest.param({"interval_count": 3}, {"anchor_day": 0}, "anchor_day"),
        pytest.param({"interval_count": 3}, {"anchor_day": 32}, "anchor_day"),
        pytest.param({"interval": "day"}, {"anchor_day": 10}, "anchor_day"),
    ],
)
def test_bad_anchors_are_refused_and_nothing_is_created(
    acme: TenantSetup, plan_kw: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    plan = _plan(acme, **plan_kw)
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}, format="json").json()

    response = acme.client().post(
        "/api/v1/subscriptions",
        {"customer": customer["id"], "plan": plan["id"], **body},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == param
    assert counts(acme, Subscription, Invoice) == {"Subscription": 0, "Invoice": 0}


def test_a_quarterly_plan_takes_a_billing_day(acme: TenantSetup) -> None:
    plan = _plan(acme, interval_count=3)
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}, format="json").json()

    response = acme.client().post(
        "/api/v1/subscriptions",
        {"customer": customer["id"], "plan": plan["id"], "anchor_day": 15},
        format="json",
    )

    assert response.status_code == 201, response.json()
    with tenant_context(acme.tenant):
        sub = Subscription.objects.get()
    # The next 15th at local midnight, then every third month on the 15th
    anchor = to_local(sub.billing_anchor, acme.tenant.time_zone)
    third = to_local(
        boundary(sub.billing_anchor, "month", 3, 1, acme.tenant.time_zone, sub.billing_day),
        acme.tenant.time_zone,
    )
    assert (anchor.day, anchor.hour, anchor.minute) == (15, 0, 0)
    assert (third.day, (third.month - anchor.month) % 12) == (15, 3)
