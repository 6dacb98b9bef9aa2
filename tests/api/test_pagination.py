"""Cursor pagination: pages never repeat or skip a row, even with inserts between pages."""

from __future__ import annotations

import pytest

from core import clock
from core.actors import Actor
from customers.services import customer_create
from tenants.context import tenant_context
from tests.api.helpers import error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _add(setup: TenantSetup, *names: str) -> list[str]:
    with tenant_context(setup.tenant):
        return [
            customer_create(
                tenant=setup.tenant, name=name, actor=Actor.system("tests"), now=clock.now()
            ).public_id
            for name in names
        ]


def test_walking_pages_with_inserts_between_fetches(acme: TenantSetup) -> None:
    original = _add(acme, *(f"C{i}" for i in range(25)))
    seen: list[str] = []
    params: dict[str, object] = {"limit": 10}
    pages = 0
    while True:
        body = acme.client().get("/api/v1/customers", params).json()
        seen += [c["id"] for c in body["data"]]
        pages += 1
        # Newer rows arrive while the client pages through.
        _add(acme, f"new{pages}a", f"new{pages}b")
        if not body["has_more"]:
            break
        params["starting_after"] = body["data"][-1]["id"]

    assert pages == 3
    assert seen == list(reversed(original))
    assert len(set(seen)) == 25


def test_limits_and_cursors_are_checked(acme: TenantSetup, globex: TenantSetup) -> None:
    [theirs] = _add(globex, "Theirs")
    for params, param in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"created[gte]": "²"}, "created[gte]"),
        ({"created[lte]": "0000-01-01T00:00:00Z"}, "created[lte]"),
        ({"starting_after": "cus_unknown"}, "starting_after"),
        ({"starting_after": theirs}, "starting_after"),
        ({"starting_after": "bad\x00id"}, "starting_after"),
    ):
        response = acme.client().get("/api/v1/customers", params)
        assert response.status_code == 400, params
        assert error(response)["param"] == param


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products",
        "/api/v1/plans",
        "/api/v1/coupons",
        "/api/v1/tax_rates",
        "/api/v1/subscriptions",
        "/api/v1/invoices",
        "/api/v1/credit_notes",
        "/api/v1/payments",
        "/api/v1/refunds",
        "/api/v1/test_clocks",
        "/api/v1/customers",
    ],
)
def test_every_list_has_the_list_shape(acme: TenantSetup, path: str) -> None:
    response = acme.client().get(path, {"limit": 5, "created[gte]": "2020-01-01T00:00:00Z"})

    assert response.status_code == 200
    assert response.json() == {"object": "list", "url": path, "has_more": False, "data": []}


def test_a_list_of_rows_without_public_ids_refuses_a_cursor(acme: TenantSetup) -> None:
    """Readjustment policies have no public id: starting_after is a 400, never a 500."""
    response = acme.client().get(
        "/api/v1/readjustment_policies", {"starting_after": "primary_color"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "starting_after"
