"""Subscriptions' part in test clocks: deleting one (``settings.TEST_CLOCK_DELETERS``)
and replaying readjustment notices on one (``settings.TEST_CLOCK_SWEEPS``)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from customers.models import TestClock
from subscriptions.models import Readjustment, ScheduledChange, Subscription
from tenants.models import Tenant


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: TestClock) -> None:
    """The subscriptions (and their scheduled changes) of the clock's customers."""
    ScheduledChange.objects.filter(tenant=tenant, subscription__customer__test_clock=clock).delete()
    Readjustment.objects.filter(tenant=tenant, subscription__customer__test_clock=clock).delete()
    Subscription.objects.filter(tenant=tenant, customer__test_clock=clock).delete()


class ReadjustmentSweep:
    """Automatic readjustments decided (and their notice sent) at the clock's
    moments, as the live beat does at the real time."""

    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        from subscriptions.services.readjustment import notice_moments

        moments = [m for m in notice_moments(tenant=tenant, clock=clock, until=until) if m <= until]
        return min(moments, default=None)

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        from core.actors import Actor
        from subscriptions.services.readjustment import readjustments_sweep

        readjustments_sweep(tenant=tenant, now=now, actor=Actor.system("test_clock"), clock=clock)
