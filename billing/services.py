"""Writes for invoices, credit notes and the customer's credit balance.

``invoices_write`` is the one writer of invoices: a single subscription change
and a billing-run batch of a thousand renewals go through the same bulk path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Sum

from billing import listeners
from billing.domain.amounts import remaining_fraction
from billing.domain.credits import CreditLine, allocate_credit, credit_line, credit_totals
from billing.domain.invoicing import ProposedLine, Totals, close_document, tax_lines, totals
from billing.locks import lock_invoice, lock_invoices
from billing.models import (
    INVOICE_TRANSITIONS,
    BalanceTransaction,
    CreditNote,
    CreditNoteLine,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    PendingLine,
)
from core.actors import Actor
from core.bulk import bulk_set, insert_rows
from core.errors import NotFound, StateConflict, ValidationFailed
from core.ids import new_public_id
from core.localtime import to_local
from core.transitions import ensure_transition
from customers.models import Customer
from tenants import audit
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import PendingEvent, emit, emit_many


@dataclass
class InvoiceDraft:
    """An invoice to write: computed in memory, written in bulk."""

    customer_id: int
    currency: str
    reason: str
    lines: list[ProposedLine]
    issued_at: datetime
    subscription_id: int | None = None
    subscription_public_id: str = ""
    period_start: datetime | None = None
    period_end: datetime | None = None
    credit_carried_minor: int = 0
    locale: str = ""
    pending_line_ids: list[int] = field(default_factory=list)


def _allocate_numbers(*, tenant: Tenant, kind: str, year: int, count: int) -> list[str]:
    """``count`` consecutive numbers, gapless: the sequence row stays locked until
    the finalizing transaction commits, and a rollback gives the numbers back."""
    if count == 0:
        return []
    DocumentSequence.objects.get_or_create(tenant=tenant, kind=kind, year=year)
    seq = DocumentSequence.objects.select_for_update().get(tenant=tenant, kind=kind, year=year)
    first = seq.last_value + 1
    seq.last_value += count
    seq.save(update_fields=["last_value"])
    prefix = tenant.document_prefix + ("-CN" if kind == "credit_note" else "")
    return [f"{prefix}-{year}-{n:06d}" for n in range(first, first + count)]


def balances_of(*, customer_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    rows = (
        BalanceTransaction.objects.filter(customer_id__in=customer_ids)
        .values("customer_id", "currency")
        .annotate(balance=Sum("amount_minor"))
    )
    return {(r["customer_id"], r["currency"]): r["balance"] for r in rows}


def customer_balance(*, customer: Customer, currency: str) -> int:
    return balances_of(customer_ids=[customer.pk]).get((customer.pk, currency), 0)


@dataclass(frozen=True, slots=True)
class WrittenInvoice:
    id: int
    public_id: str
    number: str
    status: str
    billing_reason: str
    subscription_id: int | None
    total_minor: int
    amount_due_minor: int


_INVOICE_FIELDS = [
    "tenant",
    "public_id",
    "customer",
    "subscription",
    "number",
    "status",
    "billing_reason",
    "currency",
    "period_start",
    "period_end",
    "subtotal_minor",
    "discount_minor",
    "tax_minor",
    "total_minor",
    "credit_applied_minor",
    "amount_due_minor",
    "amount_paid_minor",
    "credited_minor",
    "issued_at",
    "due_at",
    "paid_at",
    "voided_at",
    "locale",
    "customer_snapshot",
    "created_at",
]
_LINE_FIELDS = [
    "tenant",
    "invoice",
    "position",
    "kind",
    "description",
    "quantity",
    "amount_minor",
    "discount_minor",
    "tax_minor",
    "tax_inclusive",
    "tax_percent",
    "total_minor",
    "period_start",
    "period_end",
    "plan",
    "coupon",
]
_LEDGER_FIELDS = [
    "tenant",
    "customer",
    "currency",
    "amount_minor",
    "description",
    "invoice",
    "credit_note",
    "at",
]


def _ledger_row(
    *,
    tenant: Tenant,
    customer_id: int,
    currency: str,
    amount_minor: int,
    description: str,
    at: datetime,
    invoice_id: int | None = None,
    credit_note_id: int | None = None,
) -> dict[str, Any]:
    """One row of the customer's balance ledger (``BalanceTransaction``), as
    plain values: positive adds credit, negative uses it. Every balance move is
    built here."""
    return {
        "tenant": tenant.pk,
        "customer": customer_id,
        "currency": currency,
        "amount_minor": amount_minor,
        "description": description,
        "invoice": invoice_id,
        "credit_note": credit_note_id,
        "at": at,
    }


def _ledger_write(rows: Sequence[dict[str, Any]]) -> None:
    """Write ledger rows: one statement, however many."""
    insert_rows(BalanceTransaction, rows, _LEDGER_FIELDS)


@dataclass(frozen=True, slots=True)
class _Finalized:
    """What finalizing decides for one invoice: its number, totals, the credit
    balance it uses, what is left due, and so its status."""

    number: str
    status: str
    totals: Totals
    credit_applied_minor: int
    amount_due_minor: int
    issued_at: datetime
    due_at: datetime
    paid_at: datetime | None


def _finalize(*, tenant: Tenant, drafts: Sequence[InvoiceDraft]) -> list[_Finalized]:
    """Number a batch of invoices gaplessly (per year of issue) and apply the
    customers' credit balances to them, in order: the one finalization rule,
    for the billing run's batches and a merchant's one-off invoice alike."""
    balances = balances_of(customer_ids=sorted({d.customer_id for d in drafts}))
    by_year: dict[int, list[int]] = defaultdict(list)
    for i, draft in enumerate(drafts):
        by_year[to_local(draft.issued_at, tenant.time_zone).year].append(i)
    numbers: dict[int, str] = {}
    for year in sorted(by_year):
        indexes = by_year[year]
        allocated = _allocate_numbers(tenant=tenant, kind="invoice", year=year, count=len(indexes))
        numbers.update(zip(indexes, allocated, strict=True))
    finalized = []
    for i, draft in enumerate(drafts):
        t = totals(draft.lines)
        key = (draft.customer_id, draft.currency)
        available = balances.get(key, 0) + draft.credit_carried_minor
        applied = max(0, min(available, t.total_minor))
        balances[key] = available - applied
        due = t.total_minor - applied
        finalized.append(
            _Finalized(
                number=numbers[i],
                status=Invoice.Status.PAID if due == 0 else Invoice.Status.OPEN,
                totals=t,
                credit_applied_minor=applied,
                amount_due_minor=due,
                issued_at=draft.issued_at,
                due_at=draft.issued_at + timedelta(days=tenant.net_terms_days),
                paid_at=draft.issued_at if due == 0 else None,
            )
        )
    return finalized


def _finalized_ledger(
    *, tenant: Tenant, draft: InvoiceDraft, invoice_id: int, fin: _Finalized
) -> list[dict[str, Any]]:
    """The balance moves of a finalized invoice: the credit it carries to the
    customer's balance, then the balance it uses."""
    return [
        _ledger_row(
            tenant=tenant,
            customer_id=draft.customer_id,
            currency=draft.currency,
            amount_minor=amount,
            description=description,
            at=draft.issued_at,
            invoice_id=invoice_id,
        )
        for amount, description in (
            (draft.credit_carried_minor, f"Credit from {fin.number}"),
            (-fin.credit_applied_minor, f"Applied to {fin.number}"),
        )
        if amount
    ]


