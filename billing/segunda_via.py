"""Segunda via: re-issuing an overdue boleto with a new due date, the tenant's
late fee (multa, once) and interest (juros, pro rata per day).

The invoice itself is final and never changes (DESIGN.md: corrections are new
documents). The new slip asks for the amount due plus the late charges; when
it is paid the invoice is paid and the late charges are billed, already paid,
on a late-charges invoice of their own — every centavo received sits on a
numbered document.

Protocol (invariant 5): validate under a short lock; withdraw the old slip at
the issuer (no transaction open) — if the payer paid it meanwhile it cannot be
withdrawn, and nothing is re-issued; record the old attempt as replaced and the
new one as pending; issue the new slip (no transaction open); settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from billing.domain.boleto import LateCharges, late_charges
from billing.gateways import get_gateway
from billing.models import (
    CollectionSettings,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
)
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.localtime import local_date, to_local
from tenants import audit
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import emit

BOLETO_GATEWAYS = ("sandbox_boleto",)
MAX_DAYS_AHEAD = 30


def collection_settings(*, tenant: Tenant) -> CollectionSettings:
    found = CollectionSettings.objects.for_tenant(tenant).first()
    return found if found is not None else CollectionSettings(tenant=tenant)


@transaction.atomic
def collection_settings_update(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    fine_percent: Decimal | None = None,
    monthly_interest_percent: Decimal | None = None,
    days_to_pay: int | None = None,
    with_pix: bool | None = None,
    pix_automatico: bool | None = None,
) -> CollectionSettings:
    """The tenant's boleto late charges, bolepix and Pix Automático offer; a
    setting given as None keeps its value. Multa is capped at 10 % and juros at
    10 % a month here; for consumer contracts Brazilian law caps multa at 2 %
    (CDC art. 52 §1), which is the merchant's to respect."""
    # Two first saves at once: get_or_create's loser reads the winner's row (its
    # insert waits on the unique constraint) instead of failing on it.
    CollectionSettings.objects.get_or_create(tenant=tenant)
    found = CollectionSettings.objects.select_for_update().get(tenant=tenant)
    if fine_percent is None:
        fine_percent = found.boleto_fine_percent
    if monthly_interest_percent is None:
        monthly_interest_percent = found.boleto_monthly_interest_percent
    if days_to_pay is None:
        days_to_pay = found.boleto_days_to_pay
    for param, value, cap in (
        ("fine_percent", fine_percent, Decimal("10")),
        ("monthly_interest_percent", monthly_interest_percent, Decimal("10")),
    ):
        if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= cap:
            raise ValidationFailed(f"{param} must be between 0 and {cap}.", param=param)
        if value != value.quantize(Decimal("0.01")):
            raise ValidationFailed(f"{param} takes at most two decimals.", param=param)
    if (
        not isinstance(days_to_pay, int)
        or isinstance(days_to_pay, bool)
        or not 1 <= days_to_pay <= 30
    ):
        raise ValidationFailed("days_to_pay must be from 1 to 30.", param="days_to_pay")
    found.boleto_fine_percent = fine_percent
    found.boleto_monthly_interest_percent = monthly_interest_percent
    found.boleto_days_to_pay = days_to_pay
    if with_pix is not None:  # None: left as it is
        if not isinstance(with_pix, bool):
            raise ValidationFailed("with_pix must be true or false.", param="with_pix")
        found.boleto_with_pix = with_pix
    if pix_automatico is not None:
        if not isinstance(pix_automatico, bool):
            raise ValidationFailed("pix_automatico must be true or false.", param="pix_automatico")
        found.pix_automatico = pix_automatico
    found.save()
    audit.record(
        tenant=tenant,
        actor=actor,
        action="collection_settings.updated",
        target=found,
        changes={
            "fine_percent": str(fine_percent),
            "monthly_interest_percent": str(monthly_interest_percent),
            "days_to_pay": days_to_pay,
            "with_pix": found.boleto_with_pix,
            "pix_automatico": found.pix_automatico,
        },
        at=now,
    )
    return found


