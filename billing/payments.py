"""Collecting invoices: payment methods, charges, reconciliation, gateway webhooks.

The charge protocol (DESIGN.md invariant 5):
1. a short transaction locks the invoice and writes a ``pending`` attempt whose
   idempotency key is derived from (invoice, attempt number) — a unique
   constraint allows one attempt in flight per invoice, so two workers cannot
   both charge;
2. the gateway is called with no transaction open and no row locked;
3. another short transaction settles the attempt and, on success, pays the
   invoice. A 429 or a timeout in step 2 is retried with backoff under the
   same key (``gateways/throttle.py``, which also paces each gateway account);
   if it still fails, the attempt stays ``pending`` and
   ``payment_attempt_reconcile`` asks the gateway under the same key, which
   never charges twice.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from django.db import IntegrityError, transaction

from billing import listeners
from billing.gateways import get_gateway
from billing.gateways.base import (
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    InvalidWebhook,
    SavedMethod,
)
from billing.gateways.throttle import with_backoff
from billing.locks import lock_attempt, lock_invoice
from billing.models import (
    GatewayAccount,
    InboundWebhook,
    Installment,
    Invoice,
    PaymentAttempt,
    Refund,
)
from billing.services import credit_note_write, invoice_mark_paid
from core.actors import SYSTEM, Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer, PaymentMethod
from customers.services import payment_method_add
from tenants import audit
from tenants.changes import record_change
from tenants.context import platform_access, tenant_context
from tenants.models import Tenant
from tenants.outbox import emit

logger = structlog.get_logger(__name__)


# --- payment methods -------------------------------------------------------------


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


def _method_for(invoice: Invoice) -> PaymentMethod | None:
    """The subscription's own method if it has a live one, else the default."""
    sub = invoice.subscription if invoice.subscription_id else None
    if sub is not None:
        own = (
            PaymentMethod.objects.filter(pk=sub.payment_method_id, detached_at__isnull=True).first()
            if sub.payment_method_id
            else None
        )
        if own is not None:
            return own
    return default_payment_method(customer_id=invoice.customer_id)


def default_payment_method(*, customer_id: int) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(
        customer_id=customer_id, is_default=True, detached_at__isnull=True
    ).first()


# --- charging --------------------------------------------------------------------


