"""Pauses: for N cycles with automatic resume, until a date, early resume with a
prorated remainder, and the plan's limits (max_pauses, max_pause_cycles)."""

import pytest

from core.errors import ValidationFailed
from subscriptions.models import ScheduledChange
from tenants.models import Event
from tests.scenarios.helpers_lifecycle import (
    doc,
    events,
    lines,
    pause,
    pending_changes,
    resume,
    sp,
    spans,
    state,
)
from tests.support.billing import world


def test_lifecycle_pause_two_cycles_then_automatic_resume(db):
    # Given R$50 monthly bought on Jan 10 at noon, the plan allows 1 pause of up to 3 cycles
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=5_000, max_pauses=1, max_pause_cycles=3)
        sub = w.subscribe(plan, collection_method="send_invoice")
        # When on Jan 20 a pause of 2 cycles is requested
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, cycles=2)
        # Then it takes effect at the period end
        assert state(w, sub) == ("active", "basic", 1, "2026-01-10 12:00", "2026-02-10 12:00")
        assert pending_changes(sub) == [("pause", "2026-02-10 12:00")]
        assert w.refresh(sub).pauses_used == 1
        # And the periods from Feb 10 and from Mar 10 are skipped
        w.advance(sp(2026, 2, 11, 0))
        assert state(w, sub) == ("paused", "basic", 1, "2026-02-10 12:00", "2026-03-10 12:00")
        w.advance(sp(2026, 3, 11, 0))
        assert state(w, sub) == ("paused", "basic", 1, "2026-03-10 12:00", "2026-04-10 12:00")
        assert len(w.invoices(sub)) == 1
        # And billing resumes by itself on Apr 10
        w.advance(sp(2026, 5, 11, 0))
        got = w.invoices(sub)
        final = state(w, sub)
        outbox = events(w)
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-10 12:00", "subscription_create", "open", 5_000, 0, 0, 5_000, 0, 5_000),
        ("2026-04-10 12:00", "subscription_cycle", "open", 5_000, 0, 0, 5_000, 0, 5_000),
        ("2026-05-10 12:00", "subscription_cycle", "open", 5_000, 0, 0, 5_000, 0, 5_000),
    ]
    assert [spans(i) for i in got] == [
        [("recurring", "2026-01-10 12:00", "2026-02-10 12:00")],
        [("recurring", "2026-04-10 12:00", "2026-05-10 12:00")],
        [("recurring", "2026-05-10 12:00", "2026-06-10 12:00")],
    ]
    assert final == ("active", "basic", 1, "2026-05-10 12:00", "2026-06-10 12:00")
    assert outbox == [
        ("2026-01-10 12:00", "invoice.finalized"),
        ("2026-01-10 12:00", "subscription.created"),
        ("2026-01-20 12:00", "subscription.pause_scheduled"),
        ("2026-02-10 12:00", "subscription.paused"),
        ("2026-04-10 12:00", "invoice.finalized"),
        ("2026-04-10 12:00", "subscription.resumed"),
        ("2026-05-10 12:00", "invoice.finalized"),
    ]


def test_lifecycle_pause_until_a_date(db):
    # Given R$50 monthly bought on Jan 10 at noon (1 pause of up to 3 cycles allowed)
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=5_000, max_pauses=1, max_pause_cycles=3)
        sub = w.subscribe(plan, collection_method="send_invoice")
        # When on Jan 20 a pause until Mar 25 is requested
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, until=sp(2026, 3, 25, 0))
        # Then the periods starting before Mar 25 (Feb 10, Mar 10) are skipped:
        # pauses are whole cycles, billing resumes at the first boundary after the date
        [scheduled] = ScheduledChange.objects.filter(subscription=sub, status="pending")
        assert (scheduled.kind, scheduled.pause_cycles) == ("pause", 2)
        w.advance(sp(2026, 3, 26, 0))
        assert state(w, sub) == ("paused", "basic", 1, "2026-03-10 12:00", "2026-04-10 12:00")
        w.advance(sp(2026, 5, 11, 0))
        got = w.invoices(sub)
        final = state(w, sub)
    assert [doc(i)[1:3] for i in got] == [
        ("2026-01-10 12:00", "subscription_create"),
        ("2026-04-10 12:00", "subscription_cycle"),
        ("2026-05-10 12:00", "subscription_cycle"),
    ]
    assert [lines(i) for i in got] == [[("recurring", 1, 5_000, 0, 0, 5_000)]] * 3
    assert final == ("active", "basic", 1, "2026-05-10 12:00", "2026-06-10 12:00")


