"""The one order in which a transaction locks rows (``SELECT … FOR UPDATE``).

Two transactions that lock the same rows in the same order wait for each other;
in opposite orders they deadlock. So every path that locks more than one of
these rows takes them in this order, from the top:

    1. customer
    2. subscription
    3. invoice             (several: ascending id)
    4. payment attempt
    5. refund
    6. dunning case
    last: document sequences (gapless numbering), taken only to number a document

A path that starts from a lower row (a payment webhook knows the attempt, a
dunning step its case) first reads the ids above it without locking — an
attempt's invoice and an invoice's subscription never change — and locks
downwards from there. Re-locking a row the transaction already holds costs a
query, never a wait.

Example: settling a payment locks subscription → invoice → attempt, and
cancelling with credit locks subscription → invoices; before this order, the
payment took invoice then subscription and the two could deadlock (see
tests/billing/test_lock_order.py). A bank return file settles many boletos in
one transaction: it takes them in ascending (subscription, invoice, attempt)
order, so two overlapping files cannot deadlock (billing/return_files.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.models import Invoice, PaymentAttempt
from subscriptions.models import Subscription
from tenants.models import Tenant


def lock_subscription_of_invoice(*, tenant: Tenant, invoice_id: int) -> None:
    """Lock the subscription an invoice bills, if any (step 2 before step 3)."""
    subscription_id = (
        Invoice.objects.filter(tenant=tenant, pk=invoice_id)
        .values_list("subscription_id", flat=True)
        .first()
    )
    if subscription_id is not None:
        Subscription.objects.select_for_update().filter(pk=subscription_id).first()


def lock_invoice(*, tenant: Tenant, invoice_id: int) -> Invoice | None:
    """An invoice, locked after its subscription."""
    lock_subscription_of_invoice(tenant=tenant, invoice_id=invoice_id)
    return Invoice.objects.select_for_update().filter(tenant=tenant, pk=invoice_id).first()


def lock_invoices(*, ids: Iterable[int]) -> dict[int, Invoice]:
    """Several invoices (their subscription locked already), in ascending id order."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    }


def lock_attempt(*, tenant: Tenant, attempt_id: int) -> PaymentAttempt:
    """A payment attempt, locked after its invoice's subscription and its invoice."""
    invoice_id = (
        PaymentAttempt.objects.filter(tenant=tenant, pk=attempt_id)
        .values_list("invoice_id", flat=True)
        .first()
    )
    if invoice_id is not None:
        lock_invoice(tenant=tenant, invoice_id=invoice_id)
    return PaymentAttempt.objects.select_for_update().get(tenant=tenant, pk=attempt_id)
