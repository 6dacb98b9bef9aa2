"""Billing tells whoever listens that an invoice was settled or a payment left
unsettled, without knowing who listens: the listeners are the classes named in
``settings.BILLING_LISTENERS`` (dunning registers itself there)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from billing.models import Invoice, PaymentAttempt
from core.registry import registered
from tenants.models import Tenant


class BillingListener(Protocol):
    """Both calls run inside billing's transaction, with the invoice (or the
    attempt) locked: what a listener writes commits or rolls back with it."""

    def invoice_settled(self, *, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
        """The invoice was paid, voided or marked uncollectible."""

    def payment_unsettled(self, *, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
        """A charge failed, or a boleto / Pix was issued and awaits its payer."""


def _listeners() -> list[BillingListener]:
    return [listener() for listener in registered("BILLING_LISTENERS")]


def invoice_settled(*, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
    for listener in _listeners():
        listener.invoice_settled(tenant=tenant, invoice=invoice, now=now)


def payment_unsettled(*, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
    for listener in _listeners():
        listener.payment_unsettled(tenant=tenant, attempt=attempt, now=now)


def payment_method_missing(
    *, tenant: Tenant, invoice: Invoice, payment_method_kind: str, now: datetime
) -> None:
    """An open invoice found no method to charge and is to be dunned under
    ``payment_method_kind``'s policy (a lapsed Pix Automático mandate). Called
    inside billing's transaction, the invoice locked; listeners without the hook
    are skipped."""
    for listener in _listeners():
        hook = getattr(listener, "payment_method_missing", None)
        if hook is not None:
            hook(tenant=tenant, invoice=invoice, payment_method_kind=payment_method_kind, now=now)