def test_lifecycle_early_resume_bills_prorated_remainder(db):
    # Given R$60 monthly bought on Jan 10, paused for 2 cycles from Feb 10
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=6_000, max_pauses=1, max_pause_cycles=3)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, cycles=2)
        w.advance(sp(2026, 2, 24, 12))
        assert state(w, sub)[0] == "paused"
        # When on Feb 24 at noon the subscriber resumes early
        resume(w, sub)
        # Then Feb 24 .. Mar 9 (14 of the period's 28 days) is billed now:
        # 6000 × 14/28 = 3000
        assert state(w, sub) == ("active", "basic", 1, "2026-02-10 12:00", "2026-03-10 12:00")
        w.advance(sp(2026, 4, 11, 0))
        got = w.invoices(sub)
        final = state(w, sub)
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
        "ACME-2026-000003",
        "ACME-2026-000004",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-10 12:00", "subscription_create", "open", 6_000, 0, 0, 6_000, 0, 6_000),
        ("2026-02-24 12:00", "subscription_update", "open", 3_000, 0, 0, 3_000, 0, 3_000),
        ("2026-03-10 12:00", "subscription_cycle", "open", 6_000, 0, 0, 6_000, 0, 6_000),
        ("2026-04-10 12:00", "subscription_cycle", "open", 6_000, 0, 0, 6_000, 0, 6_000),
    ]
    assert lines(got[1]) == [("recurring", 1, 3_000, 0, 0, 3_000)]
    assert spans(got[1]) == [("recurring", "2026-02-24 12:00", "2026-03-10 12:00")]
    assert final == ("active", "basic", 1, "2026-04-10 12:00", "2026-05-10 12:00")


def test_lifecycle_pause_limits_are_refused_and_change_nothing(db):
    # Given a plan allowing 1 pause of at most 2 cycles, bought on Jan 10
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=5_000, max_pauses=1, max_pause_cycles=2)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 1, 20, 12))
        before = Event.objects.filter(tenant=w.tenant).count()
        # When a 3-cycle pause is asked for
        with pytest.raises(ValidationFailed) as too_long:
            pause(w, sub, cycles=3)
        # Or a pause until May 20 (periods from Feb 10, Mar 10, Apr 10 = 3 cycles)
        with pytest.raises(ValidationFailed) as too_long_until:
            pause(w, sub, until=sp(2026, 5, 20, 0))
        # Then both are refused as too long, and nothing changed
        assert (too_long.value.code, too_long_until.value.code) == (
            "pause_too_long",
            "pause_too_long",
        )
        assert pending_changes(sub) == []
        assert w.refresh(sub).pauses_used == 0
        assert Event.objects.filter(tenant=w.tenant).count() == before
        # When the one allowed pause (1 cycle) is used and has run its course
        pause(w, sub, cycles=1)
        w.advance(sp(2026, 3, 11, 0))
        assert state(w, sub) == ("active", "basic", 1, "2026-03-10 12:00", "2026-04-10 12:00")
        before = Event.objects.filter(tenant=w.tenant).count()
        # Then a second pause is refused: the limit is reached, and nothing changed
        with pytest.raises(ValidationFailed) as limit:
            pause(w, sub, cycles=1)
        assert limit.value.code == "pause_limit_reached"
        assert pending_changes(sub) == []
        assert w.refresh(sub).pauses_used == 1
        assert Event.objects.filter(tenant=w.tenant).count() == before
        # And billing goes on: Jan 10, (Feb 10 skipped), Mar 10, Apr 10
        w.advance(sp(2026, 4, 11, 0))
        assert [doc(i)[1:3] for i in w.invoices(sub)] == [
            ("2026-01-10 12:00", "subscription_create"),
            ("2026-03-10 12:00", "subscription_cycle"),
            ("2026-04-10 12:00", "subscription_cycle"),
        ]
        assert state(w, sub) == ("active", "basic", 1, "2026-04-10 12:00", "2026-05-10 12:00")


def test_lifecycle_calling_off_a_scheduled_pause_is_an_event(db):
    # Given a pause scheduled on Jan 20 for the period end (Feb 10)
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=5_000, max_pauses=1, max_pause_cycles=3)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, cycles=2)
        # When on Jan 25 the subscriber calls it off
        w.advance(sp(2026, 1, 25, 12))
        resume(w, sub)
        # Then the pause is given back and nothing is skipped
        assert pending_changes(sub) == []
        assert w.refresh(sub).pauses_used == 0
        w.advance(sp(2026, 2, 11, 0))
        assert [doc(i)[1:3] for i in w.invoices(sub)] == [
            ("2026-01-10 12:00", "subscription_create"),
            ("2026-02-10 12:00", "subscription_cycle"),
        ]
        outbox = events(w)
    # And the outbox says so on Jan 25, after the pause_scheduled of Jan 20
    assert len([t for t in outbox if t[0] == "2026-01-25 12:00"]) == 1
