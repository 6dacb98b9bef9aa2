"""The outbox dispatcher: every event planned once, in batches, safely in parallel,
and on to the merchant's receiver through real Celery workers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from core import clock
from core.actors import Actor
from notifications import messages, webhooks
from notifications.models import WebhookAttempt, WebhookDelivery
from notifications.outbox import dispatch_pending
from notifications.tasks import dispatch_outbox_task, webhooks_send_due_task
from notifications.webhooks import delivery as webhook_delivery
from tenants.context import tenant_context
from tenants.models import Event
from tenants.outbox import PendingEvent, emit_many
from tests.conftest import TenantSetup, make_tenant
from tests.support.webhook_receiver import Receiver
from tests.support.workers import celery_worker

ACTOR = Actor.system("tests")
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def endpoint(setup: TenantSetup, receiver: Receiver, events: list[str]) -> str:
    with tenant_context(setup.tenant):
        created = webhooks.webhook_endpoint_create(
            tenant=setup.tenant, actor=ACTOR, now=T0, url=receiver.url, enabled_events=events
        )
    receiver.secret = created.secret
    return created.endpoint.public_id


def events(setup: TenantSetup, n: int, type: str = "invoice.paid") -> list[str]:
    with tenant_context(setup.tenant):
        return emit_many(
            PendingEvent(setup.tenant.pk, type, T0, "invoice", f"in_{i}", {"n": i})
            for i in range(n)
        )


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.django_db
def test_dispatch_marks_every_event_once_across_batches(acme: TenantSetup) -> None:
    with Receiver() as receiver:
        endpoint(acme, receiver, ["invoice.*"])
        ids = events(acme, 25)
        with tenant_context(acme.tenant):
            stats = dispatch_pending(tenant=acme.tenant, now=T0, batch_size=10)
            again = dispatch_pending(tenant=acme.tenant, now=T0, batch_size=10)
            dispatched = set(
                Event.objects.filter(dispatched_at=T0, type="invoice.paid").values_list(
                    "public_id", flat=True
                )
            )
            planned = Counter(WebhookDelivery.objects.values_list("event__public_id", flat=True))

    assert (stats.events, stats.deliveries, stats.batches) == (26, 25, 3)
    assert (again.events, again.batches) == (0, 0)
    assert dispatched == set(ids)
    assert planned == Counter(ids)


@pytest.mark.django_db
def test_an_event_whose_planning_fails_holds_up_no_other(
    acme: TenantSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into the messages fan-out for one event type."""
    with Receiver() as receiver:
        endpoint(acme, receiver, ["*"])
        ok = events(acme, 3)
        bad = events(acme, 1, "invoice.broken")
        real = messages.plan_messages

        def failing(event: Event, *, now: datetime) -> None:
            if event.type == "invoice.broken":
                raise RuntimeError("template missing")
            real(event, now=now)

        monkeypatch.setattr(messages, "plan_messages", failing)
        with tenant_context(acme.tenant):
            stats = dispatch_pending(tenant=acme.tenant, now=T0)
            left = list(
                Event.objects.filter(dispatched_at=None).values_list("public_id", flat=True)
            )
            planned = set(WebhookDelivery.objects.values_list("event__public_id", flat=True))
        assert (stats.failed, left) == (1, bad)
        assert planned >= set(ok)
        assert not planned & set(bad)

        monkeypatch.setattr(messages, "plan_messages", real)
        with tenant_context(acme.tenant):
            retry = dispatch_pending(tenant=acme.tenant, now=T0)
            assert not Event.objects.filter(dispatched_at=None).exists()
            assert WebhookDelivery.objects.filter(event__public_id=bad[0]).count() == 1
        assert (retry.events, retry.deliveries, retry.failed) == (1, 1, 0)


@pytest.mark.django_db
def test_the_beat_dispatches_each_tenant_under_its_own_context(
    acme: TenantSetup, globex: TenantSetup, django_capture_on_commit_callbacks
) -> None:
    with Receiver() as a, Receiver() as g:
        endpoint(acme, a, ["invoice.*"])
        endpoint(globex, g, ["invoice.*"])
        acme_ids, globex_ids = events(acme, 3), events(globex, 2)

        # Eager here: the beat's fan-out and the sends after commit run inline.
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_outbox_task.delay()

        assert a.accepted_ids() == Counter(acme_ids)
        assert g.accepted_ids() == Counter(globex_ids)
    with tenant_context(acme.tenant):
        assert not Event.objects.filter(dispatched_at=None).exists()


