"""``subscription_preview_create``: the first invoice of a new subscription,
exactly what ``subscription_create`` then writes, with nothing kept and nothing
charged. Transactional database: the charge on commit is real here (sandbox
gateway, eager Celery), so a leak from the preview would show as an attempt."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.coupons import coupon_create
from billing.gateways.sandbox import SandboxGateway
from billing.models import (
    CouponRedemption,
    Installment,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    SandboxCharge,
)
from billing.payments import payment_method_attach
from billing.subscriptions import subscription_create, subscription_preview_create
from billing.taxes import tax_rate_create
from core.errors import DomainError
from customers.models import Customer
from subscriptions.models import Subscription
from tenants.context import platform_access
from tenants.models import AuditEntry, Event
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _state(tenant: Any) -> dict[str, int]:
    with platform_access():
        charges = SandboxCharge.objects.count()
    return {
        "subscriptions": Subscription.objects.filter(tenant=tenant).count(),
        "invoices": Invoice.objects.filter(tenant=tenant).count(),
        "lines": InvoiceLine.objects.filter(tenant=tenant).count(),
        "installments": Installment.objects.filter(tenant=tenant).count(),
        "redemptions": CouponRedemption.objects.filter(tenant=tenant).count(),
        "attempts": PaymentAttempt.objects.filter(tenant=tenant).count(),
        "events": Event.objects.filter(tenant=tenant).count(),
        "audit": AuditEntry.objects.filter(tenant=tenant).count(),
        "charges": charges,
    }


FIELDS = (
    "kind",
    "description",
    "quantity",
    "amount_minor",
    "tax_minor",
    "discount_minor",
    "total_minor",
    "period_start",
    "period_end",
)


def _row(line: Any) -> tuple[Any, ...]:
    return tuple(getattr(line, name) for name in FIELDS)


def _lines(invoice: Invoice) -> list[tuple[Any, ...]]:
    return [_row(line) for line in invoice.lines.order_by("position", "pk")]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"coupon": "HALF"},
        {"installments": 3},
        {"coupon": "HALF", "installments": 2, "collection_method": "send_invoice"},
    ],
)
def test_the_preview_is_what_creating_writes_and_nothing_is_kept_or_charged(
    options: dict[str, Any],
) -> None:
    with world(NOW) as w:
        iss = tax_rate_create(tenant=w.tenant, name="ISS", percent=Decimal(5), actor=ACTOR, now=NOW)
        plan = w.plan(
            "pro", 9_990, name="Pro", setup_fee_minor=4_990, tax_rate=iss, max_installments=3
        )
        coupon_create(tenant=w.tenant, code="HALF", percent_off=Decimal(50), actor=ACTOR, now=NOW)
        customer = w.customer()
        gateway = SandboxGateway()
        saved = gateway.tokenize_card(
            number="4242 4242 4242 4242", exp_month=12, exp_year=2030, cvc="123"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        before = _state(w.tenant)

        preview = subscription_preview_create(
            tenant=w.tenant, customer=customer, plan=plan, now=w.now, **options
        )

        assert _state(w.tenant) == before
        sub = subscription_create(
            tenant=w.tenant, customer=customer, plan=plan, actor=ACTOR, now=w.now, **options
        )
        first = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
        assert [_row(line) for line in preview.lines] == _lines(first)
        assert (preview.total_minor, preview.tax_minor, preview.amount_due_minor) == (
            first.total_minor,
            first.tax_minor,
            first.amount_due_minor,
        )
        assert preview.installments == [
            (i.due_at, i.amount_minor) for i in first.installments.order_by("number")
        ]
        assert (preview.status, preview.period_end) == (sub.status, sub.current_period_end)
        if options.get("collection_method") != "send_invoice":
            # Creating for real does charge on commit: the preview's rollback is
            # what kept the charge from happening above.
            assert PaymentAttempt.objects.filter(invoice=first).exists()


def test_a_trial_previews_nothing_billed_now() -> None:
    with world(NOW) as w:
        plan = w.plan("pro", 9_990, trial_days=14)
        customer = w.customer()

        preview = subscription_preview_create(
            tenant=w.tenant, customer=customer, plan=plan, now=w.now
        )

        assert preview.lines == []
        assert preview.total_minor == 0
        assert preview.trial_end == utc(2026, 6, 15, 15)


def test_the_preview_raises_what_creating_would_and_keeps_nothing() -> None:
    with world(NOW) as w:
        plan = w.plan("flat", 9_990)
        customer = w.customer()
        before = _state(w.tenant)

        with pytest.raises(DomainError) as quantity:
            subscription_preview_create(
                tenant=w.tenant, customer=customer, plan=plan, now=w.now, quantity=2
            )
        with pytest.raises(DomainError) as coupon:
            subscription_preview_create(
                tenant=w.tenant, customer=customer, plan=plan, now=w.now, coupon="NOPE"
            )
        with pytest.raises(DomainError) as parts:
            subscription_preview_create(
                tenant=w.tenant, customer=customer, plan=plan, now=w.now, installments=2
            )

        assert (quantity.value.param, coupon.value.param, parts.value.param) == (
            "quantity",
            "coupon",
            "count",
        )
        assert _state(w.tenant) == before


def test_a_visitor_is_priced_on_a_stand_in_customer_that_does_not_stay() -> None:
    """A checkout's quote: no customer yet. The trial's end is the first charge,
    priced as the run will price it; no customer row (or anything else) is left."""
    with world(NOW) as w:
        plan = w.plan("pro", 9_990, trial_days=14)
        before = _state(w.tenant)
        customers = Customer.objects.filter(tenant=w.tenant).count()

        preview = subscription_preview_create(tenant=w.tenant, customer=None, plan=plan, now=w.now)

        assert preview.total_minor == 0
        assert preview.next_charge_at == utc(2026, 6, 15, 15)
        assert preview.next_total_minor == 9_990
        assert _state(w.tenant) == before
        assert Customer.objects.filter(tenant=w.tenant).count() == customers
