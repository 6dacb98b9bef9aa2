"""Reads for billing documents, payments and test clocks; every one takes the tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet, Sum

from billing.models import (
    Coupon,
    CreditNote,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    Refund,
    SandboxCharge,
    TaxRate,
)
from customers.models import TestClock
from tenants.models import Tenant


def now_for(*, customer: Any, now: datetime) -> datetime:
    """The time a customer's billing runs at: their test clock's frozen time, or ``now``."""
    clock_id = getattr(customer, "test_clock_id", None)
    if clock_id is None:
        return now
    frozen = TestClock.objects.filter(pk=clock_id).values_list("frozen_time", flat=True).first()
    return frozen or now


def coupon_list(*, tenant: Tenant) -> QuerySet[Coupon]:
    return Coupon.objects.for_tenant(tenant).select_related("seller").order_by("-created_at", "-id")


def tax_rate_list(*, tenant: Tenant) -> QuerySet[TaxRate]:
    return TaxRate.objects.for_tenant(tenant).order_by("-created_at", "-id")


def invoice_list(*, tenant: Tenant) -> QuerySet[Invoice]:
    lines = InvoiceLine.objects.select_related("plan", "coupon").order_by("position", "id")
    return (
        Invoice.objects.for_tenant(tenant)
        .select_related("customer", "subscription")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-created_at", "-id")
    )


def invoice_line_rows(
    *, tenant: Tenant, invoice_ids: list[int], columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The lines of these invoices as rows of ``columns`` (and ``invoice_id``), each
    invoice's in order: a list's lines read without a model instance each."""
    return list(
        InvoiceLine.objects.for_tenant(tenant)
        .filter(invoice_id__in=invoice_ids)
        .order_by("invoice_id", "position", "id")
        .values("invoice_id", *columns)
    )


def credit_note_list(*, tenant: Tenant) -> QuerySet[CreditNote]:
    return (
        CreditNote.objects.for_tenant(tenant)
        .select_related("invoice", "customer")
        .prefetch_related("lines")
        .order_by("-created_at", "-id")
    )


def payment_list(*, tenant: Tenant) -> QuerySet[PaymentAttempt]:
    return (
        PaymentAttempt.objects.for_tenant(tenant)
        .select_related("invoice", "invoice__customer", "payment_method")
        .annotate(refunded=Sum("refunds__amount_minor", filter=_refund_succeeded()))
        .order_by("-created_at", "-id")
    )


def _refund_succeeded() -> Any:
    from django.db.models import Q

    return Q(refunds__status=Refund.Status.SUCCEEDED)


def refund_list(*, tenant: Tenant) -> QuerySet[Refund]:
    return (
        Refund.objects.for_tenant(tenant)
        .select_related("attempt", "credit_note")
        .order_by("-created_at", "-id")
    )


def test_clock_list(*, tenant: Tenant) -> QuerySet[TestClock]:
    return TestClock.objects.for_tenant(tenant).order_by("-created_at", "-id")


test_clock_list.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """What the payer of an issued, unpaid boleto or Pix charge needs."""

    action_url: str
    boleto_line: str = ""  # the linha digitável
    pix_code: str = ""  # the copy-paste BR Code


def invoice_payment_instructions(*, invoice: Invoice) -> PaymentInstructions | None:
    """From the invoice's issued, unpaid charge; None until the charge is issued."""
    attempt = (
        PaymentAttempt.objects.filter(
            tenant_id=invoice.tenant_id, invoice=invoice, status=PaymentAttempt.Status.PENDING
        )
        .exclude(gateway_ref="")
        .order_by("-number")
        .first()
    )
    if attempt is None:
        return None
    # The sandbox keeps what the payer needs on its own books (a real boleto or
    # Pix gateway returns the same fields with the charge).
    charge = SandboxCharge.objects.filter(ref=attempt.gateway_ref).first()
    extra = charge.details if charge is not None and isinstance(charge.details, dict) else {}
    return PaymentInstructions(
        action_url=attempt.action_url,
        boleto_line=str(extra.get("linha_digitavel") or ""),
        pix_code=str(extra.get("payload") or extra.get("pix_payload") or ""),  # bolepix too
    )
