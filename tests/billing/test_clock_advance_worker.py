"""The dashboard's test clock advance on a real Celery worker (billing.clock_advance):
the task crosses the broker as JSON, the worker sets the tenant (row-level
security applies), runs every renewal due on the way and frees the clock."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from billing.models import Invoice
from billing.tasks import clock_advance_task
from customers.models import TestClock
from tenants.context import tenant_context
from tests.support.billing import utc, world
from tests.support.workers import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

START = utc(2026, 1, 31, 13)


def _wait(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_a_worker_advances_the_clock_through_three_renewals() -> None:
    with world(START) as w:
        sub = w.subscribe(
            w.plan("basic", 10_000), w.customer("Ana"), collection_method="send_invoice"
        )
        # What clock_advance_start leaves for the worker (its own queue here).
        TestClock.objects.filter(pk=w.clock.pk).update(advancing_to=utc(2026, 5, 1, 13))
        tenant = w.tenant
        clock_id = w.clock.pk

    with celery_worker() as worker:
        clock_advance_task.apply_async(
            kwargs={
                "tenant_id": tenant.pk,
                "clock_id": clock_id,
                "actor": {"type": "staff", "id": "1", "label": "owner@acme.example"},
            },
            queue=worker.queue,
        )

        def done() -> bool:
            with tenant_context(tenant):
                return TestClock.objects.get(pk=clock_id).advancing_to is None

        try:
            _wait(done)
        except AssertionError:
            raise AssertionError(worker.output()) from None

    with tenant_context(tenant):
        clock = TestClock.objects.get(pk=clock_id)
        issued = list(
            Invoice.objects.filter(subscription=sub)
            .order_by("issued_at")
            .values_list("billing_reason", "issued_at")
        )
    assert (clock.frozen_time, clock.advanced_through, clock.advance_error) == (
        utc(2026, 5, 1, 13),
        None,
        "",
    )
    assert issued == [
        ("subscription_create", START),
        ("subscription_cycle", utc(2026, 2, 28, 13)),
        ("subscription_cycle", utc(2026, 3, 31, 13)),
        ("subscription_cycle", utc(2026, 4, 30, 13)),
    ]