@pytest.mark.django_db
def test_the_retry_beat_sends_what_is_due(acme: TenantSetup) -> None:
    with Receiver() as receiver:
        endpoint(acme, receiver, ["invoice.*"])
        ids = events(acme, 2)
        with tenant_context(acme.tenant):
            dispatch_pending(tenant=acme.tenant, now=clock.now())

        webhooks_send_due_task.delay()

        assert receiver.accepted_ids() == Counter(ids)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_dispatchers_plan_each_event_exactly_once() -> None:
    acme = make_tenant("acme")
    with Receiver() as receiver:
        endpoint(acme, receiver, ["*"])
        ids = events(acme, 600)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with tenant_context(acme.tenant):
                    dispatch_pending(tenant=acme.tenant, now=T0, batch_size=200)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The sends after each commit ran eagerly in those threads, and Celery's
        # eager mode keeps a process-wide "inside a task" flag that concurrent
        # threads can leave set; later tests in this process must not inherit it.
        from celery._state import _set_task_join_will_block

        _set_task_join_will_block(False)

        assert errors == []
        with tenant_context(acme.tenant):
            assert not Event.objects.filter(dispatched_at=None).exists()
            planned = Counter(WebhookDelivery.objects.values_list("event__public_id", flat=True))
        assert planned == Counter(dict.fromkeys(ids, 1)) + Counter(
            {planned_id: 1 for planned_id in planned if planned_id not in ids}
        )
        assert sum(planned.values()) == 601  # and the endpoint's own creation event


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_dispatches_and_delivers_every_event() -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    with Receiver() as a, Receiver() as g, celery_worker() as worker:
        endpoint(acme, a, ["invoice.*", "customer.created"])
        endpoint(globex, g, ["*"])
        acme_ids = events(acme, 40) + events(acme, 5, "customer.created")
        events(acme, 5, "customer.updated")  # not subscribed
        globex_ids = events(globex, 10)

        # What beat does every few seconds; the worker fans out to its own queue.
        dispatch_outbox_task.apply_async(queue=worker.queue)

        wait_for(lambda: sum(a.accepted_ids().values()) >= 45 and len(g.accepted_ids()) >= 11)
        time.sleep(0.5)  # anything extra would have arrived by now
        assert a.accepted_ids() == Counter(acme_ids)
        assert set(globex_ids) <= set(g.accepted_ids())
        assert all(count == 1 for count in g.accepted_ids().values())
        assert all(r.verified for r in a.received + g.received)
    with tenant_context(acme.tenant):
        statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == Counter({"delivered": 45})


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice() -> None:
    acme = make_tenant("acme")
    hold = threading.Event()
    with Receiver(hold=hold) as receiver:
        endpoint(acme, receiver, ["invoice.*"])
        [evt] = events(acme, 1)

        with celery_worker() as worker:
            # The dispatch enqueues the send (after commit) to the worker's queue.
            with tenant_context(acme.tenant):
                dispatch_pending(tenant=acme.tenant, now=clock.now(), send_queue=worker.queue)
                delivery = WebhookDelivery.objects.get(event__public_id=evt)
            assert receiver.arrived.wait(timeout=60)  # the worker is inside the request
            worker.process.kill()
            worker.process.wait()
        hold.set()

        with tenant_context(acme.tenant):
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempt_count) == ("sending", 1)
            # The claim lapses; the next sweep sends again (at least once).
            later = clock.now() + webhook_delivery._lease() + timedelta(seconds=1)
            resent = webhooks.deliveries_send(tenant=acme.tenant, now=later)
            # Running delivery again after that completed send sends nothing.
            again = webhooks.deliveries_send(tenant=acme.tenant, now=later + timedelta(days=1))
            again_by_id = webhooks.deliveries_send(
                tenant=acme.tenant, now=later + timedelta(days=1), delivery_ids=[delivery.pk]
            )
            delivery.refresh_from_db()
            log = list(
                WebhookAttempt.objects.filter(delivery=delivery)
                .order_by("number")
                .values_list("number", "outcome")
            )

        assert (resent.delivered, again.attempted, again_by_id.attempted) == (1, 0, 0)
        assert delivery.status == "delivered"
        assert log == [(1, "interrupted"), (2, "succeeded")]
        # The receiver saw the id twice at most (the killed request may have been
        # answered into a closed socket), and accepted it: deduplicated by webhook-id.
        assert {r.id for r in receiver.received} == {evt}
        assert 1 <= len(receiver.received) <= 2