@dataclass(frozen=True)
class SegundaViaQuote:
    attempt: PaymentAttempt  # the slip being replaced
    original_due: date
    new_due: date
    charges: LateCharges


def segunda_via_quote(
    *, tenant: Tenant, invoice_id: int, now: datetime, new_due: date | None = None
) -> SegundaViaQuote:
    """What a segunda via due on ``new_due`` (default: today + the tenant's days
    to pay) would ask for. Raises when the invoice has no overdue slip."""
    invoice = Invoice.objects.filter(tenant=tenant, pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    if invoice.status != Invoice.Status.OPEN:
        raise StateConflict(
            f"A {invoice.status} invoice has nothing to collect.", code="invoice_not_open"
        )
    attempt = (
        PaymentAttempt.objects.filter(
            invoice=invoice, status=PaymentAttempt.Status.PENDING, gateway__in=BOLETO_GATEWAYS
        )
        .select_related("payment_method")
        .first()
    )
    if attempt is None:
        raise StateConflict("This invoice has no boleto awaiting payment.", code="no_boleto")
    slip = get_gateway(attempt.gateway).slip(gateway_ref=attempt.gateway_ref)  # type: ignore[attr-defined]
    if not slip.get("due_date"):
        raise StateConflict("The boleto has not been issued yet.", code="no_boleto")
    original_due = date.fromisoformat(slip["due_date"])
    today = local_date(now, tenant.time_zone)
    settings = collection_settings(tenant=tenant)
    if new_due is None:
        new_due = today + timedelta(days=settings.boleto_days_to_pay)
    if not isinstance(new_due, date) or isinstance(new_due, datetime):
        raise ValidationFailed("The new due date must be a date.", param="due_date")
    if original_due >= today:
        raise StateConflict(
            "The boleto is not overdue: it can still be paid as it is.", code="boleto_not_overdue"
        )
    if not today <= new_due <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed(
            f"The new due date must be between today and {MAX_DAYS_AHEAD} days ahead.",
            param="due_date",
        )
    charges = late_charges(
        amount_minor=attempt.amount_minor,
        original_due=original_due,
        new_due=new_due,
        fine_percent=settings.boleto_fine_percent,
        monthly_interest_percent=settings.boleto_monthly_interest_percent,
    )
    return SegundaViaQuote(attempt, original_due, new_due, charges)


def boleto_segunda_via_issue(
    *, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime, new_due: date | None = None
) -> PaymentAttempt:
    """Replace the invoice's overdue boleto by a segunda via; returns the new attempt."""
    from billing.payments.charges import _settle

    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("boleto_segunda_via_issue must not run inside a transaction.")
    quote = segunda_via_quote(tenant=tenant, invoice_id=invoice_id, now=now, new_due=new_due)
    old = quote.attempt
    gateway = get_gateway(old.gateway)
    if not gateway.cancel(gateway_ref=old.gateway_ref):  # type: ignore[attr-defined]
        raise StateConflict(
            "The boleto was paid or withdrawn meanwhile; its confirmation will follow.",
            code="boleto_not_replaceable",
        )
    new = _record_replacement(tenant=tenant, quote=quote, actor=actor, now=now)
    result = gateway.charge(  # type: ignore[call-arg]
        token=new.payment_method.token,
        amount_minor=new.amount_minor,
        currency=new.currency,
        idempotency_key=new.idempotency_key,
        description=f"Invoice {new.invoice.number}",
        now=now,
        due_date=quote.new_due,
        with_pix=collection_settings(tenant=tenant).boleto_with_pix,
    )
    return _settle(tenant=tenant, attempt_id=new.pk, result=result, now=now)


@transaction.atomic
def _record_replacement(
    *, tenant: Tenant, quote: SegundaViaQuote, actor: Actor, now: datetime
) -> PaymentAttempt:
    invoice = Invoice.objects.select_for_update().get(tenant=tenant, pk=quote.attempt.invoice_id)
    old = PaymentAttempt.objects.select_for_update().get(pk=quote.attempt.pk)
    if old.status != PaymentAttempt.Status.PENDING:  # pragma: no cover - the slip was withdrawn
        raise StateConflict("The boleto was settled meanwhile.", code="boleto_not_replaceable")
    old.status = PaymentAttempt.Status.FAILED
    old.failure_code = "boleto_replaced"
    old.failure_message = "Replaced by a segunda via."
    old.settled_at = now
    old.save(update_fields=["status", "failure_code", "failure_message", "settled_at"])
    number = PaymentAttempt.objects.filter(invoice=invoice).count() + 1
    part = f":installment:{old.installment.number}" if old.installment is not None else ""
    charges = quote.charges
    new = PaymentAttempt.objects.create(
        tenant=tenant,
        invoice=invoice,
        installment=old.installment,
        number=number,
        payment_method=old.payment_method,
        gateway=old.gateway,
        idempotency_key=f"{invoice.public_id}{part}:attempt:{number}",
        amount_minor=charges.total_minor,
        late_fee_minor=charges.fine_minor,
        late_interest_minor=charges.interest_minor,
        currency=old.currency,
        created_at=now,
    )
    data = {
        "invoice": invoice.public_id,
        "replaced_payment": old.public_id,
        "payment": new.public_id,
        "original_due_date": quote.original_due.isoformat(),
        "due_date": quote.new_due.isoformat(),
        "amount": old.amount_minor,
        "late_fee": charges.fine_minor,
        "late_interest": charges.interest_minor,
        "total": charges.total_minor,
        "currency": new.currency,
    }
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="payment.boleto_reissued",
        subject_type="payment",
        subject_id=new.public_id,
        data=data,
        target=new,
        action="boleto.reissued",
        changes=data,
    )
    return new


