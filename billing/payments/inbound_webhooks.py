"""Gateways' webhooks in: verify the signature, store the event once, process it
once. Processing settles the attempt from the gateway's own record of the charge
(``charges._settle``), so a replay or an out-of-order event changes nothing."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.gateways import get_gateway
from billing.gateways.base import InvalidWebhook
from billing.models import InboundWebhook, PaymentAttempt
from billing.payments.charges import _settle
from billing.payments.disputes import DisputeReport, dispute_record
from billing.selectors import now_for
from core.actors import SYSTEM
from core.errors import NotFound, ValidationFailed
from customers.models import Customer
from tenants.changes import record_change
from tenants.context import platform_access, tenant_context
from tenants.models import Tenant


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


DISPUTE_EVENTS = ("dispute.opened", "dispute.updated", "dispute.closed")


def _process_webhook(*, gateway_name: str, event_type: str, data: dict, now: datetime) -> str:
    if event_type in DISPUTE_EVENTS:
        return _process_dispute(gateway_name=gateway_name, data=data, now=now)
    if event_type.startswith(("pix_mandate.", "pix_instruction.")):
        from billing.pix_automatico import pix_webhook_process  # it charges through this package

        return pix_webhook_process(
            gateway_name=gateway_name, event_type=event_type, data=data, now=now
        )
    if event_type == "charge.paid_twice":
        return _paid_twice(gateway_name=gateway_name, data=data, now=now)
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


def _process_dispute(*, gateway_name: str, data: dict, now: datetime) -> str:
    report = DisputeReport.from_data(data)
    with platform_access():
        attempt = (
            PaymentAttempt.objects.select_related("tenant", "invoice")
            .filter(gateway=gateway_name, gateway_ref=report.payment_ref)
            .exclude(gateway_ref="")
            .first()
        )
    if attempt is None:
        return "unknown charge"
    with tenant_context(attempt.tenant):
        # A customer on a test clock lives at the clock's time, webhooks included.
        customer = Customer.objects.filter(pk=attempt.invoice.customer_id).first()
        dispute = dispute_record(
            tenant=attempt.tenant,
            attempt_id=attempt.pk,
            gateway=gateway_name,
            report=report,
            now=now_for(customer=customer, now=now),
        )
    return f"dispute {dispute.public_id} {dispute.status}"


def _paid_twice(*, gateway_name: str, data: dict, now: datetime) -> str:
    """A bolepix paid on the rail that was withdrawn (its boleto after its Pix, or
    the other way round): never a second settlement — reported as an
    overpayment to refund (event ``payment.overpaid``)."""
    with platform_access():
        attempt = (
            PaymentAttempt.objects.select_related("tenant", "invoice")
            .filter(gateway=gateway_name, idempotency_key=data.get("idempotency_key", ""))
            .first()
        )
    if attempt is None:
        return "unknown charge"
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return "ignored"
    with tenant_context(attempt.tenant):
        payment_overpaid_report(
            tenant=attempt.tenant,
            attempt=attempt,
            amount_minor=amount,
            rail=str(data.get("rail", ""))[:10],
            now=now,
        )
    return f"attempt {attempt.public_id} paid twice: {amount} to refund"


def payment_overpaid_report(
    *, tenant: Tenant, attempt: PaymentAttempt, amount_minor: int, rail: str, now: datetime
) -> None:
    """Money received for a payment already settled: an event and an audit entry
    for the merchant to refund it (nothing is settled)."""
    with transaction.atomic():
        record_change(
            tenant=tenant,
            actor=SYSTEM,
            at=now,
            event="payment.overpaid",
            subject_type="payment",
            subject_id=attempt.public_id,
            data={
                "payment": attempt.public_id,
                "invoice": attempt.invoice.public_id,
                "rail": rail,
                "refund_due": amount_minor,
                "currency": attempt.currency,
            },
            target=attempt,
        )
