"""Installments (parcelamento): an open invoice split into monthly parts. Each
part is charged through the charge protocol (``charges.invoice_charge`` with its
``installment_id``, from ``billing.tasks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from billing.models import Installment, Invoice
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from tenants.changes import record_change
from tenants.models import Tenant


@dataclass(frozen=True)
class ScheduledInstallment:
    number: int
    amount_minor: int
    due_at: datetime


def installment_schedule(
    *, amount_minor: int, count: int, start: datetime, time_zone: str
) -> list[ScheduledInstallment]:
    """The parts of ``amount_minor`` in ``count`` monthly installments from ``start``
    (in the tenant's time zone): equal to the centavo, the first parts take the rest."""
    from core.localtime import from_local, shift, to_local

    base, extra = divmod(amount_minor, count)
    local = to_local(start, time_zone)
    return [
        ScheduledInstallment(
            number=n + 1,
            amount_minor=base + (1 if n < extra else 0),
            due_at=from_local(shift(local, "month", n), time_zone),
        )
        for n in range(count)
    ]


def installment_limit(invoice: Invoice) -> int:
    """The most installments this invoice may be split into (1: none)."""
    return invoice.subscription.plan.max_installments if invoice.subscription else 1


def invoice_installment_schedule(
    *, tenant: Tenant, invoice: Invoice, count: int, now: datetime
) -> list[ScheduledInstallment]:
    """What ``invoice_installments_create`` would write, refused as it would be;
    changes nothing (the dashboard shows it before confirming)."""
    _check_splittable(invoice, count)
    return installment_schedule(
        amount_minor=invoice.amount_due_minor,
        count=count,
        start=invoice.issued_at or now,
        time_zone=tenant.time_zone,
    )


def _check_splittable(invoice: Invoice, count: int) -> None:
    if invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
        raise StateConflict(f"A {invoice.status} invoice cannot be split.", code="invoice_not_open")
    if invoice.installments.exists() or invoice.attempts.exists():
        raise StateConflict(
            "This invoice already has payments or installments.", code="invoice_not_splittable"
        )
    limit = installment_limit(invoice)
    if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= limit:
        raise ValidationFailed(
            f"This invoice can be paid in 2 to {limit} installments."
            if limit > 1
            else "This plan does not allow installments.",
            param="count",
            code="installments_not_allowed",
        )


@transaction.atomic
def invoice_installments_create(
    *, tenant: Tenant, invoice_id: int, count: int, actor: Actor, now: datetime
) -> list[Installment]:
    """Split an open subscription invoice into ``count`` monthly parts, up to the
    plan's maximum; the parts add up to the amount due to the centavo."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("subscription__plan")
        .filter(tenant=tenant, pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    schedule = invoice_installment_schedule(tenant=tenant, invoice=invoice, count=count, now=now)
    parts = Installment.objects.bulk_create(
        [
            Installment(
                tenant=tenant,
                invoice=invoice,
                number=part.number,
                amount_minor=part.amount_minor,
                due_at=part.due_at,
            )
            for part in schedule
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
