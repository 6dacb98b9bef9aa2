"""Row-level security: the database itself keeps tenants apart."""

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from customers.models import Customer
from tenants.context import platform_access, tenant_context
from tenants.models import TenantOwned
from tenants.rls import POLICY_NAME
from tests.conftest import TenantSetup, raw_rows

pytestmark = pytest.mark.postgres


def _seed_customers(*setups: TenantSetup) -> None:
    for setup in setups:
        with tenant_context(setup.tenant):
            Customer.objects.create(name=f"{setup.tenant.slug} customer", email="c@example.com")


def test_the_application_connects_as_a_role_that_owns_nothing(db: None) -> None:
    [(user, superuser, bypass)] = raw_rows(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    owners = {
        row[0] for row in raw_rows("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
    }

    assert user == "ciclo_app"
    assert (superuser, bypass) == (False, False)
    assert user not in owners


def test_every_tenant_owned_table_has_a_forced_policy(db: None) -> None:
    tables = sorted(
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, TenantOwned) and not m._meta.abstract
    )
    rows = raw_rows(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policies p
                 WHERE p.tablename = c.relname AND p.policyname = %s)
        FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname
        """,
        [POLICY_NAME, tables],
    )

    assert len(tables) >= 4
    assert rows == [(t, True, True, 1) for t in tables]


def test_unfiltered_select_under_tenant_a_returns_no_row_of_tenant_b(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    _seed_customers(acme, globex)

    with tenant_context(acme.tenant):
        seen = raw_rows("SELECT tenant_id, name FROM customers_customer")

    assert seen == [(acme.tenant.pk, "acme customer")]


def test_no_tenant_set_sees_no_row_at_all(acme: TenantSetup, globex: TenantSetup) -> None:
    _seed_customers(acme, globex)

    assert raw_rows("SELECT count(*) FROM customers_customer") == [(0,)]
    assert raw_rows("SELECT count(*) FROM tenants_apikey") == [(0,)]


def test_platform_access_sees_every_tenant(acme: TenantSetup, globex: TenantSetup) -> None:
    _seed_customers(acme, globex)

    with platform_access():
        seen = raw_rows("SELECT DISTINCT tenant_id FROM customers_customer ORDER BY 1")

    assert seen == sorted([(acme.tenant.pk,), (globex.tenant.pk,)])


def test_writing_a_row_for_another_tenant_is_refused_by_the_database(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    with (
        tenant_context(acme.tenant),
        pytest.raises(ProgrammingError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO customers_customer (tenant_id, public_id, name, email, phone, "
            "tax_id, locale, metadata, created_at) VALUES "
            "(%s, 'cus_forged', 'x', '', '', '', '', '{}', now())",
            [globex.tenant.pk],
        )

    with platform_access():
        assert not Customer.objects.filter(public_id="cus_forged").exists()


def test_updating_another_tenants_rows_touches_nothing(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    _seed_customers(acme, globex)

    with tenant_context(acme.tenant), connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET name = 'hijacked'")
        updated = cursor.rowcount

    assert updated == 1
    with platform_access():
        names = dict(Customer.objects.values_list("tenant_id", "name"))
    assert names == {acme.tenant.pk: "hijacked", globex.tenant.pk: "globex customer"}


def test_the_connection_setting_follows_nested_contexts(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    def setting() -> object:
        return raw_rows("SELECT current_setting('ciclo.tenant_id', true)")[0][0]

    with tenant_context(acme.tenant):
        assert setting() == str(acme.tenant.pk)
        with tenant_context(globex.tenant):
            assert setting() == str(globex.tenant.pk)
        assert setting() == str(acme.tenant.pk)
    assert setting() == ""
