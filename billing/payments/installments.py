"""Installments (parcelamento): an open invoice split into monthly parts. Each
part is charged through the charge protocol (``charges.invoice_charge`` with its
``installment_id``, from ``billing.tasks``)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.models import Installment, Invoice
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from tenants.changes import record_change
from tenants.models import Tenant


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
