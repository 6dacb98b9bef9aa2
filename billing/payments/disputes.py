"""Chargebacks, as the gateway reports them by webhook: opened, then won or
lost. A lost chargeback takes its share of the seller's commission back, like a
refund (``billing.commissions``). The invoice stays paid: the money left
through the payer's bank, not through a credit note the merchant issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from billing.commissions import commission_reverse_for_dispute
from billing.locks import lock_attempt
from billing.models import Dispute, Invoice, PaymentAttempt
from core.actors import Actor
from core.errors import ValidationFailed
from tenants.changes import record_change
from tenants.models import Tenant

_STATUSES = {
    # Stripe's dispute statuses, and the sandbox's own words.
    "warning_needs_response": Dispute.Status.OPEN,
    "warning_under_review": Dispute.Status.OPEN,
    "needs_response": Dispute.Status.OPEN,
    "under_review": Dispute.Status.OPEN,
    "open": Dispute.Status.OPEN,
    "won": Dispute.Status.WON,
    "warning_closed": Dispute.Status.WON,
    "lost": Dispute.Status.LOST,
}


@dataclass(frozen=True)
class DisputeReport:
    """What a gateway's webhook says of a dispute."""

    gateway_ref: str
    payment_ref: str
    amount_minor: int
    currency: str
    status: str
    reason: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DisputeReport:
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationFailed("A dispute needs a positive amount.", param="amount")
        status = str(data.get("status", ""))
        if status not in _STATUSES:
            raise ValidationFailed(f"Unknown dispute status '{status[:40]}'.", param="status")
        return cls(
            gateway_ref=str(data.get("dispute", ""))[:100],
            payment_ref=str(data.get("payment_ref", ""))[:100],
            amount_minor=amount,
            currency=str(data.get("currency", "")).upper()[:3],
            status=_STATUSES[status],
            reason=str(data.get("reason", ""))[:100],
        )


@transaction.atomic
def dispute_record(
    *, tenant: Tenant, attempt_id: int, gateway: str, report: DisputeReport, now: datetime
) -> Dispute:
    """Record a dispute or its new status, once: the same report twice changes
    nothing, and a closed dispute never reopens (a late "open" is ignored)."""
    if not report.gateway_ref:
        raise ValidationFailed("A dispute needs the gateway's id.", param="dispute")
    attempt = lock_attempt(tenant=tenant, attempt_id=attempt_id)
    if attempt.status != PaymentAttempt.Status.SUCCEEDED:
        raise ValidationFailed("Only a successful payment can be disputed.", param="payment")
    amount = min(report.amount_minor, attempt.amount_minor)
    dispute = (
        Dispute.objects.select_for_update()
        .filter(tenant=tenant, gateway=gateway, gateway_ref=report.gateway_ref)
        .first()
    )
    actor = Actor.system(f"gateway:{gateway}")
    if dispute is None:
        dispute = Dispute.objects.create(
            tenant=tenant,
            attempt=attempt,
            gateway=gateway,
            gateway_ref=report.gateway_ref,
            amount_minor=amount,
            currency=report.currency or attempt.currency,
            reason=report.reason,
            status=Dispute.Status.OPEN,
            opened_at=now,
        )
        _tell(tenant, dispute, attempt, actor, now, "payment.dispute_opened")
    if dispute.status != Dispute.Status.OPEN or report.status == Dispute.Status.OPEN:
        return dispute
    dispute.status, dispute.closed_at = report.status, now
    dispute.save(update_fields=["status", "closed_at"])
    _tell(tenant, dispute, attempt, actor, now, "payment.dispute_closed")
    if dispute.status == Dispute.Status.LOST:
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        commission_reverse_for_dispute(tenant=tenant, dispute=dispute, invoice=invoice, now=now)
    return dispute


def _tell(
    tenant: Tenant,
    dispute: Dispute,
    attempt: PaymentAttempt,
    actor: Actor,
    now: datetime,
    event: str,
) -> None:
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event=event,
        subject_type="payment",
        subject_id=attempt.public_id,
        data={
            "dispute": dispute.public_id,
            "payment": attempt.public_id,
            "amount": dispute.amount_minor,
            "currency": dispute.currency,
            "status": dispute.status,
            "reason": dispute.reason,
        },
        target=dispute,
        changes={"status": dispute.status, "amount": dispute.amount_minor},
    )
