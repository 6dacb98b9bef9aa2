"""Each (case, step) runs exactly once: the sweep run twice, two workers at the
same moment (PostgreSQL: real row locks, one connection per worker), and a
worker that died in the middle of a retry."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connections

from billing.models import PaymentAttempt
from billing.payments import invoice_charge
from dunning.models import DunningCase, DunningStepRun
from dunning.services import dunning_run_due
from tenants.context import tenant_context
from tenants.models import Event, Tenant
from tests.dunning.helpers import DECLINED_CARD, attach_card, boleto_customer
from tests.scenarios.helpers_lifecycle import loc, sp
from tests.support.billing import World, world

pytestmark = pytest.mark.django_db(transaction=True)
START = sp(2026, 1, 1, 12)  # cases open now, for invoices due Jan 8 (7 days' terms)
# Due by then: the card's D+1 retry; the slip's D-5, D-1, D0 and D+1 reminders (the
# sweep "was down"): only the latest reminder goes out, the older ones are skipped.
SWEEP_AT = sp(2026, 1, 9, 10)


def _two_cases(w: World, cards: int = 1, slips: int = 1) -> list[DunningCase]:
    for i in range(cards):
        customer = w.customer(f"Card {i}")
        attach_card(w, customer, DECLINED_CARD)
        w.subscribe(w.plan(code=f"card{i}", amount=9_990), customer)
    for i in range(slips):
        w.subscribe(w.plan(code=f"slip{i}", amount=12_345), boleto_customer(w, f"Slip{i}"))
    return list(DunningCase.objects.order_by("pk"))


def _effects(tenant: Tenant) -> dict[str, Any]:
    with tenant_context(tenant):
        return {
            "runs": sorted(
                DunningStepRun.objects.exclude(status="scheduled").values_list(
                    "case_id", "offset_days", "status", "outcome"
                )
            ),
            "events": Counter(
                Event.objects.filter(type__startswith="dunning.").values_list("type", flat=True)
            ),
            "reminders": Counter(
                (e.subject_id, e.data["offset_days"])
                for e in Event.objects.filter(type="dunning.reminder")
            ),
            "attempts": sorted(
                PaymentAttempt.objects.values_list("invoice_id", "number", "status")
            ),
        }


def test_running_the_sweep_twice_runs_each_step_once() -> None:
    with world(START, net_terms_days=7) as w:
        card, slip = _two_cases(w)
        first = dunning_run_due(tenant=w.tenant, now=SWEEP_AT, clock=w.clock)
        after_first = _effects(w.tenant)
        second = dunning_run_due(tenant=w.tenant, now=SWEEP_AT, clock=w.clock)
        after_second = _effects(w.tenant)
        card.refresh_from_db()
        slip.refresh_from_db()
        invoices = (card.invoice.public_id, slip.invoice.public_id)
        skipped = [
            e.data["reason"]
            for e in Event.objects.filter(type="dunning.step_executed").order_by("id")
            if e.data["status"] == "skipped"
        ]

    assert (first, second) == (5, 0)
    assert after_second == after_first
    assert after_first["runs"] == [
        (card.pk, 1, "executed", "failed"),
        (slip.pk, -5, "skipped", "skipped"),
        (slip.pk, -1, "skipped", "skipped"),
        (slip.pk, 0, "skipped", "skipped"),
        (slip.pk, 1, "executed", "sent"),
    ]
    assert skipped == ["superseded", "superseded", "superseded"]
    assert after_first["reminders"] == {(invoices[0], 1): 1, (invoices[1], 1): 1}
    # The card's retry is attempt 2 (the first charge was 1); one charge each.
    assert [(n, s) for i, n, s in after_first["attempts"] if i == card.invoice_id] == [
        (1, "failed"),
        (2, "failed"),
    ]
    assert (loc(card.next_run_at), loc(slip.next_run_at)) == (
        "2026-01-11 09:00",
        "2026-01-11 09:00",
    )


def _sweep_in_threads(tenant: Tenant, workers: int) -> list[int]:
    barrier = threading.Barrier(workers)
    results: list[Any] = [RuntimeError("did not run")] * workers

    def work(i: int) -> None:
        try:
            with tenant_context(tenant):
                barrier.wait(timeout=30)
                results[i] = dunning_run_due(tenant=tenant, now=SWEEP_AT)
        except BaseException as exc:  # reported by the main thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a sweep hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return results


@pytest.mark.postgres
def test_two_workers_at_once_run_each_step_once() -> None:
    # Given live customers (no test clock): 5 cards with a retry due and 5
    # slips with a reminder due
    with world(START, net_terms_days=7) as w:
        from customers.models import Customer

        cases = _two_cases(w, cards=5, slips=5)
        Customer.objects.filter(tenant=w.tenant).update(test_clock=None)
        tenant = w.tenant

    # When four workers sweep at the same moment
    moved = _sweep_in_threads(tenant, workers=4)

    effects = _effects(tenant)
    assert sum(moved) == 25
    assert len(effects["runs"]) == 25
    assert Counter(outcome for *_, outcome in effects["runs"]) == {
        "failed": 5,
        "sent": 5,
        "skipped": 15,
    }
    assert effects["events"]["dunning.step_executed"] == 25
    # One reminder per slip (D+1) and one per failed card retry (D+1), never two.
    assert sorted(effects["reminders"].values()) == [1] * 10
    with tenant_context(tenant):
        per_invoice = Counter(PaymentAttempt.objects.values_list("invoice_id", flat=True))
        card_invoices = [c.invoice_id for c in cases if c.payment_method_kind == "card"]
    assert [per_invoice[i] for i in card_invoices] == [2] * 5  # first charge + one retry
    # And a later sweep at the same moment has nothing left to do.
    with tenant_context(tenant):
        assert dunning_run_due(tenant=tenant, now=SWEEP_AT) == 0
    assert _effects(tenant) == effects


def test_a_retry_whose_worker_died_is_recovered_without_charging_twice() -> None:
    with world(START) as w:  # no terms: due at once, D+1 is Jan 2 09:00
        [card] = _two_cases(w, cards=1, slips=0)
        run = card.runs.order_by("position").first()
        # A worker claimed the D+1 retry at 09:00, charged (attempt 2)… and died.
        claimed_at = sp(2026, 1, 2, 9)
        DunningStepRun.objects.filter(pk=run.pk).update(
            status="running", claimed_at=claimed_at, attempts_before=1
        )
        invoice_charge(tenant=w.tenant, invoice_id=card.invoice_id, now=claimed_at)

        # Another sweep within the claim's lease leaves it alone…
        early = dunning_run_due(tenant=w.tenant, now=sp(2026, 1, 2, 9, 10), clock=w.clock)
        # …and one after it records the attempt that was made, without a new charge.
        late = dunning_run_due(tenant=w.tenant, now=sp(2026, 1, 2, 9, 20), clock=w.clock)
        run.refresh_from_db()
        recorded = run.attempt.number if run.attempt else None
        attempts = list(
            PaymentAttempt.objects.filter(invoice_id=card.invoice_id).values_list(
                "number", "status"
            )
        )
        reminders = Event.objects.filter(type="dunning.reminder").count()

    assert (early, late) == (0, 1)
    assert (run.status, run.outcome, recorded) == ("executed", "failed", 2)
    assert attempts == [(1, "failed"), (2, "failed")]
    assert reminders == 1
