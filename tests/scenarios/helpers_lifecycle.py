"""Small helpers for the lifecycle scenarios: local times, compact views of
invoices, subscription state and the outbox, and the lifecycle services called
with the test clock's frozen time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing import subscriptions as billing_subs
from billing.models import CreditNote, Invoice
from billing.services import customer_balance, invoice_mark_paid
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import ScheduledChange, Subscription
from tenants.models import Event
from tests.support.billing import ACTOR, World

TZ = "America/Sao_Paulo"
_ZONE = ZoneInfo(TZ)


def sp(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    """A wall-clock time in São Paulo (UTC-3 all of 2026), as an aware UTC datetime."""
    return datetime(y, m, d, h, mi, tzinfo=_ZONE).astimezone(UTC)


def loc(moment: datetime | None) -> str | None:
    """``moment`` on the São Paulo wall clock, to the minute."""
    return None if moment is None else moment.astimezone(_ZONE).strftime("%Y-%m-%d %H:%M")


def doc(inv: Invoice) -> tuple[Any, ...]:
    """(number, issued (local), reason, status, subtotal, discount, tax, total,
    credit applied, amount due)."""
    return (
        inv.number,
        loc(inv.issued_at),
        inv.billing_reason,
        inv.status,
        inv.subtotal_minor,
        inv.discount_minor,
        inv.tax_minor,
        inv.total_minor,
        inv.credit_applied_minor,
        inv.amount_due_minor,
    )


def lines(inv: Invoice) -> list[tuple[str, int, int, int, int, int]]:
    """[(kind, quantity, amount, discount, tax, total)] in position order."""
    return [
        (ln.kind, ln.quantity, ln.amount_minor, ln.discount_minor, ln.tax_minor, ln.total_minor)
        for ln in inv.lines.all()
    ]


def spans(inv: Invoice) -> list[tuple[str, str | None, str | None]]:
    """[(kind, service period start, end)] on the local wall clock."""
    return [(ln.kind, loc(ln.period_start), loc(ln.period_end)) for ln in inv.lines.all()]


def state(w: World, sub: Subscription) -> tuple[Any, ...]:
    """(status, plan code, quantity, current period start, end) on the local clock."""
    s = w.refresh(sub)
    return (
        s.status,
        s.plan.code,
        s.quantity,
        loc(s.current_period_start),
        loc(s.current_period_end),
    )


def events(w: World) -> list[tuple[str | None, str]]:
    """Subscription, invoice and credit-note events of the tenant, in outbox order."""
    rows = Event.objects.filter(
        tenant=w.tenant, subject_type__in=["subscription", "invoice", "credit_note"]
    ).order_by("at", "id")
    return [(loc(e.at), e.type) for e in rows]


def balance(w: World, customer: Customer | int, currency: str = "BRL") -> int:
    cust = customer if isinstance(customer, Customer) else Customer.objects.get(pk=customer)
    return customer_balance(customer=cust, currency=currency)


def credit_notes(w: World) -> list[tuple[str, str, str | None, int, str | None, str | None]]:
    """[(number, invoice number, issued (local), total, line period start, end)]."""
    out = []
    for note in CreditNote.objects.filter(tenant=w.tenant).order_by("issued_at", "id"):
        # A note credits one or several lines of its invoice, all for the same period.
        lines = list(note.lines.all())
        line = lines[0]
        assert {(x.period_start, x.period_end) for x in lines} == {
            (line.period_start, line.period_end)
        }
        out.append(
            (
                note.number,
                note.invoice.number,
                loc(note.issued_at),
                note.total_minor,
                loc(line.period_start),
                loc(line.period_end),
            )
        )
    return out


def pending_changes(sub: Subscription) -> list[tuple[str, str | None]]:
    rows = ScheduledChange.objects.filter(subscription=sub, status="pending").order_by("id")
    return [(c.kind, loc(c.effective_at)) for c in rows]


# --- the lifecycle services, at the clock's time --------------------------------


def change(w: World, sub: Subscription, **kw: Any) -> Subscription:
    return billing_subs.subscription_change(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )


def cancel(w: World, sub: Subscription, **kw: Any) -> Subscription:
    return billing_subs.subscription_cancel(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )


def cancel_undo(w: World, sub: Subscription) -> Subscription:
    return subs.subscription_cancel_undo(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
    )


def pause(w: World, sub: Subscription, **kw: Any) -> Subscription:
    return subs.subscription_pause(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )


def resume(w: World, sub: Subscription) -> Subscription:
    return billing_subs.subscription_resume(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
    )


def pay(w: World, inv: Invoice) -> Invoice:
    return invoice_mark_paid(tenant=w.tenant, invoice_id=inv.pk, actor=ACTOR, now=w.now)
