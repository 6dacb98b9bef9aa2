"""Helpers for billing tests: a tenant with a catalog, customers on test clocks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing import subscriptions as billing_subs
from billing.clocks import clock_advance, clock_create
from billing.models import Invoice, TaxRate
from core.actors import Actor
from customers.models import Customer, TestClock
from subscriptions import services as subs
from subscriptions.models import Plan, Product, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.conftest import make_tenant

ACTOR = Actor.system("tests")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class World:
    """One tenant, in context, with a test clock and helpers around the services."""

    tenant: Tenant
    clock: TestClock
    product: Product

    @property
    def now(self) -> datetime:
        self.clock.refresh_from_db()
        return self.clock.frozen_time

    def plan(
        self, code: str = "basic", amount: int = 10_000, currency: str = "BRL", **kw: Any
    ) -> Plan:
        return subs.plan_create(
            tenant=self.tenant,
            product=self.product,
            code=code,
            name=kw.pop("name", code.title()),
            currency=currency,
            amount_minor=amount,
            actor=ACTOR,
            now=self.now,
            **kw,
        )

    def tax(self, percent: str, inclusive: bool = False, name: str = "ISS") -> TaxRate:
        return TaxRate.objects.create(
            tenant=self.tenant, name=name, percent=Decimal(percent), inclusive=inclusive
        )

    def customer(self, name: str = "Ana") -> Customer:
        return Customer.objects.create(tenant=self.tenant, name=name, test_clock=self.clock)

    def subscribe(self, plan: Plan, customer: Customer | None = None, **kw: Any) -> Subscription:
        return billing_subs.subscription_create(
            tenant=self.tenant,
            customer=customer or self.customer(),
            plan=plan,
            actor=ACTOR,
            now=self.now,
            **kw,
        )

    def advance(self, to: datetime) -> None:
        clock_advance(tenant=self.tenant, clock_id=self.clock.pk, to=to, actor=ACTOR, now=to)

    def invoices(self, sub: Subscription | None = None) -> list[Invoice]:
        qs = Invoice.objects.filter(tenant=self.tenant).prefetch_related("lines")
        if sub is not None:
            qs = qs.filter(subscription=sub)
        return list(qs.order_by("issued_at", "id"))

    def refresh(self, sub: Subscription) -> Subscription:
        return Subscription.objects.select_related("plan").get(pk=sub.pk)


@contextmanager
def world(
    start: datetime, *, slug: str = "acme", time_zone: str = "America/Sao_Paulo", **tenant_kw: Any
) -> Iterator[World]:
    setup = make_tenant(slug)
    tenant = setup.tenant
    Tenant.objects.filter(pk=tenant.pk).update(time_zone=time_zone, **tenant_kw)
    tenant.refresh_from_db()
    with tenant_context(tenant):
        clock = clock_create(tenant=tenant, frozen_time=start, actor=ACTOR, now=start)
        product = subs.product_create(tenant=tenant, name="Product", actor=ACTOR, now=start)
        yield World(tenant=tenant, clock=clock, product=product)


def summary(invoice: Invoice, tz: str = "America/Sao_Paulo") -> tuple[Any, ...]:
    """(local issue date, reason, total, [(kind, amount, discount, tax, total)])."""
    from subscriptions.domain.cycles import local_date

    return (
        str(local_date(invoice.issued_at, tz)),
        invoice.billing_reason,
        invoice.total_minor,
        [
            (line.kind, line.amount_minor, line.discount_minor, line.tax_minor, line.total_minor)
            for line in invoice.lines.all()
        ],
    )