def _begin_attempt(
    *,
    tenant: Tenant,
    invoice_id: int,
    now: datetime,
    installment_id: int | None = None,
    failure_announced: bool = False,
) -> PaymentAttempt:
    """Step 1: record the attempt before any gateway call."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(tenant=tenant, pk=invoice_id).first()
        if invoice is None:
            raise NotFound("No such invoice.", param="invoice")
        if invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
            raise StateConflict(
                f"A {invoice.status} invoice has nothing to collect.", code="invoice_not_open"
            )
        installment = None
        if installment_id is not None:
            installment = Installment.objects.filter(invoice=invoice, pk=installment_id).first()
            if installment is None or installment.status != Installment.Status.SCHEDULED:
                raise StateConflict("That installment is not due.", code="installment_not_due")
        elif invoice.installments.exists():
            raise StateConflict(
                "This invoice is paid in installments; charge those.",
                code="invoice_in_installments",
            )
        in_flight = PaymentAttempt.objects.filter(
            invoice=invoice, status__in=["pending", "requires_action"]
        ).first()
        if in_flight is not None:
            return in_flight
        method = _method_for(invoice)
        if method is None:
            raise StateConflict("The customer has no payment method.", code="no_payment_method")
        number = PaymentAttempt.objects.filter(invoice=invoice).count() + 1
        part = f":installment:{installment.number}" if installment else ""
        try:
            with transaction.atomic():
                return PaymentAttempt.objects.create(
                    tenant=tenant,
                    invoice=invoice,
                    installment=installment,
                    number=number,
                    payment_method=method,
                    gateway=method.gateway,
                    idempotency_key=f"{invoice.public_id}{part}:attempt:{number}",
                    amount_minor=installment.amount_minor
                    if installment
                    else invoice.amount_due_minor,
                    currency=invoice.currency,
                    failure_announced=failure_announced,
                    created_at=now,
                )
        except IntegrityError:  # another worker started one first: use it
            return PaymentAttempt.objects.get(
                invoice=invoice, status__in=["pending", "requires_action"]
            )


def _settle(
    *, tenant: Tenant, attempt_id: int, result: ChargeResult, now: datetime
) -> PaymentAttempt:
    """Step 3: record the gateway's answer once, and pay the invoice on success."""
    with transaction.atomic():
        # Subscription → invoice → attempt (billing/locks.py): paying the
        # invoice moves its subscription, which a cancellation may hold.
        attempt = lock_attempt(tenant=tenant, attempt_id=attempt_id)
        if attempt.status in (PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.FAILED):
            return attempt  # already settled (a webhook or another worker was first)
        if result.status == ChargeStatus.PENDING:
            # Issued and waiting for the payer (a boleto, a Pix code): keep what
            # the payer needs; the gateway's webhook settles it later.
            if (attempt.gateway_ref, attempt.action_url) != (result.gateway_ref, result.action_url):
                attempt.gateway_ref, attempt.action_url = result.gateway_ref, result.action_url
                attempt.save(update_fields=["gateway_ref", "action_url"])
            # A failed card charge, or a slip awaiting its payer (dunning opens a case).
            listeners.payment_unsettled(tenant=tenant, attempt=attempt, now=now)
            return attempt
        attempt.status = result.status.value
        attempt.gateway_ref = result.gateway_ref or attempt.gateway_ref
        attempt.failure_code = result.failure_code
        attempt.failure_message = result.failure_message[:300]
        attempt.action_url = result.action_url
        if result.status != ChargeStatus.REQUIRES_ACTION:
            attempt.settled_at = now
        attempt.save()
        event = {
            ChargeStatus.SUCCEEDED: "payment.succeeded",
            ChargeStatus.FAILED: "payment.failed",
            ChargeStatus.REQUIRES_ACTION: "payment.requires_action",
        }[result.status]
        emit(
            tenant_id=tenant.pk,
            type=event,
            at=now,
            subject_type="payment",
            subject_id=attempt.public_id,
            data={
                "payment": attempt.public_id,
                "invoice": attempt.invoice.public_id,
                "amount": attempt.amount_minor,
                "currency": attempt.currency,
                "failure_code": attempt.failure_code,
                "failure_message": attempt.failure_message,
            },
        )
        if result.status == ChargeStatus.FAILED:
            # A failed card charge, or a slip awaiting its payer (dunning opens a case).
            listeners.payment_unsettled(tenant=tenant, attempt=attempt, now=now)
        if result.status == ChargeStatus.SUCCEEDED and (
            attempt.late_fee_minor or attempt.late_interest_minor
        ):
            from billing.segunda_via import late_charges_invoice_write

            late_charges_invoice_write(tenant=tenant, attempt=attempt, now=now)
        if result.status == ChargeStatus.SUCCEEDED and attempt.installment_id:
            Installment.objects.filter(pk=attempt.installment_id).update(
                status=Installment.Status.PAID, paid_at=now
            )
            if Installment.objects.filter(
                invoice_id=attempt.invoice_id, status=Installment.Status.SCHEDULED
            ).exists():
                return attempt  # more parts to come: the invoice stays open
        if result.status == ChargeStatus.SUCCEEDED:
            invoice_mark_paid(
                tenant=tenant,
                invoice_id=attempt.invoice_id,
                actor=SYSTEM,
                now=now,
                note=f"Paid by {attempt.public_id}",
            )
        return attempt


def invoice_charge(
    *,
    tenant: Tenant,
    invoice_id: int,
    now: datetime,
    installment_id: int | None = None,
    failure_announced: bool = False,
) -> PaymentAttempt:
    """Charge an open invoice (or one of its installments) off-session with the
    customer's default method. ``failure_announced``: the caller tells the
    subscriber about a failure itself (``PaymentAttempt.failure_announced``)."""
    if transaction.get_connection().in_atomic_block:
        # Never call a gateway from inside a transaction (row locks would be
        # held across a network call, and a rollback could not undo the charge).
        raise RuntimeError("invoice_charge must not run inside a transaction.")
    attempt = _begin_attempt(
        tenant=tenant,
        invoice_id=invoice_id,
        now=now,
        installment_id=installment_id,
        failure_announced=failure_announced,
    )
    if attempt.status != PaymentAttempt.Status.PENDING:
        return attempt
    return _call_gateway(tenant=tenant, attempt=attempt, now=now)


