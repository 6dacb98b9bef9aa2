"""The scoping manager: the first wall, on every database."""

import pytest

from core.errors import TenantNotSet
from customers.models import Customer
from tenants.context import current_tenant, platform_access, tenant_context
from tests.conftest import TenantSetup


def test_reading_tenant_owned_data_with_no_tenant_raises(acme: TenantSetup) -> None:
    with pytest.raises(TenantNotSet, match="Customer was queried with no tenant set"):
        list(Customer.objects.all())


def test_the_default_manager_sees_only_the_current_tenant(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    with tenant_context(acme.tenant):
        Customer.objects.create(name="Ana")
    with tenant_context(globex.tenant):
        Customer.objects.create(name="Bruno")

    with tenant_context(acme.tenant):
        names = list(Customer.objects.values_list("name", flat=True))
        assert Customer.objects.filter(name="Bruno").count() == 0

    assert names == ["Ana"]


def test_a_new_row_takes_the_current_tenant(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        customer = Customer.objects.create(name="Ana")

    assert customer.tenant_id == acme.tenant.pk
    assert customer.public_id.startswith("cus_")


def test_saving_another_tenants_row_is_refused(acme: TenantSetup, globex: TenantSetup) -> None:
    with tenant_context(globex.tenant):
        bruno = Customer.objects.create(name="Bruno")

    bruno.name = "hijacked"
    with tenant_context(acme.tenant), pytest.raises(TenantNotSet, match="Refusing to save"):
        bruno.save()

    with tenant_context(globex.tenant):
        assert Customer.objects.get(pk=bruno.pk).name == "Bruno"


def test_saving_with_no_tenant_is_refused(acme: TenantSetup) -> None:
    with pytest.raises(TenantNotSet):
        Customer(tenant=acme.tenant, name="Orphan").save()


def test_platform_access_is_explicit_and_scoped(acme: TenantSetup, globex: TenantSetup) -> None:
    for setup in (acme, globex):
        with tenant_context(setup.tenant):
            Customer.objects.create(name=setup.tenant.slug)

    with platform_access():
        everyone = sorted(Customer.objects.values_list("name", flat=True))

    assert everyone == ["acme", "globex"]
    with pytest.raises(TenantNotSet):
        Customer.objects.count()


def test_contexts_nest_and_restore(acme: TenantSetup, globex: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        with tenant_context(globex.tenant):
            assert current_tenant() == globex.tenant
        assert current_tenant() == acme.tenant
    assert current_tenant() is None


def test_an_exception_inside_a_context_still_restores_it(acme: TenantSetup) -> None:
    with pytest.raises(ZeroDivisionError), tenant_context(acme.tenant):
        1 / 0  # noqa: B018

    assert current_tenant() is None
