"""Refunds of successful payments, each with the credit note that gives the
money back on the invoice."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.commissions import commission_reverse_for_refund
from billing.gateways import get_gateway
from billing.gateways.base import GatewayUnavailable
from billing.locks import lock_invoice
from billing.models import Invoice, PaymentAttempt, Refund
from billing.services import credit_note_write
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from tenants import audit
from tenants.models import Tenant
from tenants.outbox import emit


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
        commission_reverse_for_refund(tenant=tenant, refund=refund, invoice=locked, now=now)
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