def _call_gateway(*, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> PaymentAttempt:
    gateway = get_gateway(attempt.gateway)
    try:
        # A 429 or a lost answer is retried at once (with backoff) under the
        # attempt's own key: the gateway replays a charge it already made.
        result = with_backoff(
            lambda: gateway.charge(
                token=attempt.payment_method.token,
                amount_minor=attempt.amount_minor,
                currency=attempt.currency,
                idempotency_key=attempt.idempotency_key,
                description=f"Invoice {attempt.invoice.number}",
                now=now,
            )
        )
    except GatewayUnavailable:
        logger.warning("payment.gateway_unavailable", attempt=attempt.public_id)
        return attempt  # stays pending; reconciliation asks again with the same key
    return _settle(tenant=tenant, attempt_id=attempt.pk, result=result, now=now)


def payment_attempt_reconcile(*, tenant: Tenant, attempt_id: int, now: datetime) -> PaymentAttempt:
    """Settle an attempt left pending (a timeout): ask the gateway under its key;
    if the gateway never saw it, send it again under the same key."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_attempt_reconcile must not run inside a transaction.")
    attempt = PaymentAttempt.objects.filter(tenant=tenant, pk=attempt_id).first()
    if attempt is None:
        raise NotFound("No such payment.", param="payment")
    if attempt.status != PaymentAttempt.Status.PENDING:
        return attempt
    try:
        result = get_gateway(attempt.gateway).fetch_charge(
            idempotency_key=attempt.idempotency_key, gateway_ref=attempt.gateway_ref
        )
    except GatewayUnavailable:
        return attempt
    if result is None:
        return _call_gateway(tenant=tenant, attempt=attempt, now=now)
    return _settle(tenant=tenant, attempt_id=attempt.pk, result=result, now=now)


# --- webhooks in -------------------------------------------------------------------


def webhook_receive(
    *, gateway_name: str, body: bytes, headers: dict[str, str], now: datetime
) -> str:
    """Verify, store, and process a gateway's webhook once. Replays are harmless;
    an event for an attempt that is already settled changes nothing."""
    try:
        gateway = get_gateway(gateway_name)
    except LookupError:
        raise NotFound("No such gateway.", param="gateway") from None
    try:
        event = gateway.parse_webhook(body=body, headers=headers)
    except InvalidWebhook as exc:
        raise ValidationFailed(str(exc), code="invalid_webhook") from exc
    with platform_access():
        stored, _created = InboundWebhook.objects.get_or_create(
            gateway=gateway_name,
            event_id=event.id,
            defaults={"type": event.type, "payload": {"data": event.data}, "received_at": now},
        )
    if stored.processed_at is not None:
        return "duplicate"
    # Processing is idempotent (it settles from the gateway's own record), so a
    # delivery that crashed midway is simply processed again by the next one.
    outcome = _process_webhook(
        gateway_name=gateway_name, event_type=event.type, data=event.data, now=now
    )
    with platform_access():
        InboundWebhook.objects.filter(pk=stored.pk).update(processed_at=now, outcome=outcome[:200])
    return outcome


def _process_webhook(*, gateway_name: str, event_type: str, data: dict, now: datetime) -> str:
    if event_type not in ("charge.succeeded", "charge.failed"):
        return "ignored"
    with platform_access():
        attempt = (
            PaymentAttempt.objects.select_related("tenant")
            .filter(gateway=gateway_name, idempotency_key=data.get("idempotency_key", ""))
            .first()
        )
    if attempt is None:
        return "unknown charge"
    with tenant_context(attempt.tenant):
        result = get_gateway(gateway_name).fetch_charge(
            idempotency_key=attempt.idempotency_key, gateway_ref=attempt.gateway_ref
        )
        if result is None:
            return "unknown charge"
        settled = _settle(tenant=attempt.tenant, attempt_id=attempt.pk, result=result, now=now)
    return f"attempt {settled.public_id} {settled.status}"


# --- refunds ------------------------------------------------------------------------


def payment_refund(
    *,
    tenant: Tenant,
    attempt_id: int,
    amount_minor: int,
    reason: str,
    actor: Actor,
    now: datetime,
) -> Refund:
    """Give back all or part of a successful payment, with a credit note for it.

    Same protocol as a charge: the refund is recorded before the gateway call
    (its key derived from the payment and the refund number), the call happens
    outside any transaction, and the result is settled after.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_refund must not run inside a transaction.")
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise ValidationFailed(
            "A refund is a positive whole number of minor units.", param="amount"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("Say why the money is refunded.", param="reason")
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update().filter(tenant=tenant, pk=attempt_id).first()
        )
        if attempt is None:
            raise NotFound("No such payment.", param="payment")
        if attempt.status != PaymentAttempt.Status.SUCCEEDED:
            raise StateConflict(
                "Only a successful payment can be refunded.", code="payment_not_refundable"
            )
        taken = sum(
            r.amount_minor for r in attempt.refunds.all() if r.status != Refund.Status.FAILED
        )
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        refundable = min(attempt.amount_minor - taken, invoice.total_minor - invoice.credited_minor)
        if amount_minor > refundable:
            raise ValidationFailed(
                f"At most {refundable} can still be refunded.",
                param="amount",
                code="refund_too_large",
            )
        number = attempt.refunds.count() + 1
        refund = Refund.objects.create(
            tenant=tenant,
            attempt=attempt,
            number=number,
            amount_minor=amount_minor,
            currency=attempt.currency,
            reason=reason.strip()[:200],
            created_at=now,
            idempotency_key=f"{attempt.public_id}:refund:{number}",
        )
        audit.record(
            tenant=tenant,
            actor=actor,
            action="payment.refund_requested",
            target=attempt,
            changes={"amount": amount_minor, "reason": reason},
            at=now,
        )
    try:
        result = get_gateway(attempt.gateway).refund(
            gateway_ref=attempt.gateway_ref,
            amount_minor=amount_minor,
            idempotency_key=refund.idempotency_key,
        )
    except GatewayUnavailable:
        return refund  # stays pending; asking again under the same key is safe
    with transaction.atomic():
        # Invoice before refund (billing/locks.py): the credit note locks the invoice.
        locked = lock_invoice(tenant=tenant, invoice_id=attempt.invoice_id)
        assert locked is not None  # an attempt's invoice is never deleted (PROTECT)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund
        refund.settled_at = now
        refund.gateway_ref = result.gateway_ref
        if not result.succeeded:
            refund.status, refund.failure_message = (
                Refund.Status.FAILED,
                result.failure_message[:300],
            )
            refund.save()
            return refund
        refund.credit_note = credit_note_write(
            tenant=tenant,
            invoice=locked,
            amount_minor=amount_minor,
            reason=f"Refund: {refund.reason}",
            now=now,
            to_balance=False,
        )
        refund.status = Refund.Status.SUCCEEDED
        refund.save()
        emit(
            tenant_id=tenant.pk,
            type="payment.refunded",
            at=now,
            subject_type="payment",
            subject_id=attempt.public_id,
            data={
                "payment": attempt.public_id,
                "refund": refund.public_id,
                "amount": amount_minor,
                "currency": refund.currency,
                "credit_note": refund.credit_note.public_id,
            },
        )
    return refund


# --- the tenant's gateway accounts ---------------------------------------------------

_CREDENTIAL_RULES: dict[str, dict[str, str]] = {
    # field → the regular expression it must match
    "stripe": {
        "api_key": r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$",
        "webhook_secret": r"^whsec_\S{8,}$",
        "publishable_key": r"^pk_(test|live)_[A-Za-z0-9]{8,}$",
    },
}
# Fields a gateway works without (Stripe Elements needs the publishable key;
# off-session charges do not).
_OPTIONAL_CREDENTIALS: dict[str, set[str]] = {"stripe": {"publishable_key"}}


@transaction.atomic
def gateway_account_set(
    *,
    tenant: Tenant,
    gateway: str,
    credentials: dict[str, str],
    actor: Actor,
    now: datetime,
    mode: str = "test",
) -> GatewayAccount:
    """Store (or replace) a tenant's credentials for a gateway, encrypted at rest.
    The audit log records which fields changed, never their values."""
    import re

    from core.secrets import encrypt_json

    rules = _CREDENTIAL_RULES.get(gateway)
    if rules is None:
        raise ValidationFailed(f"Unknown gateway: {gateway}", param="gateway")
    if mode not in GatewayAccount.Mode.values:
        raise ValidationFailed(f"Unknown mode: {mode}", param="mode")
    optional = _OPTIONAL_CREDENTIALS.get(gateway, set())
    if (
        not isinstance(credentials, dict)
        or not set(rules) - optional <= set(credentials)
        or not set(credentials) <= set(rules)
    ):
        raise ValidationFailed(
            f"{gateway} needs: {', '.join(sorted(set(rules) - optional))}"
            + (f" (optionally {', '.join(sorted(optional))})" if optional else "")
            + ".",
            param="credentials",
        )
    for field_name, pattern in rules.items():
        if field_name not in credentials:
            continue
        value = credentials[field_name]
        if not isinstance(value, str) or not re.match(pattern, value):
            raise ValidationFailed(f"That {field_name} does not look right.", param=field_name)
    key_mode = "live" if "_live_" in credentials.get("api_key", "") else "test"
    if gateway == "stripe" and key_mode != mode:
        raise ValidationFailed(f"A {key_mode} key cannot be used in {mode} mode.", param="api_key")
    publishable = credentials.get("publishable_key", "")
    if publishable and ("_live_" in publishable) != (mode == "live"):
        raise ValidationFailed(
            "The publishable key's mode differs from the secret key's.", param="publishable_key"
        )
    account, _created = GatewayAccount.objects.update_or_create(
        tenant=tenant,
        gateway=gateway,
        mode=mode,
        defaults={"credentials_encrypted": encrypt_json(credentials), "active": True},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="gateway_account.set",
        target=account,
        changes={"fields": sorted(credentials), "mode": mode},
        at=now,
    )
    return account


@transaction.atomic
def gateway_account_deactivate(
    *, tenant: Tenant, gateway: str, mode: str, actor: Actor, now: datetime
) -> GatewayAccount:
    """Stop using an account (its credentials are erased; setting it again
    re-activates it). Cards saved through it stay, but can no longer be charged
    until it is configured again."""
    account = (
        GatewayAccount.objects.select_for_update()
        .filter(tenant=tenant, gateway=gateway, mode=mode, active=True)
        .first()
    )
    if account is None:
        raise NotFound("No such gateway account.", param="gateway")
    from core.secrets import encrypt_json

    account.active = False
    account.credentials_encrypted = encrypt_json({})
    account.save(update_fields=["active", "credentials_encrypted", "updated_at"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="gateway_account.deactivated",
        target=account,
        changes={"mode": mode},
        at=now,
    )
    return account


# --- installments (parcelamento) ---------------------------------------------------


@transaction.atomic
def invoice_installments_create(
    *, tenant: Tenant, invoice_id: int, count: int, actor: Actor, now: datetime
) -> list[Installment]:
    """Split an open subscription invoice into ``count`` monthly parts, up to the
    plan's maximum; the parts add up to the amount due to the centavo."""
    from core.localtime import from_local, shift, to_local

    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("subscription__plan")
        .filter(tenant=tenant, pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    if invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
        raise StateConflict(f"A {invoice.status} invoice cannot be split.", code="invoice_not_open")
    if invoice.installments.exists() or invoice.attempts.exists():
        raise StateConflict(
            "This invoice already has payments or installments.", code="invoice_not_splittable"
        )
    limit = invoice.subscription.plan.max_installments if invoice.subscription else 1
    if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= limit:
        raise ValidationFailed(
            f"This invoice can be paid in 2 to {limit} installments."
            if limit > 1
            else "This plan does not allow installments.",
            param="count",
            code="installments_not_allowed",
        )
    base, extra = divmod(invoice.amount_due_minor, count)
    start = to_local(invoice.issued_at or now, tenant.time_zone)
    parts = Installment.objects.bulk_create(
        [
            Installment(
                tenant=tenant,
                invoice=invoice,
                number=n + 1,
                amount_minor=base + (1 if n < extra else 0),
                due_at=from_local(shift(start, "month", n), tenant.time_zone),
            )
            for n in range(count)
        ]
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="invoice.installments_created",
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={
            "invoice": invoice.public_id,
            "count": count,
            "installments": [
                {"number": p.number, "amount": p.amount_minor, "due_at": p.due_at.isoformat()}
                for p in parts
            ],
        },
        target=invoice,
        changes={"count": count},
    )
    return parts
