"""A real Celery worker killed in the middle of sending an email: the message
is not lost (the sweep sends it again after the timeout), and a send that
completed is never repeated."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest

from core import clock
from customers.models import Customer
from notifications.messages import send_due
from notifications.models import MessageDelivery
from notifications.tasks import send_messages_task
from tenants.context import tenant_context
from tenants.models import Event
from tenants.outbox import emit
from tests.conftest import make_tenant
from tests.support.smtp import smtp_server
from tests.support.workers import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _row(tenant) -> MessageDelivery:  # type: ignore[no-untyped-def]
    now = clock.now()
    customer = Customer.objects.create(
        tenant=tenant, name="Ana", email="ana@example.com", locale="en"
    )
    event_id = emit(
        tenant_id=tenant.pk,
        type="subscription.price_change_scheduled",
        at=now,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "new_amount": 10_990, "currency": "BRL"},
    )
    return MessageDelivery.objects.create(
        tenant=tenant,
        event=Event.objects.get(public_id=event_id),
        customer=customer,
        template="price_change",
        channel="email",
        recipient=customer.email,
        language="en",
        created_at=now,
        next_attempt_at=now,
    )


def _wait(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_a_worker_killed_mid_send_loses_no_message(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme").tenant
    with smtp_server(settings) as smtp, tenant_context(tenant):
        smtp.hold = threading.Event()  # the server takes the message but does not answer
        monkeypatch.setenv("EMAIL_URL", f"smtp://{smtp.host}:{smtp.port}")
        row = _row(tenant)

        with celery_worker() as worker:
            send_messages_task.apply_async(
                kwargs={"tenant_id": tenant.pk, "delivery_ids": [row.pk]}, queue=worker.queue
            )
            _wait(smtp.data_started.is_set)
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=20)
        smtp.hold.set()
        row.refresh_from_db()
        after_kill = (row.status, row.attempts)

        too_soon = send_due(now=clock.now())
        later = clock.now() + timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT_SECONDS + 1)
        swept = send_due(now=later)
        again = send_due(now=later + timedelta(days=1))

        row.refresh_from_db()
        assert after_kill == ("sending", 1)
        assert (too_soon, swept, again) == (0, 1, 0)
        assert (row.status, row.attempts) == ("sent", 2)
        received = smtp.wait_for(1)
        # At least once: a copy the dead worker had handed over may also
        # arrive; every copy carries the same Message-ID, so mail clients
        # recognise it as one message.
        assert 1 <= len(received) <= 2
        assert {m["Message-ID"] for m in received} == {f"<{row.public_id}@ciclo.local>"}
