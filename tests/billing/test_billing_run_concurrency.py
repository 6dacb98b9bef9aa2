"""The billing run under concurrency and interruption (DESIGN.md invariant 4).

PostgreSQL only: the run claims batches with ``SELECT … FOR UPDATE SKIP LOCKED``
and the workers must see each other's committed rows, so these tests commit
(``transaction=True``) and each worker thread has its own connection.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db import connections

from billing import pricing
from billing import subscriptions as billing_subs
from billing.models import DocumentSequence, Invoice, InvoiceLine
from billing.run import RunStats, billing_run, run_batch
from core.actors import Actor
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.domain.cycles import boundary
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Event, Tenant
from tests.conftest import make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("tests")
CREATED = datetime(2025, 12, 10, 12, tzinfo=UTC)  # 09:00 in São Paulo
RUN_AT = datetime(2026, 2, 10, 13, tzinfo=UTC)  # after the Feb 10 renewal, across a new year


def seed(slug: str, count: int) -> Tenant:
    """A tenant with ``count`` live subscriptions (no test clock) created at CREATED,
    alternating a monthly and a weekly plan, so that several periods are due at RUN_AT."""
    tenant = make_tenant(slug).tenant
    with tenant_context(tenant):
        product = subs.product_create(tenant=tenant, name="Product", actor=ACTOR, now=CREATED)
        plans = [
            subs.plan_create(
                tenant=tenant,
                product=product,
                code=code,
                name=code.title(),
                currency="BRL",
                amount_minor=amount,
                interval=interval,
                actor=ACTOR,
                now=CREATED,
            )
            for code, amount, interval in (("monthly", 9_990, "month"), ("weekly", 2_500, "week"))
        ]
        customers = Customer.objects.bulk_create(
            [Customer(tenant=tenant, name=f"Customer {i}") for i in range(count)]
        )
        for i, customer in enumerate(customers):
            billing_subs.subscription_create(
                tenant=tenant,
                customer=customer,
                plan=plans[i % 2],
                actor=ACTOR,
                now=CREATED,
                collection_method="send_invoice",
            )
    return tenant


def due_periods(sub: Subscription, plan: Plan, tz: str) -> list[datetime]:
    """Every period start of ``sub`` up to RUN_AT, from the domain calendar."""
    starts, n = [], 0
    while (start := boundary(sub.billing_anchor, plan.interval, plan.interval_count, n, tz)) <= (
        RUN_AT
    ):
        starts.append(start)
        n += 1
    return starts


def state(tenant: Tenant) -> dict[str, object]:
    """Everything the run writes, keyed by the subscription's position (not its id),
    so two identically seeded tenants compare equal."""
    with tenant_context(tenant):
        subs_ = list(Subscription.objects.select_related("plan").order_by("pk"))
        position = {s.pk: i for i, s in enumerate(subs_)}
        invoices = [
            (
                position[inv.subscription_id],
                inv.billing_reason,
                inv.period_start,
                inv.period_end,
                inv.issued_at,
                inv.status,
                inv.total_minor,
                inv.number.split("-", 1)[1],  # without the tenant's prefix
            )
            for inv in Invoice.objects.order_by("subscription_id", "period_start")
        ]
        return {
            "subscriptions": [
                (
                    s.plan.code,
                    s.status,
                    s.period_index,
                    s.current_period_start,
                    s.current_period_end,
                    s.next_event_at,
                    s.paid_cycles,
                    s.started,
                )
                for s in subs_
            ],
            "invoices": invoices,
            "lines": InvoiceLine.objects.count(),
            "events": Counter(Event.objects.values_list("type", flat=True)),
            "sequences": sorted(DocumentSequence.objects.values_list("kind", "year", "last_value")),
        }


def assert_billed_exactly_once(tenant: Tenant) -> None:
    """One invoice per due period of every subscription; numbers gapless per year."""
    tz = tenant.time_zone
    with tenant_context(tenant):
        subs_ = list(Subscription.objects.select_related("plan").order_by("pk"))
        by_sub: dict[int, list[datetime]] = {}
        for sub_id, start in Invoice.objects.values_list("subscription_id", "period_start"):
            by_sub.setdefault(sub_id, []).append(start)
        for sub in subs_:
            expected = due_periods(sub, sub.plan, tz)
            assert sorted(by_sub.get(sub.pk, [])) == expected, sub.public_id
            # Advanced exactly to the last due period: not short of it, not past it.
            assert sub.period_index == len(expected) - 1
            assert sub.paid_cycles == len(expected)
            assert sub.current_period_start == expected[-1]
            assert sub.next_event_at == sub.current_period_end > RUN_AT
            assert sub.next_event_at == boundary(
                sub.billing_anchor, sub.plan.interval, sub.plan.interval_count, len(expected), tz
            )
        numbers = list(Invoice.objects.values_list("number", flat=True))
        assert len(numbers) == len(set(numbers)), "duplicate invoice numbers"
        per_year: dict[int, list[int]] = {}
        for number in numbers:
            match = re.fullmatch(rf"{tenant.document_prefix}-(\d{{4}})-(\d{{6}})", number)
            assert match, number
            per_year.setdefault(int(match[1]), []).append(int(match[2]))
        for year, seq in per_year.items():
            assert sorted(seq) == list(range(1, len(seq) + 1)), f"gaps in {year}"
        last_values = dict(
            DocumentSequence.objects.filter(kind="invoice").values_list("year", "last_value")
        )
        assert last_values == {year: len(seq) for year, seq in per_year.items()}


def run_in_threads(tenant: Tenant, workers: int, batch_size: int) -> list[RunStats]:
    """``billing_run`` from ``workers`` threads at once, each on its own connection."""
    barrier = threading.Barrier(workers)
    results: list[RunStats | BaseException] = [RuntimeError("did not run")] * workers

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = billing_run(now=RUN_AT, tenant=tenant, batch_size=batch_size)
        except BaseException as exc:  # reported by the main thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a billing run hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return [r for r in results if isinstance(r, RunStats)]


def test_concurrent_runs_bill_every_period_exactly_once() -> None:
    count = 300
    tenant = seed("concurrent", count)
    with tenant_context(tenant):
        assert Invoice.objects.count() == count  # the first invoices, at CREATED

    stats = run_in_threads(tenant, workers=4, batch_size=20)

    # Each subscription was claimed by exactly one worker, once.
    assert sum(s.subscriptions for s in stats) == count
    assert sum(1 for s in stats if s.subscriptions) >= 2, "the workers did not overlap"
    with tenant_context(tenant):
        written = Invoice.objects.count() - count
    assert sum(s.invoices for s in stats) == written
    # Monthly: Jan 10 and Feb 10; weekly: Dec 17 … Feb 4 (8 renewals).
    assert written == (count // 2) * 2 + (count // 2) * 8
    assert_billed_exactly_once(tenant)

    # And nothing is left for a later run at the same time.
    before = state(tenant)
    again = billing_run(now=RUN_AT, tenant=tenant)
    assert (again.subscriptions, again.invoices) == (0, 0)
    assert state(tenant) == before


def test_an_interrupted_run_resumes_to_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    count = 100
    interrupted, reference = seed("interrupted", count), seed("reference", count)

    # A worker that stopped after two batches of 25.
    with tenant_context(interrupted):
        assert run_batch(tenant=interrupted, now=RUN_AT, size=25)[0] == 25
        assert run_batch(tenant=interrupted, now=RUN_AT, size=25)[0] == 25
    # Then a run killed in the middle of its second batch, after the invoices
    # were written (numbers allocated) but before the commit.
    real_write, calls = pricing.write, []

    def dying_write(batch: pricing.Batch, now: datetime) -> list[Invoice]:
        invoices = real_write(batch, now)
        calls.append(len(invoices))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return invoices

    monkeypatch.setattr(pricing, "write", dying_write)
    with pytest.raises(RuntimeError, match="worker killed"):
        billing_run(now=RUN_AT, tenant=interrupted, batch_size=25)
    monkeypatch.setattr(pricing, "write", real_write)
    assert len(calls) == 2
    assert calls[1] > 0  # the lost batch had allocated invoice numbers
    with tenant_context(interrupted):
        # Three batches committed, the fourth rolled back entirely.
        assert Subscription.objects.filter(next_event_at__lte=RUN_AT).count() == 25

    resumed = billing_run(now=RUN_AT, tenant=interrupted, batch_size=25)
    straight = billing_run(now=RUN_AT, tenant=reference, batch_size=25)

    assert resumed.subscriptions == 25
    assert straight.subscriptions == count
    assert_billed_exactly_once(interrupted)
    assert_billed_exactly_once(reference)
    assert state(interrupted) == state(reference)


def test_running_twice_in_a_row_does_nothing_the_second_time() -> None:
    tenant = seed("twice", 20)
    first = billing_run(now=RUN_AT, tenant=tenant, batch_size=8)
    after_first = state(tenant)

    second = billing_run(now=RUN_AT, tenant=tenant, batch_size=8)
    everyone = billing_run(now=RUN_AT)  # every tenant, as the scheduler runs it

    assert (first.subscriptions, first.invoices) == (20, 10 * 2 + 10 * 8)
    assert (second.subscriptions, second.invoices, second.batches) == (0, 0, 0)
    assert (everyone.subscriptions, everyone.invoices) == (0, 0)
    assert state(tenant) == after_first
    assert_billed_exactly_once(tenant)