def late_charges_invoice_write(
    *, tenant: Tenant, attempt: PaymentAttempt, now: datetime
) -> Invoice:
    """Bill the late fee and interest a paid segunda via collected, as a paid
    invoice (the caller holds the transaction that settled the attempt)."""
    from billing.services import _allocate_numbers, customer_snapshots

    original = attempt.invoice
    year = to_local(now, tenant.time_zone).year
    [number] = _allocate_numbers(tenant=tenant, kind="invoice", year=year, count=1)
    total = attempt.late_fee_minor + attempt.late_interest_minor
    invoice = Invoice.objects.create(
        tenant=tenant,
        customer_id=original.customer_id,
        subscription_id=original.subscription_id,
        number=number,
        status=Invoice.Status.PAID,
        billing_reason=Invoice.Reason.LATE_CHARGES,
        currency=attempt.currency,
        subtotal_minor=total,
        total_minor=total,
        amount_due_minor=total,
        amount_paid_minor=total,
        issued_at=now,
        due_at=now,
        paid_at=now,
        locale=original.locale,
        customer_snapshot=customer_snapshots(tenant=tenant, customer_ids={original.customer_id})[
            original.customer_id
        ],
    )
    lines = [
        (InvoiceLine.Kind.LATE_FEE, attempt.late_fee_minor),
        (InvoiceLine.Kind.LATE_INTEREST, attempt.late_interest_minor),
    ]
    for position, (kind, amount) in enumerate((k, a) for k, a in lines if a):
        InvoiceLine.objects.create(
            tenant=tenant,
            invoice=invoice,
            position=position,
            kind=kind,
            description=original.number or original.public_id,
            amount_minor=amount,
            total_minor=amount,
        )
    for type_ in ("invoice.finalized", "invoice.paid"):
        emit(
            tenant_id=tenant.pk,
            type=type_,
            at=now,
            subject_type="invoice",
            subject_id=invoice.public_id,
            data={
                "invoice": invoice.public_id,
                "late_charges_for": original.public_id,
                "payment": attempt.public_id,
            },
        )
    return invoice


__all__ = [
    "boleto_segunda_via_issue",
    "collection_settings",
    "late_charges_invoice_write",
    "segunda_via_quote",
]
