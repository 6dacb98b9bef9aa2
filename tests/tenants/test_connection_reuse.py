"""A connection reused across requests never carries one tenant into the next."""

import pytest
from django.db import connection

from customers.models import Customer
from tenants.context import tenant_context
from tests.conftest import TenantSetup, raw_rows

pytestmark = pytest.mark.postgres


def test_a_request_for_tenant_a_does_not_leak_into_the_next(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    for setup in (acme, globex):
        with tenant_context(setup.tenant):
            Customer.objects.create(name=f"{setup.tenant.slug} customer")
    backend_pid = raw_rows("SELECT pg_backend_pid()")[0][0]

    first = acme.client().get("/api/v1/customers")
    between = raw_rows(
        "SELECT current_setting('ciclo.tenant_id', true), count(*) FROM customers_customer"
    )
    second = globex.client().get("/api/v1/customers")
    after = raw_rows("SELECT pg_backend_pid(), current_setting('ciclo.tenant_id', true)")

    assert [c["name"] for c in first.json()["data"]] == ["acme customer"]
    assert between == [("", 0)]
    assert [c["name"] for c in second.json()["data"]] == ["globex customer"]
    # The very same server process served both requests and the checks.
    assert after == [(backend_pid, "")]
    assert connection.connection is not None


def test_a_failed_request_also_resets_the_tenant(acme: TenantSetup) -> None:
    response = acme.client().get("/api/v1/customers/cus_doesnotexist")

    assert response.status_code == 404
    assert raw_rows("SELECT current_setting('ciclo.tenant_id', true)") == [("",)]
