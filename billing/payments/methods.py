"""Payment methods on a customer: what a gateway saved (a token, never a card
number), boleto and Pix (nothing to tokenize), and the customer's default."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.gateways.base import SavedMethod
from core.actors import Actor
from core.errors import ValidationFailed
from customers.models import Customer, PaymentMethod
from customers.services import payment_method_add
from tenants.models import Tenant


def payment_method_attach(
    *,
    tenant: Tenant,
    customer: Customer,
    saved: SavedMethod,
    gateway: str,
    actor: Actor,
    now: datetime,
    make_default: bool = True,
) -> PaymentMethod:
    """Keep the method a gateway saved (its token, never a card number) on the
    customer, through the customers app that owns it."""
    return payment_method_add(
        tenant=tenant,
        customer=customer,
        kind=saved.kind,
        gateway=gateway,
        token=saved.token,
        brand=saved.brand,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
        actor=actor,
        now=now,
        make_default=make_default,
    )


@transaction.atomic
def payment_method_attach_offline(
    *,
    tenant: Tenant,
    customer: Customer,
    kind: str,
    actor: Actor,
    now: datetime,
    make_default: bool = True,
) -> PaymentMethod:
    """Boleto or Pix: nothing to tokenize; a boleto needs the payer's CPF/CNPJ."""
    from customers.domain.taxid import normalize_tax_id

    if kind not in (PaymentMethod.Kind.BOLETO, PaymentMethod.Kind.PIX):
        raise ValidationFailed(f"Unknown payment method kind: {kind}", param="kind")
    if kind == PaymentMethod.Kind.BOLETO:
        normalize_tax_id(customer.tax_id or "")
    return payment_method_attach(
        tenant=tenant,
        customer=customer,
        gateway=f"sandbox_{kind}",
        actor=actor,
        now=now,
        make_default=make_default,
        saved=SavedMethod(token=f"{kind}:{customer.public_id}", kind=kind),
    )


def default_payment_method(*, customer_id: int) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(
        customer_id=customer_id, is_default=True, detached_at__isnull=True
    ).first()
