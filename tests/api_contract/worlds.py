"""A tenant with one of every object the API serves, made through the services.

Shared by the contract tests: the isolation test points another tenant's key
at these ids, schemathesis explores around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models

from billing import coupons as billing_coupons
from billing import items as billing_items
from billing.gateways.sandbox import SandboxGateway
from billing.models import FulfilmentOrder, Invoice, PaymentAttempt
from billing.payments import payment_method_attach, payment_refund
from billing.return_files import boleto_return_file_process
from billing.sellers import seller_create
from billing.services import ManualLine, invoice_draft_create
from billing.taxes import tax_rate_create
from checkout.sessions import checkout_session_create
from notifications.webhooks import webhook_endpoint_create
from subscriptions import services as subs_services
from tenants.context import tenant_context
from tenants.models import Tenant, TenantOwned
from tenants.services import api_key_create
from tests.billing import cnab
from tests.conftest import TenantSetup
from tests.support.billing import ACTOR, world


@dataclass
class ApiWorld:
    setup: TenantSetup
    now: datetime
    # Public ids by the name a request body would use ("customer", "plan", …).
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant:
        return self.setup.tenant


def build_world(slug: str, now: datetime) -> ApiWorld:
    """One of every object, for ``slug``'s tenant; leaves no tenant in context."""
    with world(now, slug=slug) as w:
        key = api_key_create(tenant=w.tenant, name="contract tests", actor=ACTOR, now=now)
        setup = TenantSetup(tenant=w.tenant, owner=None, key=key)
        plan = w.plan(code="basic", amount=10_000)
        w.plan(code="pro", amount=20_000)
        w.plan(code="trial", amount=5_000, trial_days=14)
        coupon = billing_coupons.coupon_create(
            tenant=w.tenant, code="WELCOME10", percent_off=Decimal(10), actor=ACTOR, now=now
        )
        tax_rate = tax_rate_create(
            tenant=w.tenant, name="ISS", percent=Decimal(5), actor=ACTOR, now=now
        )
        customer = w.customer("Ana")
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=now.year + 5, cvc="123"
        )
        method = payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=now
        )
        sub = w.subscribe(plan, customer)  # first invoice paid by the card
        attempt = PaymentAttempt.objects.filter(invoice__subscription=sub).get()
        refund = payment_refund(
            tenant=w.tenant,
            attempt_id=attempt.pk,
            amount_minor=1_000,
            reason="Goodwill",
            actor=ACTOR,
            now=now,
        )
        draft = invoice_draft_create(
            tenant=w.tenant,
            customer=customer,
            currency="BRL",
            actor=ACTOR,
            now=now,
            lines=[ManualLine(description="Consulting", unit_amount_minor=2_500)],
        )
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        hook = webhook_endpoint_create(
            tenant=w.tenant,
            actor=ACTOR,
            now=now,
            url="http://localhost:9/hooks",
            enabled_events=["*"],
        ).endpoint
        checkout_session = checkout_session_create(
            tenant=w.tenant,
            actor=ACTOR,
            now=now,
            plan=plan.public_id,
            success_url="https://example.com/thanks",
        )
        seller = seller_create(tenant=w.tenant, name="Bia", actor=ACTOR, now=now)
        # Physical subscriptions (issue 17): a box plan, paid by the card, makes an order.
        box_plan = w.plan(code="box", amount=5_000, ships_goods=True, box_items="1 x Café")
        box_order = FulfilmentOrder.objects.get(subscription=w.subscribe(box_plan, customer))
        # Readjustment (issue 17): a series with a value, a policy, one decided.
        series = subs_services.index_series_create(
            tenant=w.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=now
        )
        subs_services.index_values_set(
            tenant=w.tenant,
            series_id=series.pk,
            values={date(2025, 1, 1): Decimal("0.16")},
            actor=ACTOR,
            now=now,
        )
        subs_services.readjustment_policy_set(
            tenant=w.tenant,
            plan_code="basic",
            method="fixed",
            series_id=None,
            fixed_percent=Decimal(5),
            period="anniversary",
            month=None,
            floor_percent=None,
            cap_percent=None,
            notice_days=30,
            automatic=False,
            actor=ACTOR,
            now=now,
        )
        readjustment = subs_services.readjustment_schedule(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=now
        ).readjustment
        return_file = boleto_return_file_process(
            tenant=w.tenant,
            content=cnab.return_file([cnab.Titulo("123", 1_000, 1_000)]),
            filename="ret.txt",
            actor=ACTOR,
            now=now,
        )
        # Add-ons (issue 16): one on the subscription, added without proration.
        addon = billing_items.subscription_item_add(
            tenant=w.tenant,
            subscription_id=sub.pk,
            plan=w.plan(code="storage", amount=3_100),
            actor=ACTOR,
            now=now,
            proration="none",
        )
        ids = {
            "subscription_item": addon.public_id,
            "boleto_return_file": return_file.public_id,
            "seller": seller.public_id,
            "product": w.product.public_id,
            "plan": plan.public_id,
            "coupon": coupon.public_id,
            "tax_rate": tax_rate.public_id,
            "customer": customer.public_id,
            "payment_method": method.public_id,
            "subscription": sub.public_id,
            "invoice": invoice.public_id,
            "draft_invoice": draft.public_id,
            "payment": attempt.public_id,
            "refund": refund.public_id,
            "test_clock": w.clock.public_id,
            "webhook_endpoint": hook.public_id,
            "checkout_session": checkout_session.public_id,
            "index_series": series.public_id,
            "readjustment": readjustment.public_id,
            "fulfilment_order": box_order.public_id,
        }
        if refund.credit_note_id is not None:
            ids["credit_note"] = refund.credit_note.public_id
    return ApiWorld(setup=setup, now=now, ids=ids)


def tenant_owned_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, TenantOwned)]


def snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row the tenant owns, plus the tenant itself: to compare before and after."""
    rows: dict[str, list[dict[str, Any]]] = {
        "tenants.Tenant": list(Tenant.objects.filter(pk=tenant.pk).values())
    }
    with tenant_context(tenant):
        for model in tenant_owned_models():
            rows[model._meta.label] = list(
                model.objects.for_tenant(tenant).order_by("pk").values()  # type: ignore[attr-defined]
            )
    return rows


def public_ids(tenant: Tenant) -> set[str]:
    """Every public id the tenant owns (what must never show up for another tenant)."""
    found: set[str] = set()
    with tenant_context(tenant):
        for model in tenant_owned_models():
            names = {f.name for f in model._meta.get_fields()}
            if "public_id" in names:
                found.update(
                    model.objects.for_tenant(tenant).values_list("public_id", flat=True)  # type: ignore[attr-defined]
                )
    return found


def later(now: datetime, days: int) -> str:
    return (now + timedelta(days=days)).isoformat()