def _finalized_events(
    *, tenant: Tenant, draft: InvoiceDraft, public_id: str, fin: _Finalized
) -> list[PendingEvent]:
    data: dict[str, Any] = {"invoice": public_id, "number": fin.number}
    if draft.subscription_public_id:
        data["subscription"] = draft.subscription_public_id
    data |= {
        "total": fin.totals.total_minor,
        "amount_due": fin.amount_due_minor,
        "currency": draft.currency,
    }
    events = [
        PendingEvent(tenant.pk, "invoice.finalized", draft.issued_at, "invoice", public_id, data)
    ]
    if fin.status == Invoice.Status.PAID:
        events.append(
            PendingEvent(tenant.pk, "invoice.paid", draft.issued_at, "invoice", public_id, data)
        )
    return events


def customer_snapshots(*, tenant: Tenant, customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The customers as billed, by id: what every finalized invoice keeps in
    ``customer_snapshot`` (name, email, tax id, address), so the fiscal record
    shows who it was issued to even after the customer's row changes or is
    erased. Every path that finalizes an invoice takes it from here."""
    return {
        c["pk"]: {
            "name": c["name"],
            "email": c["email"],
            "tax_id": c["tax_id"],
            "address": c["address"] or {},
        }
        for c in Customer.objects.filter(tenant=tenant, pk__in=set(customer_ids)).values(
            "pk", "name", "email", "tax_id", "address"
        )
    }


def invoices_write(
    *, tenant: Tenant, drafts: Sequence[InvoiceDraft], now: datetime
) -> list[WrittenInvoice]:
    """Write and finalize invoices in bulk: numbers, credit balance, lines, events.

    Runs inside the caller's transaction (every caller holds one). The rows are
    built as plain values and written with one statement per table.
    """
    if not drafts:
        return []
    finalized = _finalize(tenant=tenant, drafts=drafts)
    billed_to = customer_snapshots(tenant=tenant, customer_ids={d.customer_id for d in drafts})
    rows: list[dict[str, Any]] = []
    summaries: list[WrittenInvoice] = []
    for draft, fin in zip(drafts, finalized, strict=True):
        t = fin.totals
        rows.append(
            {
                "tenant": tenant.pk,
                "public_id": new_public_id("in"),
                "customer": draft.customer_id,
                "subscription": draft.subscription_id,
                "number": fin.number,
                "status": fin.status,
                "billing_reason": draft.reason,
                "currency": draft.currency,
                "period_start": draft.period_start,
                "period_end": draft.period_end,
                "subtotal_minor": t.subtotal_minor,
                "discount_minor": t.discount_minor,
                "tax_minor": t.tax_minor,
                "total_minor": t.total_minor,
                "credit_applied_minor": fin.credit_applied_minor,
                "amount_due_minor": fin.amount_due_minor,
                "amount_paid_minor": 0,
                "credited_minor": 0,
                "issued_at": fin.issued_at,
                "due_at": fin.due_at,
                "paid_at": fin.paid_at,
                "voided_at": None,
                "locale": draft.locale,
                "customer_snapshot": billed_to[draft.customer_id],
                "created_at": now,
            }
        )
    ids = insert_rows(Invoice, rows, _INVOICE_FIELDS, returning=True)
    lines: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    events: list[PendingEvent] = []
    pending: list[tuple[int, int]] = []
    for invoice_id, row, draft, fin in zip(ids, rows, drafts, finalized, strict=True):
        summaries.append(
            WrittenInvoice(
                id=invoice_id,
                public_id=row["public_id"],
                number=row["number"],
                status=row["status"],
                billing_reason=row["billing_reason"],
                subscription_id=draft.subscription_id,
                total_minor=row["total_minor"],
                amount_due_minor=row["amount_due_minor"],
            )
        )
        for position, line in enumerate(draft.lines):
            lines.append(
                {
                    "tenant": tenant.pk,
                    "invoice": invoice_id,
                    "position": position,
                    "kind": line.kind,
                    "description": line.description[:300],
                    "quantity": line.quantity,
                    "amount_minor": line.amount_minor,
                    "discount_minor": line.discount_minor,
                    "tax_minor": line.tax_minor,
                    "tax_inclusive": line.tax_inclusive,
                    "tax_percent": line.tax_percent,
                    "total_minor": line.total_minor,
                    "period_start": line.period_start,
                    "period_end": line.period_end,
                    "plan": line.plan_id,
                    "coupon": line.coupon_id,
                }
            )
        ledger += _finalized_ledger(tenant=tenant, draft=draft, invoice_id=invoice_id, fin=fin)
        pending.extend((invoice_id, line_id) for line_id in draft.pending_line_ids)
        events += _finalized_events(tenant=tenant, draft=draft, public_id=row["public_id"], fin=fin)
    insert_rows(InvoiceLine, lines, _LINE_FIELDS)
    _ledger_write(ledger)
    # The lines were read under their subscription's row lock, so they are
    # still unbilled: one statement marks them all, not one per line.
    bulk_set(
        PendingLine, [PendingLine(pk=line, invoice_id=inv) for inv, line in pending], ["invoice"]
    )
    emit_many(events)
    return summaries


def _locked_invoice(*, tenant: Tenant, invoice_id: int) -> Invoice:
    # Its subscription first (billing/locks.py): paying or closing an invoice
    # may move the subscription too.
    invoice = lock_invoice(tenant=tenant, invoice_id=invoice_id)
    if invoice is None:
        raise NotFound("No such invoice.", param="invoice")
    return invoice


@transaction.atomic
def invoice_mark_paid(
    *, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime, note: str = ""
) -> Invoice:
    """Record an invoice as paid (payments call this; staff may, with a note).

    A paid first invoice activates an ``incomplete`` subscription, and paying
    the latest one brings a ``past_due`` subscription back to ``active``.
    """
    invoice = _locked_invoice(tenant=tenant, invoice_id=invoice_id)
    if invoice.status == Invoice.Status.PAID:
        return invoice
    ensure_transition(
        INVOICE_TRANSITIONS,
        invoice.status,
        Invoice.Status.PAID,
        what="invoice",
        code="invoice_not_open",
    )
    invoice.status = Invoice.Status.PAID
    invoice.amount_paid_minor = invoice.amount_due_minor
    invoice.paid_at = now
    invoice.save(update_fields=["status", "amount_paid_minor", "paid_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="invoice.paid",
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={"invoice": invoice.public_id, "note": note},
        target=invoice,
        changes={"note": note},
    )
    listeners.invoice_settled(tenant=tenant, invoice=invoice, now=now)
    if invoice.subscription_id:
        from subscriptions.services.lifecycle import subscription_invoice_paid

        subscription_invoice_paid(tenant=tenant, subscription_id=invoice.subscription_id, now=now)
    return invoice


def _close_invoice(
    *, tenant: Tenant, invoice_id: int, to: str, actor: Actor, now: datetime
) -> Invoice:
    invoice = _locked_invoice(tenant=tenant, invoice_id=invoice_id)
    if invoice.status == to:
        return invoice
    ensure_transition(
        INVOICE_TRANSITIONS, invoice.status, to, what="invoice", code="invoice_not_open"
    )
    invoice.status = to
    fields = ["status"]
    if to == Invoice.Status.VOID:
        invoice.voided_at = now
        fields.append("voided_at")
        if invoice.credit_applied_minor:
            # Give back the credit balance the invoice had consumed.
            _ledger_write(
                [
                    _ledger_row(
                        tenant=tenant,
                        customer_id=invoice.customer_id,
                        currency=invoice.currency,
                        amount_minor=invoice.credit_applied_minor,
                        description=f"Returned from voided {invoice.number}",
                        at=now,
                        invoice_id=invoice.pk,
                    )
                ]
            )
    invoice.save(update_fields=fields)
    event = "invoice.voided" if to == Invoice.Status.VOID else "invoice.marked_uncollectible"
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event=event,
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={"invoice": invoice.public_id},
        target=invoice,
    )
    listeners.invoice_settled(tenant=tenant, invoice=invoice, now=now)
    return invoice


@transaction.atomic
def invoice_void(*, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime) -> Invoice:
    return _close_invoice(
        tenant=tenant, invoice_id=invoice_id, to=Invoice.Status.VOID, actor=actor, now=now
    )


@transaction.atomic
def invoice_mark_uncollectible(
    *, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime
) -> Invoice:
    return _close_invoice(
        tenant=tenant, invoice_id=invoice_id, to=Invoice.Status.UNCOLLECTIBLE, actor=actor, now=now
    )


def invoice_credit_lines(*, invoice: Invoice) -> list[CreditLine]:
    """The invoice's lines as a credit sees them (everything but carried credit)."""
    return [
        CreditLine(
            description=line.description,
            amount_minor=line.amount_minor,
            discount_minor=line.discount_minor,
            tax_minor=line.tax_minor,
            tax_inclusive=line.tax_inclusive,
            tax_percent=line.tax_percent,
            period_start=line.period_start,
            period_end=line.period_end,
            invoice_line_id=line.pk,
        )
        for line in InvoiceLine.objects.filter(invoice=invoice).exclude(
            kind=InvoiceLine.Kind.CREDIT_CARRIED
        )
    ]


def credit_note_write(
    *,
    tenant: Tenant,
    invoice: Invoice,
    reason: str,
    now: datetime,
    lines: Sequence[CreditLine] | None = None,
    amount_minor: int | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    to_balance: bool = True,
) -> CreditNote:
    """Issue one credit note on a locked invoice and credit the customer's balance
    (``to_balance``) — or not, when the money is refunded instead.

    Give the ``lines`` credited (``billing.domain.credits.credit_line`` prices
    them as the invoice did), or just a total ``amount_minor``, which is spread
    over the invoice's lines (``allocate_credit``). The note's subtotal,
    discount, tax and total are its lines' sums."""
    if lines is None and (amount_minor is None or amount_minor <= 0):
        raise ValidationFailed("A credit note must be for a positive amount.", param="amount")
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
        raise StateConflict(
            f"A {invoice.status} invoice cannot be credited.", code="invoice_not_creditable"
        )
    if lines is None:
        assert amount_minor is not None  # checked above
        lines = allocate_credit(
            amount_minor, invoice_credit_lines(invoice=invoice), description=reason[:300]
        )
        if period_start is not None or period_end is not None:
            # The period the caller credits, not the invoice lines' own.
            lines = [replace(x, period_start=period_start, period_end=period_end) for x in lines]
    t = credit_totals(lines)
    if t.total_minor <= 0:
        raise ValidationFailed("A credit note must be for a positive amount.", param="amount")
    creditable = invoice.total_minor - invoice.credited_minor
    if t.total_minor > creditable:
        raise ValidationFailed(
            f"At most {creditable} can still be credited on {invoice.number}.", param="amount"
        )
    year = to_local(now, tenant.time_zone).year
    [number] = _allocate_numbers(tenant=tenant, kind="credit_note", year=year, count=1)
    note = CreditNote.objects.create(
        tenant=tenant,
        invoice=invoice,
        customer_id=invoice.customer_id,
        number=number,
        currency=invoice.currency,
        reason=reason[:200],
        subtotal_minor=t.subtotal_minor,
        discount_minor=t.discount_minor,
        tax_minor=t.tax_minor,
        total_minor=t.total_minor,
        issued_at=now,
    )
    CreditNoteLine.objects.bulk_create(
        [
            CreditNoteLine(
                tenant=tenant,
                credit_note=note,
                invoice_line_id=line.invoice_line_id,
                position=position,
                description=line.description[:300],
                amount_minor=line.amount_minor,
                discount_minor=line.discount_minor,
                tax_minor=line.tax_minor,
                tax_inclusive=line.tax_inclusive,
                tax_percent=line.tax_percent,
                total_minor=line.total_minor,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for position, line in enumerate(lines)
        ]
    )
    Invoice.objects.filter(pk=invoice.pk).update(credited_minor=F("credited_minor") + t.total_minor)
    invoice.credited_minor += t.total_minor
    if to_balance:
        _ledger_write(
            [
                _ledger_row(
                    tenant=tenant,
                    customer_id=invoice.customer_id,
                    currency=invoice.currency,
                    amount_minor=t.total_minor,
                    description=f"Credit note {number}",
                    at=now,
                    invoice_id=invoice.pk,
                    credit_note_id=note.pk,
                )
            ]
        )
    emit(
        tenant_id=tenant.pk,
        type="credit_note.created",
        at=now,
        subject_type="credit_note",
        subject_id=note.public_id,
        data={
            "credit_note": note.public_id,
            "invoice": invoice.public_id,
            "subtotal": t.subtotal_minor,
            "discount": t.discount_minor,
            "tax": t.tax_minor,
            "total": t.total_minor,
            "currency": invoice.currency,
        },
    )
    return note


def credit_unused_time(
    *,
    tenant: Tenant,
    lines: Sequence[InvoiceLine],
    at: datetime,
    reason: str,
) -> list[CreditNote]:
    """Credit the part of each of ``lines`` (which carry their service period)
    left after ``at``: ONE credit note per credited invoice, whatever number of
    its lines is credited. Each line's credit is priced the way the invoice
    priced the line (``credit_line``): the net amount prorated and rounded, then
    its discount and its tax. The caller holds the transaction."""
    from billing.models import Coupon

    coupon_ids = {line.coupon_id for line in lines if line.coupon_id}
    coupons = {c.pk: c for c in Coupon.objects.filter(tenant=tenant, pk__in=coupon_ids)}
    by_invoice: dict[int, list[CreditLine]] = defaultdict(list)
    for line in lines:
        if line.period_start is None or line.period_end is None:
            continue
        fraction = remaining_fraction(
            period_start=line.period_start,
            period_end=line.period_end,
            at=at,
            precision=tenant.proration_precision,
            tz=tenant.time_zone,
            day_count=tenant.proration_day_count,
            change_day=tenant.proration_change_day,
        )
        if fraction.part == 0:
            continue
        coupon = coupons.get(line.coupon_id) if line.coupon_id else None
        percent_off = None
        if coupon is not None and coupon.amount_off_minor is None:
            # The percentage the invoice took (billing.domain.invoicing.discount_lines).
            percent_off = (
                coupon.setup_percent_off
                if line.kind == InvoiceLine.Kind.SETUP_FEE and coupon.setup_percent_off is not None
                else coupon.percent_off
            )
        credited = credit_line(
            CreditLine(
                description=line.description,
                amount_minor=line.amount_minor,
                discount_minor=line.discount_minor,
                tax_minor=line.tax_minor,
                tax_inclusive=line.tax_inclusive,
                tax_percent=line.tax_percent,
                period_start=line.period_start,
                period_end=line.period_end,
                invoice_line_id=line.pk,
            ),
            fraction,
            percent_off=percent_off,
            rounding=tenant.rounding_mode,
            period_start=max(at, line.period_start),
        )
        if credited.amount_minor or credited.total_minor:
            by_invoice[line.invoice_id].append(credited)
    # All of them locked at once, in ascending order (billing/locks.py), before
    # numbering any credit note.
    invoices = lock_invoices(ids=by_invoice)
    notes = []
    for invoice_id in sorted(by_invoice):
        credited_lines = by_invoice[invoice_id]
        locked = invoices[invoice_id]
        if locked.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
            continue
        total = credit_totals(credited_lines).total_minor
        creditable = locked.total_minor - locked.credited_minor
        if total <= 0 or creditable <= 0:
            continue
        if total > creditable:
            # Credited in part already (a manual credit note): what is left, spread
            # over the invoice's lines, rather than more than the invoice.
            notes.append(
                credit_note_write(
                    tenant=tenant,
                    invoice=locked,
                    amount_minor=creditable,
                    reason=reason,
                    now=at,
                    period_start=min(line.period_start or at for line in credited_lines),
                    period_end=max(line.period_end or at for line in credited_lines),
                )
            )
            continue
        notes.append(
            credit_note_write(
                tenant=tenant, invoice=locked, lines=credited_lines, reason=reason, now=at
            )
        )
    return notes


@transaction.atomic
def credit_note_issue(
    *,
    tenant: Tenant,
    invoice_id: int,
    amount_minor: int,
    reason: str,
    actor: Actor,
    now: datetime,
) -> CreditNote:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise ValidationFailed("The amount must be an integer of minor units.", param="amount")
    invoice = _locked_invoice(tenant=tenant, invoice_id=invoice_id)
    note = credit_note_write(
        tenant=tenant, invoice=invoice, amount_minor=amount_minor, reason=reason, now=now
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="credit_note.created",
        target=note,
        changes={"invoice": invoice.number, "total": amount_minor},
        at=now,
    )
    return note


# --- manual invoices: draft, edit, finalize -------------------------------------


@dataclass(frozen=True, slots=True)
class ManualLine:
    description: str
    unit_amount_minor: int
    quantity: int = 1
    tax_rate_id: int | None = None


def _draft(tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = _locked_invoice(tenant=tenant, invoice_id=invoice_id)
    if invoice.status != Invoice.Status.DRAFT:
        raise StateConflict(
            f"A {invoice.status} invoice cannot be edited; issue a credit note instead.",
            code="invoice_not_draft",
        )
    return invoice


def _manual_line(tenant: Tenant, invoice: Invoice, line: ManualLine, position: int) -> InvoiceLine:
    from billing.models import TaxRate

    if not isinstance(line.description, str) or not line.description.strip():
        raise ValidationFailed("A line needs a description.", param="description")
    for param, value, low, high in (
        ("unit_amount_minor", line.unit_amount_minor, -(10**13), 10**13),
        ("quantity", line.quantity, 1, 1_000_000),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationFailed(
                f"{param} must be a whole number from {low} to {high}.", param=param
            )
    amount = line.unit_amount_minor * line.quantity
    if abs(amount) > 10**13:
        raise ValidationFailed(
            "This line is too large to bill.", param="quantity", code="amount_too_large"
        )
    tax = None
    if line.tax_rate_id is not None:
        tax = TaxRate.objects.filter(tenant=tenant, pk=line.tax_rate_id, active=True).first()
        if tax is None:
            raise NotFound("No such tax rate.", param="tax_rate")
    [proposed] = tax_lines(
        [
            ProposedLine(
                kind=InvoiceLine.Kind.ADJUSTMENT,
                description=line.description.strip(),
                amount_minor=amount,
                quantity=line.quantity,
                tax_percent=tax.percent if tax else None,
                tax_inclusive=bool(tax and tax.inclusive),
            )
        ],
        tenant.rounding_mode,
    )
    return InvoiceLine.objects.create(
        tenant=tenant,
        invoice=invoice,
        position=position,
        kind=proposed.kind,
        description=proposed.description[:300],
        quantity=proposed.quantity,
        amount_minor=proposed.amount_minor,
        tax_minor=proposed.tax_minor,
        tax_inclusive=proposed.tax_inclusive,
        tax_percent=proposed.tax_percent,
        total_minor=proposed.total_minor,
    )


@transaction.atomic
def invoice_draft_create(
    *,
    tenant: Tenant,
    customer: Customer,
    currency: str,
    actor: Actor,
    now: datetime,
    lines: Sequence[ManualLine] = (),
) -> Invoice:
    """A one-off invoice, editable until finalized."""
    from core.money import is_known_currency

    if customer.tenant_id != tenant.pk:
        raise NotFound("No such customer.", param="customer")
    if not isinstance(currency, str) or not is_known_currency(currency):
        raise ValidationFailed(f"Unknown currency: {currency}", param="currency")
    invoice = Invoice.objects.create(
        tenant=tenant,
        customer=customer,
        currency=currency,
        status=Invoice.Status.DRAFT,
        billing_reason=Invoice.Reason.MANUAL,
        locale=customer.locale,
    )
    for position, line in enumerate(lines):
        _manual_line(tenant, invoice, line, position)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="invoice.created",
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={"invoice": invoice.public_id},
        target=invoice,
        action="invoice.draft_created",
    )
    return invoice


@transaction.atomic
def invoice_draft_add_line(
    *, tenant: Tenant, invoice_id: int, line: ManualLine, actor: Actor, now: datetime
) -> InvoiceLine:
    invoice = _draft(tenant, invoice_id)
    added = _manual_line(tenant, invoice, line, invoice.lines.count())
    audit.record(
        tenant=tenant,
        actor=actor,
        action="invoice.line_added",
        target=invoice,
        changes={"description": added.description, "amount": added.amount_minor},
        at=now,
    )
    return added


@transaction.atomic
def invoice_draft_delete(*, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime) -> None:
    invoice = _draft(tenant, invoice_id)
    audit.record(tenant=tenant, actor=actor, action="invoice.draft_deleted", target=invoice, at=now)
    invoice.delete()


@transaction.atomic
def invoice_finalize(*, tenant: Tenant, invoice_id: int, actor: Actor, now: datetime) -> Invoice:
    """Number the draft (gaplessly), apply the customer's credit, and freeze it."""
    invoice = _draft(tenant, invoice_id)
    lines = list(invoice.lines.all())
    if not lines:
        raise ValidationFailed(
            "An invoice needs at least one line.", param="lines", code="invoice_empty"
        )
    proposed = [
        ProposedLine(
            kind=x.kind,
            description=x.description,
            amount_minor=x.amount_minor,
            quantity=x.quantity,
            tax_minor=x.tax_minor,
            tax_inclusive=x.tax_inclusive,
            tax_percent=x.tax_percent,
        )
        for x in lines
    ]
    closed, carried = close_document(proposed)
    if carried:
        InvoiceLine.objects.create(
            tenant=tenant,
            invoice=invoice,
            position=len(lines),
            kind=InvoiceLine.Kind.CREDIT_CARRIED,
            description="",
            amount_minor=carried,
            total_minor=carried,
        )
    # The same finalization as a billing run's invoices, for this one draft.
    draft = InvoiceDraft(
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        reason=invoice.billing_reason,
        lines=closed,
        issued_at=now,
        subscription_id=invoice.subscription_id,
        credit_carried_minor=carried,
        locale=invoice.locale,
    )
    [fin] = _finalize(tenant=tenant, drafts=[draft])
    ensure_transition(INVOICE_TRANSITIONS, invoice.status, fin.status, what="invoice")
    t = fin.totals
    invoice.number, invoice.status = fin.number, fin.status
    invoice.subtotal_minor, invoice.discount_minor = t.subtotal_minor, t.discount_minor
    invoice.tax_minor, invoice.total_minor = t.tax_minor, t.total_minor
    invoice.credit_applied_minor = fin.credit_applied_minor
    invoice.amount_due_minor = fin.amount_due_minor
    invoice.issued_at, invoice.due_at, invoice.paid_at = fin.issued_at, fin.due_at, fin.paid_at
    invoice.customer_snapshot = customer_snapshots(
        tenant=tenant, customer_ids={invoice.customer_id}
    )[invoice.customer_id]
    invoice.save()
    _ledger_write(_finalized_ledger(tenant=tenant, draft=draft, invoice_id=invoice.pk, fin=fin))
    emit_many(_finalized_events(tenant=tenant, draft=draft, public_id=invoice.public_id, fin=fin))
    audit.record(
        tenant=tenant,
        actor=actor,
        action="invoice.finalized",
        target=invoice,
        at=now,
        changes={"number": fin.number, "total": t.total_minor},
    )
    return invoice


BALANCE_ADJUST_LIMIT = 10**12


@transaction.atomic
def customer_balance_adjust(
    *,
    tenant: Tenant,
    customer_id: int,
    amount_minor: int,
    currency: str,
    reason: str,
    actor: Actor,
    now: datetime,
) -> int:
    """Credit (positive) or debit (negative) the customer's balance by hand, with
    the reason on the ledger row; returns the new balance in ``currency``."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise ValidationFailed("The amount must be a whole number of cents.", param="amount")
    if amount_minor == 0:
        raise ValidationFailed("The amount cannot be zero.", param="amount")
    if abs(amount_minor) > BALANCE_ADJUST_LIMIT:
        raise ValidationFailed("The amount is too large.", param="amount")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed("Say why the balance changes.", param="reason")
    if len(reason) > 200:
        raise ValidationFailed("A reason has at most 200 characters.", param="reason")
    # The row lock serializes adjustments of one customer.
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    _ledger_write(
        [
            _ledger_row(
                tenant=tenant,
                customer_id=customer.pk,
                currency=currency,
                amount_minor=amount_minor,
                description=reason,
                at=now,
            )
        ]
    )
    balance = customer_balance(customer=customer, currency=currency)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.balance_adjusted",
        subject_type="customer",
        subject_id=customer.public_id,
        data={
            "customer": customer.public_id,
            "amount": amount_minor,
            "currency": currency,
            "balance": balance,
            "reason": reason,
        },
        target=customer,
        changes={"amount": amount_minor, "currency": currency, "reason": reason},
    )
    return balance
