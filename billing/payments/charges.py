"""Charging invoices: the charge protocol and reconciliation.

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

An installment is charged through the same protocol (``installment_id``); its
schedule is written by ``billing.payments.installments``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import structlog
from django.db import IntegrityError, transaction

from billing import listeners
from billing.gateways import get_gateway
from billing.gateways.base import ChargeResult, ChargeStatus, GatewayUnavailable
from billing.gateways.throttle import with_backoff
from billing.locks import lock_attempt
from billing.models import Installment, Invoice, PaymentAttempt
from billing.payments.methods import default_payment_method
from billing.services import invoice_mark_paid
from core.actors import SYSTEM
from core.errors import NotFound, StateConflict
from core.localtime import from_local, local_date, to_local
from customers.models import PaymentMethod
from tenants.models import Tenant
from tenants.outbox import emit

logger = structlog.get_logger(__name__)


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


def _begin_attempt(
    *,
    tenant: Tenant,
    invoice_id: int,
    now: datetime,
    installment_id: int | None = None,
    failure_announced: bool = False,
    payment_method_id: int | None = None,
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
        if payment_method_id is not None:
            # The payer's choice (the portal's "pay now"): a live method of this
            # invoice's customer, nothing else.
            method = PaymentMethod.objects.filter(
                tenant=tenant,
                customer_id=invoice.customer_id,
                pk=payment_method_id,
                detached_at__isnull=True,
            ).first()
            if method is None:
                raise NotFound("No such payment method.", param="payment_method")
        else:
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
    payment_method_id: int | None = None,
) -> PaymentAttempt:
    """Charge an open invoice (or one of its installments) off-session with the
    customer's default method (or ``payment_method_id``, one of the customer's
    own, when the payer chose it). ``failure_announced``: the caller tells the
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
        payment_method_id=payment_method_id,
    )
    if attempt.status != PaymentAttempt.Status.PENDING:
        return attempt
    return _call_gateway(tenant=tenant, attempt=attempt, now=now)


def boleto_due_date(*, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> date:
    """The one due date of a boleto about to be issued, written back on the invoice
    (or installment) so the slip, the invoice PDF and email and the dunning case agree.

    It is the invoice's (installment's) due date in the tenant's time zone, but at
    least the tenant's days to pay a boleto from today; a document not yet overdue
    moves its due date to the slip's (same time of day). An overdue one keeps its
    date (its dunning case already counts from it) and gets a slip payable from today."""
    from billing.segunda_via import collection_settings  # it imports this module

    tz = tenant.time_zone
    today = local_date(now, tz)
    earliest = today + timedelta(days=collection_settings(tenant=tenant).boleto_days_to_pay)
    doc: Invoice | Installment = attempt.installment or attempt.invoice
    if doc.due_at is None:
        return earliest
    doc_due = local_date(doc.due_at, tz)
    due = max(doc_due, earliest)
    if due != doc_due and doc_due >= today:
        moved = from_local(datetime.combine(due, to_local(doc.due_at, tz).time()), tz)
        type(doc).objects.filter(pk=doc.pk).update(due_at=moved)
        doc.due_at = moved
    return due


def _call_gateway(*, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> PaymentAttempt:
    gateway = get_gateway(attempt.gateway)
    extra: dict[str, Any] = {}
    if getattr(gateway, "kind", "") == PaymentMethod.Kind.BOLETO:
        from billing.segunda_via import collection_settings  # it imports this module

        extra["due_date"] = boleto_due_date(tenant=tenant, attempt=attempt, now=now)
        if collection_settings(tenant=tenant).boleto_with_pix:
            extra["with_pix"] = True  # bolepix: the slip also carries a Pix QR code
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
                **extra,
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
