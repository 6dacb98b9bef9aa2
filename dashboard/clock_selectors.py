"""Reads of the test clock pages: a clock's customers and what happened to them,
ordered by the clock's time (every write of a clock's customer carries it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.db.models import Count, QuerySet

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


@dataclass(frozen=True, slots=True)
class Happening:
    at: datetime
    type: str
    subject_type: str
    subject_id: str
    data: dict[str, object]


def clock_timeline(*, tenant: Tenant, clock: TestClock) -> list[Happening]:
    """The events of the clock's customers, their subscriptions, invoices, credit
    notes and payments, in the clock's time order (the latest ``TIMELINE_LIMIT``)."""
    of_clock = {"tenant": tenant, "customer__test_clock": clock}
    ids = list(
        chain(
            Customer.objects.filter(tenant=tenant, test_clock=clock).values_list(
                "public_id", flat=True
            ),
            Subscription.objects.filter(**of_clock).values_list("public_id", flat=True),
            Invoice.objects.filter(**of_clock).values_list("public_id", flat=True),
            CreditNote.objects.filter(**of_clock).values_list("public_id", flat=True),
            PaymentAttempt.objects.filter(
                tenant=tenant, invoice__customer__test_clock=clock
            ).values_list("public_id", flat=True),
        )
    )
    rows = (
        Event.objects.filter(tenant=tenant, subject_id__in=ids)
        .order_by("-at", "-id")
        .values_list("at", "type", "subject_type", "subject_id", "data")[:TIMELINE_LIMIT]
    )
    return [Happening(*row) for row in reversed(list(rows))]


def clock_customers(*, tenant: Tenant, clock: TestClock) -> QuerySet[Customer]:
    return Customer.objects.filter(tenant=tenant, test_clock=clock).order_by("created_at", "id")


def clock_invoices(*, tenant: Tenant, clock: TestClock) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(tenant=tenant, customer__test_clock=clock)
        .select_related("customer")
        .order_by("-issued_at", "-id")[:100]
    )
