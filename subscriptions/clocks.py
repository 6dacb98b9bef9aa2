"""Subscriptions' part in deleting a test clock (``settings.TEST_CLOCK_DELETERS``)."""

from __future__ import annotations

from django.db import transaction

from customers.models import TestClock
from subscriptions.models import ScheduledChange, Subscription
from tenants.models import Tenant


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: TestClock) -> None:
    """The subscriptions (and their scheduled changes) of the clock's customers."""
    ScheduledChange.objects.filter(tenant=tenant, subscription__customer__test_clock=clock).delete()
    Subscription.objects.filter(tenant=tenant, customer__test_clock=clock).delete()
