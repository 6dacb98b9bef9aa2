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
from django.utils.translation import gettext

from billing.models import Invoice, PaymentAttempt
from billing.payments.charges import invoice_charge
from billing.payments.methods import payment_method_attach_offline
from billing.pix_automatico import pix_automatico_offered
from billing.setup import card_setup_complete, card_verify
from billing.subscriptions import (
    CreatePreview,
    subscription_create,
    subscription_preview_create,
)
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from customers.domain.address import normalize_address
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
    # Pix for a recurring plan where the merchant offers Pix Automático: no charge
    # is made; the caller asks for the mandate (journey 3) once this commits.
    pix_automatico: bool = False


def checkout_plan(*, tenant: Tenant, plan_id: str) -> Plan:
    """An active plan of ``tenant`` by its public id; a shared link to an older
    version of the plan opens its current version (a price change must not
    break the links a merchant has printed). Anything else: not found."""
    plan = (
        Plan.objects.filter(tenant=tenant, public_id=plan_id).first()
        if isinstance(plan_id, str) and "\x00" not in plan_id and len(plan_id) <= 64
        else None
    )
    for _hop in range(100):
        if plan is None or plan.superseded_by_id is None:
            break
        plan = Plan.objects.filter(tenant=tenant, pk=plan.superseded_by_id).first()
    if plan is None or not plan.active or plan.superseded_by_id is not None:
        raise NotFound("No such plan.", param="plan")
    return Plan.objects.select_related("product", "tax_rate").get(pk=plan.pk)


def payment_choices(plan: Plan) -> tuple[str, ...]:
    """How a visitor may pay for ``plan`` at checkout: card; boleto and Pix in reais."""
    return ("card", "boleto", "pix") if plan.currency == "BRL" else ("card",)


def _installments(value: Any, plan: Plan) -> int | None:
    """None (pay at once) or 2 up to the plan's maximum."""
    text = value.strip() if isinstance(value, str) else ""
    if text in ("", "1"):
        return None
    if not text.isdigit() or not 2 <= int(text) <= plan.max_installments:
        raise ValidationFailed(
            "Choose a number of installments this plan allows.", param="installments"
        )
    return int(text)


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


def checkout_quote(
    *, tenant: Tenant, plan: Plan, now: datetime, quantity: Any = 1, coupon: Any = ""
) -> CreatePreview:
    """The exact total before confirming, and the next charge: the engine's own
    dry run of the subscription for a visitor (``subscription_preview_create``),
    so setup fee, coupon, taxes and trial come out exactly as the real checkout
    will charge them and nothing stays. A bad quantity or coupon raises the same
    error (and param) the checkout would."""
    if plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="plan")
    count = _quantity(quantity)
    code = _text("coupon", coupon, required=False, limit=100)
    return subscription_preview_create(
        tenant=tenant,
        customer=None,
        plan=plan,
        now=now,
        quantity=count,
        coupon=code or None,
    )


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
    method: Any = "card",
    installments: Any = "",
    address: Any = None,
) -> CheckoutResult:
    """Create the customer, save the card the sandbox tokenizer collected and
    subscribe them to ``plan``, all or nothing. The first charge is not made
    here (a gateway is never called inside a transaction): see ``checkout_charge``."""
    if plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="plan")
    values: dict[str, Any] = {
        "quantity": _quantity(quantity),
        "name": _text("name", name, required=True),
        "email": _text("email", email, required=True, limit=254),
        "phone": _text("phone", phone, required=False, limit=40),
        "tax_id": _text("tax_id", tax_id, required=False, limit=40),
        "coupon": _text("coupon", coupon, required=False, limit=100),
        "reference": _text("reference", card_reference, required=False),
    }
    # Installments are offered with the card (the select sits among its fields).
    parts = _installments(installments, plan) if method == "card" else None
    if method not in payment_choices(plan):
        raise ValidationFailed("Choose a payment method.", param="method")
    if method == "card":
        if not values["reference"]:
            raise ValidationFailed("Enter your card details.", param="card")
        try:
            # Before anything is written: a declined card creates nothing.
            card_verify(gateway="sandbox", reference=values["reference"])
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, param="card", code=exc.code) from exc
    elif method == "boleto" and not values["tax_id"]:
        raise ValidationFailed("A boleto needs your CPF or CNPJ.", param="tax_id")
    recurring_pix = method == "pix" and pix_automatico_offered(tenant=tenant, plan=plan)
    if recurring_pix and not values["tax_id"]:
        raise ValidationFailed(gettext("Pix Automático needs your CPF or CNPJ."), param="tax_id")
    # The billing address (param "address.<key>" on a bad part); banks print
    # it on the slip, so a boleto needs one; by card or Pix it is optional.
    billing_address = normalize_address(address)
    if method == "boleto" and not billing_address:
        raise ValidationFailed(gettext("A boleto needs your billing address."), param="address")
    actor = Actor.system("checkout")
    customer = customer_create(
        tenant=tenant,
        name=values["name"],
        email=values["email"],
        phone=values["phone"],
        tax_id=values["tax_id"],
        address=billing_address,
        actor=actor,
        now=now,
    )
    actor = Actor.subscriber(customer)
    if method == "card":
        try:
            payment = card_setup_complete(
                tenant=tenant,
                customer=customer,
                gateway="sandbox",
                reference=values["reference"],
                actor=actor,
                now=now,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, param="card", code=exc.code) from exc
    elif recurring_pix:
        payment = None  # the mandate's method becomes the subscription's once authorised
    else:
        payment = payment_method_attach_offline(
            tenant=tenant, customer=customer, kind=method, actor=actor, now=now
        )
    sub = subscription_create(
        tenant=tenant,
        customer=customer,
        plan=plan,
        actor=actor,
        now=now,
        quantity=values["quantity"],
        coupon=values["coupon"] or None,
        payment_method=payment,
        installments=parts,
    )
    invoice = (
        Invoice.objects.filter(
            tenant=tenant, subscription=sub, billing_reason=Invoice.Reason.SUBSCRIPTION_CREATE
        )
        .order_by("id")
        .first()
    )
    return CheckoutResult(
        customer=customer, subscription=sub, invoice=invoice, pix_automatico=recurring_pix
    )


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
    first_part = invoice.installments.order_by("number").first()
    return invoice_charge(
        tenant=tenant,
        invoice_id=invoice.pk,
        now=now,
        installment_id=first_part.pk if first_part is not None else None,
    )
