"""Saving a card: the subscriber's browser hands the card to the gateway, and
Ciclo only ever sees the gateway's token (DESIGN.md invariant 5).

``card_setup_begin`` says which gateway collects the card and prepares it (for
Stripe: the customer's mirror and a SetupIntent whose client secret Stripe
Elements uses); ``card_setup_complete`` turns the gateway's answer (a sandbox
token, or a confirmed SetupIntent) into a saved ``PaymentMethod``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from billing.gateways import get_gateway
from billing.gateways.base import GatewayUnavailable, SavedMethod
from billing.models import GatewayAccount, GatewayCustomer, Invoice, PaymentAttempt
from billing.payments import payment_method_attach
from core.actors import Actor
from core.errors import DomainError, NotFound, StateConflict, ValidationFailed
from customers.models import Customer, PaymentMethod
from tenants.models import Tenant


class GatewayDown(DomainError):
    """The gateway did not answer: nothing was saved; try again later."""

    code = "gateway_unavailable"
    status = 503
    type = "api_error"


@dataclass(frozen=True)
class CardSetup:
    gateway: str  # "sandbox" or "stripe"
    publishable_key: str = ""
    client_secret: str = ""


def card_gateway(*, tenant: Tenant) -> tuple[str, str]:
    """(gateway, publishable key) the tenant collects cards with: its Stripe
    account when one is active and has a publishable key, else the sandbox."""
    account = (
        GatewayAccount.objects.for_tenant(tenant)
        .filter(gateway="stripe", active=True)
        .order_by("mode")  # live before test, as get_gateway does
        .first()
    )
    if account is not None:
        publishable = account.credentials.get("publishable_key", "")
        if publishable:
            return "stripe", publishable
    elif settings.STRIPE_API_KEY and settings.STRIPE_PUBLISHABLE_KEY:
        return "stripe", settings.STRIPE_PUBLISHABLE_KEY
    return "sandbox", ""


def stripe_customer_ensure(*, tenant: Tenant, customer: Customer) -> str:
    """The customer's Stripe mirror, created on first use. The gateway is called
    with no transaction open; Stripe's idempotency key (per Ciclo customer) and
    our unique constraint make a race between two requests harmless."""
    mode = _stripe_mode(tenant)
    existing = GatewayCustomer.objects.for_tenant(tenant).filter(
        customer=customer, gateway="stripe", mode=mode
    )
    mirror = existing.first()
    if mirror is not None:
        return mirror.ref
    gateway = get_gateway("stripe")
    ref = gateway.ensure_customer(  # type: ignore[attr-defined]
        email=customer.email, name=customer.name, ciclo_customer_id=customer.public_id
    )
    try:
        with transaction.atomic():
            GatewayCustomer.objects.create(
                tenant=tenant, customer=customer, gateway="stripe", mode=mode, ref=ref
            )
    except IntegrityError:
        return existing.get().ref
    return ref


def _stripe_mode(tenant: Tenant) -> str:
    account = (
        GatewayAccount.objects.for_tenant(tenant)
        .filter(gateway="stripe", active=True)
        .order_by("mode")
        .first()
    )
    if account is not None:
        return account.mode
    return "live" if "_live_" in settings.STRIPE_API_KEY else "test"


def card_setup_begin(*, tenant: Tenant, customer: Customer) -> CardSetup:
    if customer.tenant_id != tenant.pk:
        raise NotFound("No such customer.", param="customer")
    gateway, publishable = card_gateway(tenant=tenant)
    if gateway == "sandbox":
        return CardSetup(gateway="sandbox")
    try:
        ref = stripe_customer_ensure(tenant=tenant, customer=customer)
        secret = get_gateway("stripe").create_setup_intent(ref)  # type: ignore[attr-defined]
    except GatewayUnavailable as exc:
        raise GatewayDown("The payment provider is unavailable; try again.") from exc
    return CardSetup(gateway="stripe", publishable_key=publishable, client_secret=secret)


def card_setup_complete(
    *,
    tenant: Tenant,
    customer: Customer,
    gateway: str,
    reference: str,
    actor: Actor,
    now: datetime,
    make_default: bool = True,
) -> PaymentMethod:
    """Save the card the gateway collected. ``reference`` is the sandbox token or
    the Stripe SetupIntent id; either must belong to this customer."""
    if customer.tenant_id != tenant.pk:
        raise NotFound("No such customer.", param="customer")
    if not isinstance(reference, str) or not reference or len(reference) > 200:
        raise ValidationFailed("A card reference is required.", param="reference")
    if gateway == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        saved = SandboxGateway().saved_card(reference)
    elif gateway == "stripe":
        saved = _stripe_saved(tenant=tenant, customer=customer, setup_intent=reference)
    else:
        raise ValidationFailed(f"Unknown gateway: {gateway}", param="gateway")
    if PaymentMethod.objects.for_tenant(tenant).filter(token=saved.token).exists():
        raise StateConflict("That card is already saved.", param="reference", code="already_saved")
    return payment_method_attach(
        tenant=tenant,
        customer=customer,
        saved=saved,
        gateway=gateway,
        actor=actor,
        now=now,
        make_default=make_default,
    )


class CardDeclined(DomainError):
    code = "card_declined"
    status = 402
    type = "card_error"


def card_verify(*, gateway: str, reference: str) -> None:
    """Ask the gateway whether the card can be charged before anything is saved
    (the checkout: a declined card creates nothing). Stripe verified the card
    when it confirmed the SetupIntent; the sandbox authorizes zero."""
    if gateway != "sandbox":
        return
    from billing.gateways.sandbox import MESSAGES, SandboxGateway

    saved = SandboxGateway().saved_card(reference)  # an unknown token: ValidationFailed
    code = SandboxGateway().verify_card(saved.token)
    if code:
        raise CardDeclined(MESSAGES.get(code, "The card was declined."), param="card", code=code)


def _stripe_saved(*, tenant: Tenant, customer: Customer, setup_intent: str) -> SavedMethod:
    if not setup_intent.startswith("seti_"):
        raise ValidationFailed("That is not a SetupIntent id.", param="reference")
    mirror = (
        GatewayCustomer.objects.for_tenant(tenant)
        .filter(customer=customer, gateway="stripe", mode=_stripe_mode(tenant))
        .first()
    )
    if mirror is None:
        raise ValidationFailed("Start the card setup first.", param="reference")
    try:
        saved = get_gateway("stripe").saved_method_from_setup_intent(setup_intent)  # type: ignore[attr-defined]
    except GatewayUnavailable as exc:
        raise GatewayDown("The payment provider is unavailable; try again.") from exc
    # A SetupIntent id from the browser is not proof of ownership: the saved
    # card must sit on this customer's own Stripe mirror.
    if saved.token.split(":", 1)[0] != mirror.ref:
        raise NotFound("No such setup for this customer.", param="reference")
    return saved


def invoice_pay_with_new_card(
    *,
    tenant: Tenant,
    customer: Customer,
    invoice_id: int,
    gateway: str,
    reference: str,
    save: bool,
    actor: Actor,
    now: datetime,
) -> PaymentAttempt:
    """Pay the customer's open invoice with a card the gateway just collected.

    The card is verified first (a declining card saves nothing), saved as a
    method (an attempt charges a method), charged, and kept only when the payer
    asked to save it and the charge did not fail: otherwise it is detached, so
    a declined card never shows up among the saved ones. A card that needs 3-D
    Secure comes back ``requires_action`` with the issuer's page to visit. No
    transaction is open around the gateway calls (DESIGN.md invariant 5)."""
    from billing.payments import invoice_charge
    from customers.services import payment_method_detach

    invoice = Invoice.objects.filter(tenant=tenant, customer=customer, pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    if invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
        raise StateConflict(
            f"A {invoice.status} invoice has nothing to pay.", code="invoice_not_open"
        )
    card_verify(gateway=gateway, reference=reference)
    method = card_setup_complete(
        tenant=tenant,
        customer=customer,
        gateway=gateway,
        reference=reference,
        actor=actor,
        now=now,
        make_default=False,
    )
    try:
        attempt = invoice_charge(
            tenant=tenant, invoice_id=invoice.pk, now=now, payment_method_id=method.pk
        )
    except BaseException:
        payment_method_detach(tenant=tenant, payment_method_id=method.pk, actor=actor, now=now)
        raise
    if not save or attempt.status == PaymentAttempt.Status.FAILED:
        payment_method_detach(tenant=tenant, payment_method_id=method.pk, actor=actor, now=now)
    return attempt
