"""Reads of the test clock pages: a clock's customers and what happened to them,
ordered by the clock's time (every write of a clock's customer carries it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing.models import CreditNote, Invoice, PaymentAttempt
from billing.selectors import test_clock_list
from customers.models import Customer, TestClock
from subscriptions.models import Subscription
from tenants.models import Event, Tenant

TIMELINE_LIMIT = 300


def clocks_listed(*, tenant: Tenant) -> QuerySet[TestClock]:
    return test_clock_list(tenant=tenant).annotate(customer_count=Count("customers"))


def clock_get(*, tenant: Tenant, public_id: str) -> TestClock | None:
    return test_clock_list(tenant=tenant).filter(public_id=public_id).first()


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a running advance has got, in hours of the clock's time."""

    done: int
    total: int
    through: datetime | None
    to: datetime

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 100


def clock_progress(clock: TestClock) -> Progress | None:
    if clock.advancing_to is None:
        return None
    total = int((clock.advancing_to - clock.frozen_time).total_seconds() // 3600)
    through = clock.advanced_through
    done = int((through - clock.frozen_time).total_seconds() // 3600) if through else 0
    return Progress(
        done=max(0, min(done, total)), total=total, through=through, to=clock.advancing_to
    )


# What the timeline calls the events it knows; any other shows its type.
LABELS: dict[str, str | Promise] = {
    "customer.created": _("Customer created"),
    "customer.updated": _("Customer updated"),
    "customer.balance_adjusted": _("Credit balance adjusted"),
    "customer.payment_method_attached": _("Payment method added"),
    "customer.payment_method_detached": _("Payment method removed"),
    "subscription.created": _("Subscription started"),
    "subscription.activated": _("Subscription active"),
    "subscription.updated": _("Subscription changed"),
    "subscription.renewed": _("Subscription renewed"),
    "subscription.trial_will_end": _("Trial ends soon"),
    "subscription.cancel_scheduled": _("Cancellation scheduled"),
    "subscription.cancel_undone": _("Cancellation undone"),
    "subscription.canceled": _("Subscription canceled"),
    "subscription.pause_scheduled": _("Pause scheduled"),
    "subscription.paused": _("Subscription paused"),
    "subscription.resumed": _("Subscription resumed"),
    "subscription.past_due": _("Subscription past due"),
    "subscription.suspended": _("Access suspended"),
    "subscription.reactivated": _("Subscription reactivated"),
    "subscription.discount_applied": _("Coupon applied to the subscription"),
    "subscription.discount_removed": _("Subscription discount removed"),
    "customer.discount_applied": _("Coupon applied to the customer"),
    "customer.discount_removed": _("Customer discount removed"),
    "invoice.created": _("Invoice created"),
    "invoice.finalized": _("Invoice issued"),
    "invoice.paid": _("Invoice paid"),
    "invoice.voided": _("Invoice voided"),
    "invoice.payment_failed": _("Invoice payment failed"),
    "invoice.marked_uncollectible": _("Invoice uncollectible"),
    "invoice.installments_created": _("Invoice split in installments"),
    "payment.succeeded": _("Payment succeeded"),
    "payment.failed": _("Payment failed"),
    "payment.refunded": _("Payment refunded"),
    "payment.dispute_opened": _("Chargeback opened"),
    "payment.dispute_closed": _("Chargeback closed"),
    "payment.boleto_reissued": _("Boleto re-issued"),
    "credit_note.created": _("Credit note issued"),
}
_PAGES = {
    "cus_": "dashboard:customer_detail",
    "sub_": "dashboard:subscription",
    "in_": "dashboard:invoice",
}
_ARG = {"cus_": "public_id", "sub_": "sub_id", "in_": "ref"}


@dataclass(frozen=True, slots=True)
class Happening:
    at: datetime
    type: str
    subject_id: str
    label: str | Promise
    subject: str  # what the subject is called on the page (a name, an invoice number, an id)
    url: str  # its page, or ""


def clock_timeline(*, tenant: Tenant, clock: TestClock) -> list[Happening]:
    """The events of the clock's customers, their subscriptions, invoices, credit
    notes and payments, in the clock's time order (the latest ``TIMELINE_LIMIT``)."""
    of_clock = {"tenant": tenant, "customer__test_clock": clock}
    names: dict[str, str | None] = dict(
        chain(
            Customer.objects.filter(tenant=tenant, test_clock=clock).values_list(
                "public_id", "name"
            ),
            Subscription.objects.filter(**of_clock).values_list("public_id", "public_id"),
            Invoice.objects.filter(**of_clock).values_list("public_id", "number"),
            CreditNote.objects.filter(**of_clock).values_list("public_id", "number"),
            PaymentAttempt.objects.filter(
                tenant=tenant, invoice__customer__test_clock=clock
            ).values_list("public_id", "public_id"),
        )
    )
    rows = (
        Event.objects.filter(tenant=tenant, subject_id__in=list(names))
        .order_by("-at", "-id")
        .values_list("at", "type", "subject_id")[:TIMELINE_LIMIT]
    )
    return [
        Happening(
            at=at,
            type=type_,
            subject_id=subject_id,
            label=LABELS.get(type_, type_),
            subject=names.get(subject_id) or subject_id,
            url=_page(subject_id),
        )
        for at, type_, subject_id in reversed(list(rows))
    ]


def _page(public_id: str) -> str:
    for prefix, name in _PAGES.items():
        if public_id.startswith(prefix):
            return reverse(name, kwargs={_ARG[prefix]: public_id})
    return ""


def clock_customers(*, tenant: Tenant, clock: TestClock) -> QuerySet[Customer]:
    return Customer.objects.filter(tenant=tenant, test_clock=clock).order_by("created_at", "id")


def clock_invoices(*, tenant: Tenant, clock: TestClock) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(tenant=tenant, customer__test_clock=clock)
        .select_related("customer")
        .order_by("-issued_at", "-id")[:100]
    )
