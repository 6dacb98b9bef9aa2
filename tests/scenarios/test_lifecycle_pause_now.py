"""Pausing now, mid-period (issue 16, lifecycle 2): the paid time left is credited
to the customer's balance or carried past the pause; billing stops; resumption
now or on a date, the new period prorated on the anchor's grid; a pause
scheduled for the period end brought forward; and never the same days credited
twice (pause, resume, cancel with credit).

R$100 a month bought Jan 15 at noon: [Feb 15, Mar 15) is 28 days. By day,
calendar days in São Paulo (the day of the action remains); by second, exact.
"""

import pytest

from billing import subscriptions as billing_subs
from core.errors import StateConflict, ValidationFailed
from tenants.models import Event
from tests.scenarios.helpers_lifecycle import (
    balance,
    cancel,
    credit_notes,
    doc,
    lines,
    loc,
    pause,
    pending_changes,
    resume,
    sp,
    spans,
    state,
)
from tests.support.billing import ACTOR, world


def pause_now(w, sub, **kw):
    return billing_subs.subscription_pause_now(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )


def resume_on(w, sub, at):
    return billing_subs.subscription_resume(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, resume_at=at
    )


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # Paused Mar 3 18:00. By day Mar 3 .. Mar 14 = 12 of 28 days:
        # 10000 × 12/28 = 4285.71 → 4286. Resumed Apr 20 18:00 on the Jan 15 grid:
        # [Apr 15, May 15) = 30 days, Apr 20 .. May 14 = 25: 10000 × 25/30 = 8333.33
        # → 8333; the balance pays 4286 of it, 4047 due.
        pytest.param("day", 4_286, 8_333, id="day"),
        # By second: 11.75/28 → 4196.43 → 4196; 24.75/30 → 8250; 8250 - 4196 = 4054 due.
        pytest.param("second", 4_196, 8_250, id="second"),
    ],
)
def test_pause_now_with_credit_then_resume_on_a_date(db, precision, credit, charge):
    # Given R$100 monthly bought Jan 15 at noon; 1 pause of up to 3 cycles
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = w.plan(amount=10_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer=customer, collection_method="send_invoice")
        # When on Mar 3 at 18:00 it pauses now, unused time credited, until Apr 20 18:00
        w.advance(sp(2026, 3, 3, 18))
        pause_now(w, sub, unused="credit", resume_at=sp(2026, 4, 20, 18))
        # Then the rest of the period is credited against the Feb 15 invoice
        assert credit_notes(w) == [
            (
                "ACME-CN-2026-000001",
                "ACME-2026-000002",
                "2026-03-03 18:00",
                credit,
                "2026-03-03 18:00",
                "2026-03-15 12:00",
            )
        ]
        assert balance(w, customer) == credit
        assert state(w, sub) == ("paused", "basic", 1, "2026-03-03 18:00", "2026-04-20 18:00")
        assert w.refresh(sub).pauses_used == 1
        # And nothing is billed on Mar 15; on Apr 20 billing resumes, prorated to May 15
        w.advance(sp(2026, 5, 16, 0))
        got = w.invoices(sub)
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        (
            "2026-04-20 18:00",
            "subscription_update",
            "open",
            charge,
            0,
            0,
            charge,
            credit,
            charge - credit,
        ),
        ("2026-05-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert spans(got[2]) == [("recurring", "2026-04-20 18:00", "2026-05-15 12:00")]


@pytest.mark.parametrize(
    ("precision", "hour"),
    [
        # Carry: Mar 3 12:00 → Mar 15 12:00 = 12 days paid and unused, whichever
        # precision: resumed Apr 20 12:00, they run to May 2 12:00, the new anchor.
        pytest.param("day", 12, id="day"),
        pytest.param("second", 12, id="second"),
    ],
)
def test_pause_now_carrying_the_paid_through_date(db, precision, hour):
    # Given a tenant that carries unused time by default
    with world(sp(2026, 1, 15, 12), proration_precision=precision, pause_unused="carry") as w:
        plan = w.plan(amount=10_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer=customer, collection_method="send_invoice")
        # When on Mar 3 it pauses now (the default: carry), then resumes now on Apr 20
        w.advance(sp(2026, 3, 3, hour))
        pause_now(w, sub)
        assert credit_notes(w) == []
        assert loc(w.refresh(sub).pause_carry_until) == "2026-03-15 12:00"
        w.advance(sp(2026, 4, 20, hour))
        resume(w, sub)
        # Then nothing is billed: the 12 paid days run from now
        assert state(w, sub) == ("active", "basic", 1, "2026-04-20 12:00", "2026-05-02 12:00")
        assert len(w.invoices(sub)) == 2
        # And full months follow from May 2
        w.advance(sp(2026, 6, 3, 0))
        got = w.invoices(sub)
        assert balance(w, customer) == 0
    assert [(*doc(i)[1:3], doc(i)[7]) for i in got[2:]] == [
        ("2026-05-02 12:00", "subscription_cycle", 10_000),
        ("2026-06-02 12:00", "subscription_cycle", 10_000),
    ]
    assert spans(got[2]) == [("recurring", "2026-05-02 12:00", "2026-06-02 12:00")]


@pytest.mark.parametrize(
    ("precision", "first", "charge", "second"),
    [
        # Pause Mar 3 12:00 with credit: 12/28 → 4286. Resume now Mar 8 12:00:
        # Mar 8 .. Mar 14 = 7 of 28 days: 10000 × 7/28 = 2500. Cancel with credit
        # Mar 10 12:00: only the resumption's line [Mar 8, Mar 15) is unused from
        # here, Mar 10 .. Mar 14 = 5 of its 7 days: 2500 × 5/7 = 1785.71 → 1786.
        # (The Feb 15 invoice's [Mar 3, Mar 15) was credited already; crediting
        # Mar 10 .. 14 on it again would be 10000 × 5/28 = 1786 more.)
        # Paid 10000 + 2500, credited 4286 + 1786 = 6072: net 6428 = 18 days used
        # (Feb 15 .. Mar 2 and Mar 8, 9) × 10000/28 = 6428.57.
        pytest.param("day", 4_286, 2_500, 1_786, id="day"),
        # Same instants at noon: by second the fractions are the same.
        pytest.param("second", 4_286, 2_500, 1_786, id="second"),
    ],
)
def test_pause_resume_cancel_never_credits_the_same_days_twice(
    db, precision, first, charge, second
):
    with world(sp(2026, 1, 15, 12), proration_precision=precision) as w:
        plan = w.plan(amount=10_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer=customer, collection_method="send_invoice")
        w.advance(sp(2026, 3, 3, 12))
        pause_now(w, sub, unused="credit")
        w.advance(sp(2026, 3, 8, 12))
        resume(w, sub)
        assert state(w, sub) == ("active", "basic", 1, "2026-03-08 12:00", "2026-03-15 12:00")
        assert lines(w.invoices(sub)[-1]) == [("recurring", 1, charge, 0, 0, charge)]
        w.advance(sp(2026, 3, 10, 12))
        cancel(w, sub, prorate_credit=True)
        notes = credit_notes(w)
        assert balance(w, customer) == first + second - charge
    assert notes == [
        (
            "ACME-CN-2026-000001",
            "ACME-2026-000002",
            "2026-03-03 12:00",
            first,
            "2026-03-03 12:00",
            "2026-03-15 12:00",
        ),
        (
            "ACME-CN-2026-000002",
            "ACME-2026-000003",
            "2026-03-10 12:00",
            second,
            "2026-03-10 12:00",
            "2026-03-15 12:00",
        ),
    ]


def test_pause_preview_shows_the_credit_confirming_writes(db):
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer=customer, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        before = Event.objects.filter(tenant=w.tenant).count()
        # When the pause is previewed on Feb 1: Feb 1 .. Feb 14 = 14 of 31 days,
        # 10000 × 14/31 = 4516.13 → 4516, credited on the first invoice
        preview = billing_subs.subscription_preview_pause(
            tenant=w.tenant, subscription_id=sub.pk, now=w.now, unused="credit"
        )
        # Then nothing changed
        assert Event.objects.filter(tenant=w.tenant).count() == before
        assert state(w, sub)[0] == "active"
        assert (credit_notes(w), balance(w, customer), w.refresh(sub).pauses_used) == ([], 0, 0)
        # And confirming credits exactly that
        pause_now(w, sub, unused="credit")
        assert balance(w, customer) == 4_516
        # The default resumption: the plan's longest pause, 3 months from now
        assert state(w, sub)[3:] == ("2026-02-01 12:00", "2026-05-01 12:00")
    assert (preview.credit_minor, preview.credits) == (4_516, [("ACME-2026-000001", 4_516)])
    assert loc(preview.resumes_at) == "2026-05-01 12:00"


def test_pause_scheduled_for_period_end_brought_forward_to_now(db):
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=5_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer=customer, collection_method="send_invoice")
        # Given a 1-cycle pause scheduled on Jan 20 (Feb 10 → Mar 10)
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, cycles=1)
        # When on Jan 25 it is brought forward to now, with credit:
        # Jan 25 .. Feb 9 = 16 of 31 days: 5000 × 16/31 = 2580.65 → 2581
        w.advance(sp(2026, 1, 25, 12))
        pause_now(w, sub, unused="credit")
        # Then it is the same pause (not a second one), ending when it would have
        assert pending_changes(sub) == []
        assert w.refresh(sub).pauses_used == 1
        assert state(w, sub) == ("paused", "basic", 1, "2026-01-25 12:00", "2026-03-10 12:00")
        assert balance(w, customer) == 2_581
        # And billing resumes on Mar 10 with a full month (on the anchor's boundary)
        w.advance(sp(2026, 3, 11, 0))
        got = w.invoices(sub)
        assert state(w, sub) == ("active", "basic", 1, "2026-03-10 12:00", "2026-04-10 12:00")
    assert [(*doc(i)[1:3], doc(i)[7], doc(i)[8]) for i in got] == [
        ("2026-01-10 12:00", "subscription_create", 5_000, 0),
        ("2026-03-10 12:00", "subscription_update", 5_000, 2_581),
    ]
    assert spans(got[1]) == [("recurring", "2026-03-10 12:00", "2026-04-10 12:00")]


