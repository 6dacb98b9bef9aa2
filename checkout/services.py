"""The hosted checkout's one write: a visitor becomes a subscriber.

A screen app on top of the domain: the rules live in the domain services it
calls (customers, billing.setup, billing.subscriptions); this module checks the
checkout's own input and runs them in one transaction, so a refused coupon, an
invalid CPF or a bad card token leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from billing.models import Invoice, PaymentAttempt
from billing.payments.charges import invoice_charge
from billing.setup import card_setup_complete, card_verify
from billing.subscriptions import subscription_create
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from customers.models import Customer
from customers.services import customer_create
from subscriptions.models import Plan, Subscription
from tenants.models import Tenant

MAX_QUANTITY = 10_000


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    customer: Customer
    subscription: Subscription
    invoice: Invoice | None  # the first invoice when something is due now


def checkout_plan(*, tenant: Tenant, plan_id: str) -> Plan:
    """An active, current plan of ``tenant`` by its public id (anything else: not found)."""
    plan = (
        Plan.objects.filter(
            tenant=tenant, public_id=plan_id, active=True, superseded_by__isnull=True
        )
        .select_related("product")
        .first()
        if isinstance(plan_id, str) and "\x00" not in plan_id
        else None
    )
    if plan is None:
        raise NotFound("No such plan.", param="plan")
    return plan


def _quantity(value: Any) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed("Enter a whole number.", param="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            f"The quantity must be between 1 and {MAX_QUANTITY}.", param="quantity"
        )
    return quantity


def _text(field: str, value: Any, *, required: bool, limit: int = 200) -> str:
    if not isinstance(value, str):
        value = ""
    value = value.strip()
    if "\x00" in value or any(ord(ch) < 32 for ch in value):
        raise ValidationFailed("Remove the control characters.", param=field)
    if required and not value:
        raise ValidationFailed("This field is required.", param=field)
    if len(value) > limit:
        raise ValidationFailed(f"At most {limit} characters.", param=field)
    return value


@transaction.atomic
def checkout_subscribe(
    *,
    tenant: Tenant,
    plan: Plan,
    now: datetime,
    name: Any,
    email: Any,
    card_reference: Any,
    quantity: Any = 1,
    phone: Any = "",
    tax_id: Any = "",
    coupon: Any = "",
) -> CheckoutResult:
    """Create the customer, save the card the sandbox tokenizer collected and
    subscribe them to ``plan``, all or nothing. The first charge is not made
    here (a gateway is never called inside a transaction): see ``checkout_charge``."""
    if plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="plan")
    values = {
        "quantity": _quantity(quantity),
        "name": _text("name", name, required=True),
        "email": _text("email", email, required=True, limit=254),
        "phone": _text("phone", phone, required=False, limit=40),
        "tax_id": _text("tax_id", tax_id, required=False, limit=40),
        "coupon": _text("coupon", coupon, required=False, limit=100),
        "reference": _text("reference", card_reference, required=False),
    }
    if not values["reference"]:
        raise ValidationFailed("Enter your card details.", param="card")
    try:
        # Before anything is written: a declined card creates nothing.
        card_verify(gateway="sandbox", reference=values["reference"])
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, param="card", code=exc.code) from exc
    actor = Actor.system("checkout")
    customer = customer_create(
        tenant=tenant,
        name=values["name"],
        email=values["email"],
        phone=values["phone"],
        tax_id=values["tax_id"],
        actor=actor,
        now=now,
    )
    actor = Actor.subscriber(customer)
    try:
        method = card_setup_complete(
            tenant=tenant,
            customer=customer,
            gateway="sandbox",
            reference=values["reference"],
            actor=actor,
            now=now,
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, param="card", code=exc.code) from exc
    sub = subscription_create(
        tenant=tenant,
        customer=customer,
        plan=plan,
        actor=actor,
        now=now,
        quantity=values["quantity"],
        coupon=values["coupon"] or None,
        payment_method=method,
    )
    invoice = (
        Invoice.objects.filter(
            tenant=tenant, subscription=sub, billing_reason=Invoice.Reason.SUBSCRIPTION_CREATE
        )
        .order_by("id")
        .first()
    )
    return CheckoutResult(customer=customer, subscription=sub, invoice=invoice)


def checkout_charge(*, tenant: Tenant, invoice: Invoice, now: datetime) -> PaymentAttempt | None:
    """The first charge's outcome, charging now unless a worker already did
    (the billing run sends a charge task when the subscription commits; the
    attempt protocol lets only one of them reach the gateway)."""
    invoice.refresh_from_db()
    if invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
        return invoice.attempts.order_by("-number").first()
    attempt = invoice.attempts.order_by("-number").first()
    if attempt is not None:
        return attempt
    return invoice_charge(tenant=tenant, invoice_id=invoice.pk, now=now)
