"""Test clocks: advancing only forward, processing every customer on the clock in
time order, leaving live customers and other clocks alone; deleting a clock
deletes exactly what is attached to it; other tenants cannot touch it.

Times are São Paulo wall-clock times (UTC-3 all of 2026).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing import coupons as billing_coupons
from billing import subscriptions as billing_subs
from billing.clocks import clock_advance, clock_create, clock_delete
from billing.models import (
    BalanceTransaction,
    CouponRedemption,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    PendingLine,
)
from billing.services import credit_note_issue
from core.errors import NotFound, ValidationFailed
from customers.models import Customer, TestClock
from subscriptions.models import ScheduledChange, Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event
from tests.conftest import make_tenant
from tests.scenarios.helpers_lifecycle import loc, sp
from tests.support.billing import ACTOR, World, world

START = sp(2026, 1, 1, 12)


def issued(w: World, sub: Subscription) -> list[str | None]:
    return [loc(i.issued_at) for i in w.invoices(sub)]


def sub_row(sub: Subscription) -> tuple[Any, ...]:
    s = Subscription.objects.get(pk=sub.pk)
    return (s.status, s.period_index, s.current_period_start, s.current_period_end, s.next_event_at)


def customer_on(w: World, clock: TestClock | None, name: str) -> Customer:
    return Customer.objects.create(tenant=w.tenant, name=name, test_clock=clock)


def subscribe_at(w: World, customer: Customer, plan: Any, now: datetime, **kw: Any) -> Subscription:
    return billing_subs.subscription_create(
        tenant=w.tenant, customer=customer, plan=plan, actor=ACTOR, now=now, **kw
    )


def test_advance_refuses_to_go_backwards_and_changes_nothing(db):
    # Given a clock at Feb 10 with a subscriber renewed once
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        w.advance(sp(2026, 2, 10, 12))
        before = (
            w.now,
            sub_row(sub),
            Invoice.objects.count(),
            Event.objects.count(),
            AuditEntry.objects.count(),
        )
        # When it is moved back to Jan 20
        with pytest.raises(ValidationFailed) as err:
            w.advance(sp(2026, 1, 20, 12))
        after = (
            w.now,
            sub_row(sub),
            Invoice.objects.count(),
            Event.objects.count(),
            AuditEntry.objects.count(),
        )
    # Then it is refused and nothing moved
    assert err.value.param == "frozen_time"
    assert after == before
    assert loc(after[0]) == "2026-02-10 12:00"


def test_advance_processes_every_subscription_on_the_clock_in_time_order(db):
    # Given, on one clock: Ana monthly from Jan 1 12:00; Caio monthly billed on the 20th;
    # Bia weekly from Jan 3 09:30; Duda fortnightly after a 10-day trial from Jan 3 09:30
    with world(START) as w:
        monthly = w.plan("monthly", amount=10_000)
        weekly = w.plan("weekly", amount=2_000, interval="week")
        fortnightly = w.plan("fortnightly", amount=4_000, interval="week", interval_count=2)
        ana = w.subscribe(monthly, w.customer("Ana"), collection_method="send_invoice")
        caio = w.subscribe(
            monthly, w.customer("Caio"), anchor_day=20, collection_method="send_invoice"
        )
        w.advance(sp(2026, 1, 3, 9, 30))
        bia = w.subscribe(weekly, w.customer("Bia"), collection_method="send_invoice")
        duda = w.subscribe(
            fortnightly, w.customer("Duda"), trial_days=10, collection_method="send_invoice"
        )
        # When the clock moves to Apr 1 12:00
        w.advance(sp(2026, 4, 1, 12))
        got = {name: issued(w, s) for name, s in (("ana", ana), ("caio", caio), ("bia", bia))}
        got["duda"] = issued(w, duda)
        invoices = list(Invoice.objects.order_by("id"))
        periods = [
            (loc(i.issued_at), loc(i.period_start), loc(i.period_end))
            for i in invoices
            if i.billing_reason == "subscription_cycle"
        ]
        subjects = [s.public_id for s in (ana, caio, bia, duda)] + [i.public_id for i in invoices]
        event_times = list(
            Event.objects.filter(subject_id__in=subjects)
            .order_by("id")
            .values_list("at", flat=True)
        )
        states = [
            (s.status, loc(s.current_period_start), loc(s.current_period_end))
            for s in (w.refresh(x) for x in (ana, caio, bia, duda))
        ]
    # Then every renewal happened, on its own boundaries
    assert got == {
        "ana": ["2026-01-01 12:00", "2026-02-01 12:00", "2026-03-01 12:00", "2026-04-01 12:00"],
        "caio": ["2026-01-01 12:00", "2026-01-20 00:00", "2026-02-20 00:00", "2026-03-20 00:00"],
        "bia": [f"2026-{md} 09:30" for md in ("01-03", "01-10", "01-17", "01-24", "01-31")]
        + [f"2026-{md} 09:30" for md in ("02-07", "02-14", "02-21", "02-28", "03-07")]
        + [f"2026-{md} 09:30" for md in ("03-14", "03-21", "03-28")],
        "duda": [f"2026-{md} 09:30" for md in ("01-13", "01-27", "02-10", "02-24", "03-10")]
        + ["2026-03-24 09:30"],
    }
    # and a renewal is issued at the start of the period it bills
    assert [start for _, start, _ in periods] == [at for at, _, _ in periods]
    assert len(periods) == 24
    # And across subscriptions, invoices are numbered and events written in time order
    assert [i.issued_at for i in invoices] == sorted(i.issued_at for i in invoices)
    assert [i.number for i in invoices] == [f"ACME-2026-{n:06d}" for n in range(1, 28)]
    assert event_times == sorted(event_times)
    assert states == [
        ("active", "2026-04-01 12:00", "2026-05-01 12:00"),
        ("active", "2026-03-20 00:00", "2026-04-20 00:00"),
        ("active", "2026-03-28 09:30", "2026-04-04 09:30"),
        ("active", "2026-03-24 09:30", "2026-04-07 09:30"),
    ]


def test_advance_leaves_live_customers_untouched(db):
    # Given a live customer (no clock) and a clock customer, both subscribed on Jan 1
    with world(START) as w:
        plan = w.plan(amount=10_000)
        live = subscribe_at(w, customer_on(w, None, "Live"), plan, START)
        on_clock = w.subscribe(plan, w.customer("Clocked"))
        before = (
            sub_row(live),
            issued(w, live),
            Event.objects.filter(subject_id=live.public_id).count(),
        )
        # When the clock moves three months
        w.advance(sp(2026, 4, 1, 12))
        after = (
            sub_row(live),
            issued(w, live),
            Event.objects.filter(subject_id=live.public_id).count(),
        )
        clocked = issued(w, on_clock)
    # Then only the clock's customer renewed
    assert after == before
    assert before[1] == ["2026-01-01 12:00"]
    assert clocked == [
        "2026-01-01 12:00",
        "2026-02-01 12:00",
        "2026-03-01 12:00",
        "2026-04-01 12:00",
    ]


def test_two_clocks_are_independent(db):
    # Given a second clock at the same start, each with one subscriber
    with world(START) as w:
        plan = w.plan(amount=10_000)
        other = clock_create(tenant=w.tenant, frozen_time=START, actor=ACTOR, now=START)
        first_sub = w.subscribe(plan, w.customer("First"))
        second_sub = subscribe_at(w, customer_on(w, other, "Second"), plan, START)
        # When the first clock moves to Mar 15
        w.advance(sp(2026, 3, 15, 12))
        other.refresh_from_db()
        while_still = (loc(other.frozen_time), issued(w, second_sub))
        # And then the second one moves to Feb 2 only
        clock_advance(
            tenant=w.tenant,
            clock_id=other.pk,
            to=sp(2026, 2, 2, 12),
            actor=ACTOR,
            now=sp(2026, 2, 2, 12),
        )
        first = (loc(w.now), issued(w, first_sub))
        other.refresh_from_db()
        second = (loc(other.frozen_time), issued(w, second_sub))
    # Then each clock bills only its own customers, up to its own time
    assert while_still == ("2026-01-01 12:00", ["2026-01-01 12:00"])
    assert first == (
        "2026-03-15 12:00",
        ["2026-01-01 12:00", "2026-02-01 12:00", "2026-03-01 12:00"],
    )
    assert second == ("2026-02-02 12:00", ["2026-01-01 12:00", "2026-02-01 12:00"])


def _rich_history(w: World, clock: TestClock | None, name: str, plans: dict[str, Any]) -> None:
    """A subscriber with every kind of row: a coupon redemption, invoices and
    lines, a credit note applied as balance, pending prorations and a scheduled
    cancellation. Everything happens on Jan 1 12:00, where every clock still is."""
    now = START
    sub = subscribe_at(
        w,
        customer_on(w, clock, name),
        plans["basic"],
        now,
        coupon="TEN",
        collection_method="send_invoice",
    )
    first = Invoice.objects.get(subscription=sub)
    credit_note_issue(
        tenant=w.tenant, invoice_id=first.pk, amount_minor=1_000, reason="x", actor=ACTOR, now=now
    )
    billing_subs.subscription_change(
        tenant=w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=now,
        plan=plans["pro"],
        proration="next_invoice",
    )
    billing_subs.subscription_cancel(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=now, at_period_end=True
    )


def _rows_by_customer() -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for label, model, path in (
        ("subscription", Subscription, "customer__name"),
        ("invoice", Invoice, "customer__name"),
        ("line", InvoiceLine, "invoice__customer__name"),
        ("credit_note", CreditNote, "customer__name"),
        ("credit_note_line", CreditNoteLine, "credit_note__customer__name"),
        ("balance", BalanceTransaction, "customer__name"),
        ("redemption", CouponRedemption, "customer__name"),
        ("pending_line", PendingLine, "subscription__customer__name"),
        ("scheduled_change", ScheduledChange, "subscription__customer__name"),
    ):
        for name in model.objects.values_list(path, flat=True):
            counts.setdefault(name, Counter())[label] += 1
    return counts


def test_delete_removes_the_clocks_customers_and_everything_they_own(db):
    # Given two customers with full histories on clock one, one on clock two and a live one
    with world(START) as w:
        plans = {"basic": w.plan("basic", amount=10_000), "pro": w.plan("pro", amount=20_000)}
        billing_coupons.coupon_create(
            tenant=w.tenant, code="TEN", actor=ACTOR, now=START, percent_off=Decimal("10")
        )
        other = clock_create(tenant=w.tenant, frozen_time=START, actor=ACTOR, now=START)
        for clock, name in ((w.clock, "Ana"), (w.clock, "Bia"), (other, "Otto"), (None, "Live")):
            _rich_history(w, clock, name, plans)
        w.advance(sp(2026, 1, 10, 12))
        before = _rows_by_customer()
        # When clock one is deleted
        clock_delete(tenant=w.tenant, clock_id=w.clock.pk, actor=ACTOR, now=sp(2026, 1, 10, 12))
        after = _rows_by_customer()
        clocks = list(TestClock.objects.values_list("pk", flat=True))
        customers = sorted(Customer.objects.values_list("name", flat=True))
        other.refresh_from_db()
        audit = list(
            AuditEntry.objects.filter(action="test_clock.deleted").values_list(
                "target_id", flat=True
            )
        )
    # Then its customers and all their rows are gone; the others' rows are all there
    full = Counter(
        subscription=1,
        invoice=1,
        line=1,
        credit_note=1,
        credit_note_line=1,
        balance=1,
        redemption=1,
        pending_line=2,
        scheduled_change=1,
    )
    assert before == {"Ana": full, "Bia": full, "Otto": full, "Live": full}
    assert after == {"Otto": full, "Live": full}
    assert clocks == [other.pk]
    assert customers == ["Live", "Otto"]
    assert loc(other.frozen_time) == "2026-01-01 12:00"
    assert audit == [str(w.clock.pk)]


def test_another_tenants_clock_is_not_found(db):
    # Given acme's clock with a subscriber
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        globex = make_tenant("globex").tenant
        # When globex tries to advance and to delete it
        with tenant_context(globex):
            with pytest.raises(NotFound) as advance_err:
                clock_advance(
                    tenant=globex, clock_id=w.clock.pk, to=sp(2026, 3, 1), actor=ACTOR, now=START
                )
            with pytest.raises(NotFound) as delete_err:
                clock_delete(tenant=globex, clock_id=w.clock.pk, actor=ACTOR, now=START)
        # Then both are "not found" and acme's clock, customer and invoices are intact
        got = (
            loc(w.now),
            Customer.objects.filter(pk=sub.customer_id).count(),
            issued(w, sub),
            sub_row(sub)[0],
        )
    assert (advance_err.value.param, delete_err.value.param) == ("test_clock", "test_clock")
    assert got == ("2026-01-01 12:00", 1, ["2026-01-01 12:00"], "incomplete")


asked: list[tuple[str, int, bool]] = []


def _record_deleter(*, tenant: Any, clock: TestClock) -> None:
    asked.append((tenant.slug, clock.pk, TestClock.objects.filter(pk=clock.pk).exists()))


def test_delete_asks_each_registered_app_to_delete_its_own_rows(db, settings):
    # Given an app registered first among the deleters
    settings.TEST_CLOCK_DELETERS = [f"{__name__}._record_deleter", *settings.TEST_CLOCK_DELETERS]
    asked.clear()
    with world(START) as w:
        # When a clock is deleted
        clock_delete(tenant=w.tenant, clock_id=w.clock.pk, actor=ACTOR, now=START)
        gone = not TestClock.objects.filter(pk=w.clock.pk).exists()
    # Then it was asked, with the clock still there, and the clock went after it
    assert asked == [("acme", w.clock.pk, True)]
    assert gone