def test_pause_now_refusals_change_nothing(db):
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000, max_pauses=1, max_pause_cycles=2)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        before = Event.objects.filter(tenant=w.tenant).count()
        with pytest.raises(ValidationFailed) as past:
            pause_now(w, sub, resume_at=sp(2026, 1, 31, 12))
        with pytest.raises(ValidationFailed) as too_long:
            pause_now(w, sub, resume_at=sp(2026, 4, 2, 12))
        with pytest.raises(ValidationFailed) as unknown:
            pause_now(w, sub, unused="forget")
        with pytest.raises(StateConflict) as not_paused:
            resume_on(w, sub, sp(2026, 3, 1, 12))
        assert (past.value.code, too_long.value.code, unknown.value.param) == (
            "resume_in_past",
            "pause_too_long",
            "unused",
        )
        assert not_paused.value.code == "subscription_not_paused"
        assert Event.objects.filter(tenant=w.tenant).count() == before
        assert (state(w, sub)[0], w.refresh(sub).pauses_used, credit_notes(w)) == ("active", 0, [])
        # And once paused, a resumption date in the past is refused too
        pause_now(w, sub)
        with pytest.raises(ValidationFailed) as past_resume:
            resume_on(w, sub, sp(2026, 1, 20, 12))
        assert past_resume.value.code == "resume_in_past"
        # And a canceled subscription cannot pause
        cancel(w, sub)
        with pytest.raises(StateConflict) as canceled:
            pause_now(w, sub)
        assert canceled.value.code == "subscription_not_pausable"
