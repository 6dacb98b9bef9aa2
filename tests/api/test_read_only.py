"""A read-only key reads everything and writes nothing, on every write route."""

from __future__ import annotations

import pytest

from config.api import router
from customers.models import Customer
from tenants.models import IdempotencyKey
from tests.api.helpers import counts, error, read_only_client
from tests.conftest import TenantSetup
from tests.support.routes import fill_groups

pytestmark = pytest.mark.django_db

MINE = {
    "customer",
    "payment_method",
    "product",
    "plan",
    "coupon",
    "subscription",
    "invoice",
    "credit_note",
    "payment",
    "refund",
    "test_clock",
    "tax_rate",
}


def _write_routes() -> list[tuple[str, str]]:
    routes = []
    for url in router.urls:
        actions = getattr(url.callback, "actions", {})
        basename = getattr(url.callback, "initkwargs", {}).get("basename")
        if basename not in MINE:
            continue
        path = "/api/v1/" + str(url.pattern).lstrip("^").rstrip("$")
        path = fill_groups(path, lambda _name: "x_abc")
        routes += [(method, path) for method in actions if method not in ("get", "head")]
    return routes


def test_there_are_write_routes_to_check() -> None:
    assert len(_write_routes()) >= 25


@pytest.mark.parametrize(("method", "path"), _write_routes())
def test_a_read_only_key_is_refused_on_every_write(
    acme: TenantSetup, method: str, path: str
) -> None:
    reader = read_only_client(acme)

    response = getattr(reader, method)(path, {"name": "x"}, HTTP_IDEMPOTENCY_KEY="ro")

    assert response.status_code == 403
    assert error(response)["code"] == "read_only_key"
    assert counts(acme, Customer, IdempotencyKey) == {"Customer": 0, "IdempotencyKey": 0}
