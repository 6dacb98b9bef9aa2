"""Staff resend an invoice's email to the subscriber (the dashboard's "Resend")."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.models import Invoice
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from notifications import catalog
from notifications.message_context import language_of
from notifications.messages import _enqueue, recipient_for
from notifications.models import MessageDelivery
from tenants.changes import record_change
from tenants.models import Event, Tenant

INVOICE_MESSAGE = "invoice_available"


@transaction.atomic
def invoice_email_resend(
    *, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime
) -> MessageDelivery:
    """Queue the invoice email (``invoice_available``: the invoice, with its boleto or
    Pix) again for the customer's current address. Its own event, so the send is
    audited, and the message-once constraint (one per event) is kept."""
    invoice = (
        Invoice.objects.filter(tenant=tenant, pk=invoice_id).select_related("customer").first()
    )
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
        raise StateConflict(
            "Only an open or paid invoice can be sent.", code="invoice_not_sendable"
        )
    customer = invoice.customer
    recipient = recipient_for(customer, catalog.EMAIL, tenant)
    if not recipient:
        raise ValidationFailed("The customer has no email address.", param="email")
    event_id = record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="invoice.email_resent",
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={"invoice": invoice.public_id, "customer": customer.public_id},
        target=invoice,
    )
    event = Event.objects.get(tenant=tenant, public_id=event_id)
    delivery = MessageDelivery.objects.create(
        tenant=tenant,
        event=event,
        customer=customer,
        template=INVOICE_MESSAGE,
        channel=catalog.EMAIL,
        recipient=recipient[:254],
        language=language_of(customer, tenant),
        required=True,
        status=MessageDelivery.Status.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    tenant_id = tenant.pk
    transaction.on_commit(lambda: _enqueue(tenant_id, [delivery.pk]))
    return delivery
