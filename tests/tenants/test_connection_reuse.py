"""A connection reused across requests never carries one tenant into the next.

The backend writes the context onto the session only when a statement needs
it (tenants/db/postgresql/base.py), so these tests look at what statements
see, through every way the code sends them: the ORM, a Django cursor, a raw
psycopg cursor opened the way core/bulk.py opens it, a COPY.
"""

import contextlib

import pytest
from django.db import connection, transaction

from core.bulk import _execute_binary
from customers.models import Customer
from tenants.context import platform_access, tenant_context
from tests.conftest import TenantSetup, make_tenant, raw_rows

SETTING = "SELECT current_setting('ciclo.tenant_id', true)"


def _rolled_back(tenant: object, sql: str) -> list[tuple[object, ...]]:
    """``sql``'s rows under ``tenant``, in a transaction (or savepoint) taken
    before the tenant's context is written and then rolled back."""
    seen: list[tuple[object, ...]] = []
    with contextlib.suppress(ZeroDivisionError), transaction.atomic(), tenant_context(tenant):  # type: ignore[arg-type]
        seen.extend(raw_rows(sql))
        1 / 0  # noqa: B018
    return seen


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


def test_every_way_of_sending_a_statement_sees_the_context_of_its_moment(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    for setup in (acme, globex):
        with tenant_context(setup.tenant):
            Customer.objects.create(name=f"{setup.tenant.slug} customer")
    assert acme.client().get("/api/v1/customers").status_code == 200

    # No context: a raw server-side-bound cursor (core/bulk.py's) and a COPY.
    assert _execute_binary(f"{SETTING}::text", [], fetch=True) == [""]
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY (SELECT count(*) FROM customers_customer) TO STDOUT") as copy,
    ):
        assert list(copy.rows()) == [("0",)]
    with tenant_context(globex.tenant):
        assert list(Customer.objects.values_list("name", flat=True)) == ["globex customer"]
        assert _execute_binary(f"{SETTING}::text", [], fetch=True) == [str(globex.tenant.pk)]
        # A cursor opened in one context and used in another follows the context.
        with connection.cursor() as cursor:
            with tenant_context(acme.tenant):
                cursor.execute("SELECT name FROM customers_customer")
                assert cursor.fetchall() == [("acme customer",)]
            cursor.execute("SELECT name FROM customers_customer")
            assert cursor.fetchall() == [("globex customer",)]
    assert raw_rows(f"{SETTING}, count(*) FROM customers_customer") == [("", 0)]


def test_a_savepoint_rolled_back_does_not_leave_its_tenant_believed(
    acme: TenantSetup,
) -> None:
    # The savepoint is taken with no tenant on the session; acme's is written after it.
    assert _rolled_back(acme.tenant, SETTING) == [(str(acme.tenant.pk),)]
    # The rollback took acme's value off the session: it is written again.
    with tenant_context(acme.tenant):
        assert raw_rows(SETTING) == [(str(acme.tenant.pk),)]


def test_a_rollback_never_leaves_platform_access_on_under_a_tenant(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    for setup in (acme, globex):
        with tenant_context(setup.tenant):
            Customer.objects.create(name=setup.tenant.slug)
    with platform_access():
        assert raw_rows("SELECT count(*) FROM customers_customer") == [(2,)]
        # The savepoint is taken under platform access; acme's context is written after it.
        assert _rolled_back(acme.tenant, "SELECT count(*) FROM customers_customer") == [(1,)]
        # The rollback put platform access back on the session: acme must not inherit it.
        with tenant_context(acme.tenant):
            assert raw_rows("SELECT count(*) FROM customers_customer") == [(1,)]
            assert list(Customer.objects.values_list("name", flat=True)) == ["acme"]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_rolled_back_does_not_leave_its_tenant_believed() -> None:
    acme = make_tenant("acme")
    assert raw_rows(SETTING) == [("",)]
    # BEGIN is sent with no tenant on the session; acme's is written inside.
    assert _rolled_back(acme.tenant, SETTING) == [(str(acme.tenant.pk),)]
    with tenant_context(acme.tenant):
        assert raw_rows(SETTING) == [(str(acme.tenant.pk),)]
    assert raw_rows(SETTING) == [("",)]
