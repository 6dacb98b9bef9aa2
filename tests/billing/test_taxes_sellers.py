"""Tax rates and sellers: their services validate, write once, and tell the log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.models import Seller, SellerPlanCap, TaxRate
from billing.sellers import seller_cap_set, seller_create, seller_update
from billing.taxes import tax_rate_archive, tax_rate_create, tax_rate_update
from core import clock
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from subscriptions import services as subs
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.conftest import TenantSetup

ACTOR = Actor.system("tests")


def _events(setup: TenantSetup) -> list[str]:
    from tenants.models import Event

    with tenant_context(setup.tenant):
        return list(Event.objects.order_by("id").values_list("type", flat=True))


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_a_tax_rate_is_created_updated_and_archived(acme: TenantSetup) -> None:
    t = acme.tenant
    with tenant_context(t):
        rate = tax_rate_create(
            tenant=t, name=" ISS ", percent=Decimal("2.5"), actor=ACTOR, now=clock.now()
        )
        assert (rate.name, rate.percent, rate.inclusive, rate.active) == (
            "ISS",
            Decimal("2.5"),
            False,
            True,
        )
        tax_rate_update(
            tenant=t,
            tax_rate_id=rate.pk,
            name="ISS SP",
            percent=Decimal("5.0125"),
            inclusive=True,
            actor=ACTOR,
            now=clock.now(),
        )
        tax_rate_archive(tenant=t, tax_rate_id=rate.pk, actor=ACTOR, now=clock.now())
        rate.refresh_from_db()
        assert (rate.name, rate.percent, rate.inclusive, rate.active) == (
            "ISS SP",
            Decimal("5.0125"),
            True,
            False,
        )
        actions = _actions()
        update = AuditEntry.objects.get(action="tax_rate.updated")
    assert actions[-3:] == ["tax_rate.created", "tax_rate.updated", "tax_rate.archived"]
    assert update.changes == {
        "name": ["ISS", "ISS SP"],
        "percent": ["2.5000", "5.0125"],
        "inclusive": [False, True],
    }
    assert _events(acme)[-3:] == ["tax_rate.created", "tax_rate.updated", "tax_rate.updated"]


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"percent": Decimal("-0.0001")}, "percent"),
        ({"percent": Decimal("100.0001")}, "percent"),
        ({"percent": Decimal("1.00001")}, "percent"),
        ({"percent": Decimal("NaN")}, "percent"),
        ({"percent": Decimal("Infinity")}, "percent"),
        ({"percent": 5.5}, "percent"),
        ({"percent": "5"}, "percent"),
        ({"percent": True}, "percent"),
    ],
)
def test_bad_tax_rates_are_refused_and_nothing_is_written(
    acme: TenantSetup, kw: dict[str, Any], param: str
) -> None:
    t = acme.tenant
    args: dict[str, Any] = {"name": "ISS", "percent": Decimal(5)} | kw
    with tenant_context(t):
        rate = TaxRate.objects.create(tenant=t, name="VAT", percent=Decimal(20))
        before = AuditEntry.objects.count()
        with pytest.raises(ValidationFailed) as created:
            tax_rate_create(tenant=t, actor=ACTOR, now=clock.now(), **args)
        with pytest.raises(ValidationFailed) as updated:
            tax_rate_update(
                tenant=t, tax_rate_id=rate.pk, inclusive=False, actor=ACTOR, now=clock.now(), **args
            )
        assert created.value.param == updated.value.param == param
        assert list(TaxRate.objects.values_list("name", "percent")) == [("VAT", Decimal(20))]
        assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("percent", ["0", "100", "0.0001", "12.3456"])
def test_the_edges_of_a_rate_are_taken(acme: TenantSetup, percent: str) -> None:
    with tenant_context(acme.tenant):
        rate = tax_rate_create(
            tenant=acme.tenant, name="T", percent=Decimal(percent), actor=ACTOR, now=clock.now()
        )
        rate.refresh_from_db()
    assert rate.percent == Decimal(percent)


def test_an_archived_rate_cannot_change_or_be_archived_again(acme: TenantSetup) -> None:
    t = acme.tenant
    with tenant_context(t):
        rate = tax_rate_create(
            tenant=t, name="ISS", percent=Decimal(5), actor=ACTOR, now=clock.now()
        )
        tax_rate_archive(tenant=t, tax_rate_id=rate.pk, actor=ACTOR, now=clock.now())
        with pytest.raises(StateConflict):
            tax_rate_archive(tenant=t, tax_rate_id=rate.pk, actor=ACTOR, now=clock.now())
        with pytest.raises(StateConflict):
            tax_rate_update(
                tenant=t,
                tax_rate_id=rate.pk,
                name="X",
                percent=Decimal(1),
                inclusive=False,
                actor=ACTOR,
                now=clock.now(),
            )


def test_another_tenants_rate_or_seller_is_not_found(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    with tenant_context(globex.tenant):
        rate = TaxRate.objects.create(tenant=globex.tenant, name="VAT", percent=Decimal(20))
        seller = Seller.objects.create(tenant=globex.tenant, name="Bia")
    a = acme.tenant
    with tenant_context(a):
        with pytest.raises(NotFound):
            tax_rate_archive(tenant=a, tax_rate_id=rate.pk, actor=ACTOR, now=clock.now())
        with pytest.raises(NotFound):
            seller_update(
                tenant=a, seller_id=seller.pk, name="X", email="", actor=ACTOR, now=clock.now()
            )
        with pytest.raises(NotFound):
            seller_cap_set(
                tenant=a,
                seller_id=seller.pk,
                plan_code="x",
                max_percent=Decimal(1),
                actor=ACTOR,
                now=clock.now(),
            )
    with tenant_context(globex.tenant):
        rate.refresh_from_db()
        seller.refresh_from_db()
    assert rate.active
    assert seller.name == "Bia"


def test_a_seller_is_created_updated_and_capped(acme: TenantSetup) -> None:
    t = acme.tenant
    with tenant_context(t):
        product = subs.product_create(tenant=t, name="P", actor=ACTOR, now=clock.now())
        subs.plan_create(
            tenant=t,
            product=product,
            code="mensal",
            name="Mensal",
            currency="BRL",
            amount_minor=1000,
            actor=ACTOR,
            now=clock.now(),
        )
        seller = seller_create(tenant=t, name=" Bia ", actor=ACTOR, now=clock.now())
        seller_update(
            tenant=t,
            seller_id=seller.pk,
            name="Bia Costa",
            email="bia@example.com",
            actor=ACTOR,
            now=clock.now(),
        )
        cap = seller_cap_set(
            tenant=t,
            seller_id=seller.pk,
            plan_code="mensal",
            max_percent=Decimal("15.5"),
            actor=ACTOR,
            now=clock.now(),
        )
        assert cap is not None
        seller_cap_set(
            tenant=t,
            seller_id=seller.pk,
            plan_code="mensal",
            max_percent=Decimal(20),
            actor=ACTOR,
            now=clock.now(),
        )
        assert SellerPlanCap.objects.get().max_percent == Decimal(20)
        removed = seller_cap_set(
            tenant=t,
            seller_id=seller.pk,
            plan_code="mensal",
            max_percent=None,
            actor=ACTOR,
            now=clock.now(),
        )
        seller.refresh_from_db()
        update = AuditEntry.objects.get(action="seller.updated")
        caps = list(
            AuditEntry.objects.filter(action="seller.cap_set")
            .order_by("id")
            .values_list("changes", flat=True)
        )
    assert removed is None
    assert (seller.name, seller.email) == ("Bia Costa", "bia@example.com")
    # The log keeps that the email changed, not the address.
    assert update.changes == {"name": ["Bia", "Bia Costa"], "email": "changed"}
    assert [c["max_percent"] for c in caps] == [
        [None, "15.50"],
        ["15.50", "20.00"],
        ["20.00", None],
    ]
    with tenant_context(t):
        assert not SellerPlanCap.objects.exists()


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"email": "nope"}, "email"),
        ({"email": None}, "email"),
    ],
)
def test_bad_sellers_are_refused(acme: TenantSetup, kw: dict[str, Any], param: str) -> None:
    args: dict[str, Any] = {"name": "Bia", "email": ""} | kw
    with tenant_context(acme.tenant):
        with pytest.raises(ValidationFailed) as caught:
            seller_create(tenant=acme.tenant, actor=ACTOR, now=clock.now(), **args)
        assert caught.value.param == param
        assert not Seller.objects.exists()


@pytest.mark.parametrize(
    ("plan_code", "max_percent", "param"),
    [
        ("nope", Decimal(10), "plan_code"),
        ("mensal", Decimal(-1), "max_percent"),
        ("mensal", Decimal("100.01"), "max_percent"),
        ("mensal", Decimal("1.001"), "max_percent"),
        ("mensal", Decimal("NaN"), "max_percent"),
        ("mensal", 10.5, "max_percent"),
    ],
)
def test_bad_caps_are_refused(
    acme: TenantSetup, plan_code: str, max_percent: Any, param: str
) -> None:
    t = acme.tenant
    with tenant_context(t):
        product = subs.product_create(tenant=t, name="P", actor=ACTOR, now=clock.now())
        subs.plan_create(
            tenant=t,
            product=product,
            code="mensal",
            name="Mensal",
            currency="BRL",
            amount_minor=1000,
            actor=ACTOR,
            now=clock.now(),
        )
        seller = Seller.objects.create(tenant=t, name="Bia")
        with pytest.raises(ValidationFailed) as caught:
            seller_cap_set(
                tenant=t,
                seller_id=seller.pk,
                plan_code=plan_code,
                max_percent=max_percent,
                actor=ACTOR,
                now=clock.now(),
            )
        assert caught.value.param == param
        assert not SellerPlanCap.objects.exists()


def test_a_product_is_updated_and_archived_with_its_plans(acme: TenantSetup) -> None:
    t = acme.tenant
    with tenant_context(t):
        product = subs.product_create(tenant=t, name="P", actor=ACTOR, now=clock.now())
        plan = subs.plan_create(
            tenant=t,
            product=product,
            code="mensal",
            name="Mensal",
            currency="BRL",
            amount_minor=1000,
            actor=ACTOR,
            now=clock.now(),
        )
        with pytest.raises(ValidationFailed):
            subs.product_update(
                tenant=t,
                product_id=product.pk,
                name=" ",
                description="",
                actor=ACTOR,
                now=clock.now(),
            )
        subs.product_update(
            tenant=t, product_id=product.pk, name="Q", description="d", actor=ACTOR, now=clock.now()
        )
        subs.product_archive(tenant=t, product_id=product.pk, actor=ACTOR, now=clock.now())
        with pytest.raises(StateConflict):
            subs.product_archive(tenant=t, product_id=product.pk, actor=ACTOR, now=clock.now())
        product.refresh_from_db()
        plan.refresh_from_db()
    assert (product.name, product.description, product.active, plan.active) == (
        "Q",
        "d",
        False,
        False,
    )
