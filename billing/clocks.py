"""Test clocks: rehearse months of billing in a second.

Advancing a clock runs the very same engine as the billing run, for the
customers attached to the clock, one moment at a time in time order, with the
moment itself as ``now``: invoices carry the dates they would have in real life.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Min

from billing.models import TestClock
from billing.run import run_batch
from core import audit
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from core.outbox import emit
from subscriptions.models import Subscription
from tenants.models import Tenant

MAX_STEPS = 100_000


@transaction.atomic
def clock_create(
    *, tenant: Tenant, frozen_time: datetime, actor: Actor, now: datetime, name: str = ""
) -> TestClock:
    clock = TestClock.objects.create(tenant=tenant, frozen_time=frozen_time, name=name[:200])
    audit.record(tenant=tenant, actor=actor, action="test_clock.created", target=clock, at=now)
    return clock


def clock_advance(
    *, tenant: Tenant, clock_id: int, to: datetime, actor: Actor, now: datetime
) -> TestClock:
    """Move the clock to ``to``, processing everything due on the way, in order.

    Each moment is its own transaction, like the live scheduler's runs, so a
    long advance never holds one huge transaction.
    """
    clock = TestClock.objects.filter(tenant=tenant, pk=clock_id).first()
    if clock is None:
        raise NotFound("No such test clock.", param="test_clock")
    if to < clock.frozen_time:
        raise ValidationFailed("A test clock only moves forward.", param="frozen_time")
    for _ in range(MAX_STEPS):
        moment = Subscription.objects.filter(
            tenant=tenant, customer__test_clock=clock, next_event_at__lte=to
        ).aggregate(at=Min("next_event_at"))["at"]
        if moment is None:
            break
        while run_batch(tenant=tenant, now=moment, clock=clock)[0]:
            pass
    else:  # pragma: no cover - a bug, not a business case
        raise RuntimeError("The test clock did not settle.")
    with transaction.atomic():
        TestClock.objects.filter(pk=clock.pk).update(frozen_time=to)
        clock.frozen_time = to
        emit(
            tenant_id=tenant.pk,
            type="test_clock.advanced",
            at=now,
            subject_type="test_clock",
            subject_id=clock.public_id,
            data={"frozen_time": to.isoformat()},
        )
        audit.record(
            tenant=tenant,
            actor=actor,
            action="test_clock.advanced",
            target=clock,
            at=now,
            changes={"frozen_time": to.isoformat()},
        )
    return clock


@transaction.atomic
def clock_delete(*, tenant: Tenant, clock_id: int, actor: Actor, now: datetime) -> None:
    """Deleting a clock deletes what is attached to it: its customers and their
    subscriptions, invoices, credit notes and balances."""
    from billing.models import (
        BalanceTransaction,
        CouponRedemption,
        CreditNote,
        Invoice,
        PendingLine,
    )
    from customers.models import Customer
    from subscriptions.models import ScheduledChange

    clock = TestClock.objects.filter(tenant=tenant, pk=clock_id).first()
    if clock is None:
        raise NotFound("No such test clock.", param="test_clock")
    customers = Customer.objects.filter(test_clock=clock)
    BalanceTransaction.objects.filter(customer__in=customers).delete()
    CreditNote.objects.filter(customer__in=customers).delete()
    PendingLine.objects.filter(subscription__customer__in=customers).delete()
    Invoice.objects.filter(customer__in=customers).delete()
    CouponRedemption.objects.filter(customer__in=customers).delete()
    ScheduledChange.objects.filter(subscription__customer__in=customers).delete()
    Subscription.objects.filter(customer__in=customers).delete()
    customers.delete()
    audit.record(tenant=tenant, actor=actor, action="test_clock.deleted", target=clock, at=now)
    clock.delete()
