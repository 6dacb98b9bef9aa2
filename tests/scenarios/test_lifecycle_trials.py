"""Trials: converting at trial end, cancelled now during the trial, cancelled at
the end of the trial (no charge ever)."""

from tests.scenarios.helpers_lifecycle import (
    balance,
    cancel,
    doc,
    events,
    loc,
    pending_changes,
    sp,
    spans,
    state,
)
from tests.support.billing import world


def test_lifecycle_trial_converts_at_trial_end(db):
    # Given a R$50.00 monthly plan with a 14-day trial, bought on Feb 1 at noon
    with world(sp(2026, 2, 1, 12)) as w:
        plan = w.plan(amount=5_000, trial_days=14)
        sub = w.subscribe(plan)
        # Then it is trialing until Feb 15 at noon and nothing is billed
        assert state(w, sub) == ("trialing", "basic", 1, "2026-02-01 12:00", "2026-02-15 12:00")
        # When the clock runs to the last trial day
        w.advance(sp(2026, 2, 14, 12))
        assert state(w, sub)[0] == "trialing"
        assert w.invoices(sub) == []
        # And on past two renewals
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
        final = state(w, sub)
        outbox = events(w)
    # Then the first charge is at trial end for a full month, then monthly
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
        "ACME-2026-000003",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 5_000, 0, 0, 5_000, 0, 5_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 5_000, 0, 0, 5_000, 0, 5_000),
        ("2026-04-15 12:00", "subscription_cycle", "open", 5_000, 0, 0, 5_000, 0, 5_000),
    ]
    assert [spans(i) for i in got] == [
        [("recurring", "2026-02-15 12:00", "2026-03-15 12:00")],
        [("recurring", "2026-03-15 12:00", "2026-04-15 12:00")],
        [("recurring", "2026-04-15 12:00", "2026-05-15 12:00")],
    ]
    assert final == ("active", "basic", 1, "2026-04-15 12:00", "2026-05-15 12:00")
    # And the outbox tells the story (an invoice and its subscription event at
    # the same instant are written in that order)
    assert outbox == [
        ("2026-02-01 12:00", "subscription.created"),
        ("2026-02-12 12:00", "subscription.trial_will_end"),  # three days ahead
        ("2026-02-15 12:00", "invoice.finalized"),
        ("2026-02-15 12:00", "subscription.trial_ended"),
        ("2026-03-15 12:00", "invoice.finalized"),
        ("2026-04-15 12:00", "invoice.finalized"),
    ]


def test_lifecycle_trial_cancelled_now_is_never_charged(db):
    # Given a 14-day trial started on Feb 1
    with world(sp(2026, 2, 1, 12)) as w:
        plan = w.plan(amount=5_000, trial_days=14)
        customer = w.customer()
        sub = w.subscribe(plan, customer)
        # When the subscriber cancels on Feb 8, asking for a prorated credit
        w.advance(sp(2026, 2, 8, 12))
        cancel(w, sub, prorate_credit=True)
        # Then it is cancelled at once, with nothing billed nor credited
        assert state(w, sub) == ("canceled", "basic", 1, "2026-02-01 12:00", "2026-02-15 12:00")
        row = w.refresh(sub)
        assert (loc(row.canceled_at), loc(row.ended_at), row.next_event_at) == (
            "2026-02-08 12:00",
            "2026-02-08 12:00",
            None,
        )
        # And months later nothing was ever billed
        w.advance(sp(2026, 4, 20, 0))
        assert w.invoices(sub) == []
        assert balance(w, customer) == 0
        assert state(w, sub)[0] == "canceled"
        assert events(w) == [
            ("2026-02-01 12:00", "subscription.created"),
            ("2026-02-08 12:00", "subscription.canceled"),
        ]


def test_lifecycle_trial_cancelled_at_period_end_is_never_charged(db):
    # Given a 14-day trial started on Feb 1
    with world(sp(2026, 2, 1, 12)) as w:
        plan = w.plan(amount=5_000, trial_days=14)
        sub = w.subscribe(plan)
        # When on Feb 8 the subscriber cancels at the end of the (trial) period
        w.advance(sp(2026, 2, 8, 12))
        cancel(w, sub, at_period_end=True)
        # Then the trial goes on, with the cancellation scheduled for its end
        assert state(w, sub) == ("trialing", "basic", 1, "2026-02-01 12:00", "2026-02-15 12:00")
        assert pending_changes(sub) == [("cancel", "2026-02-15 12:00")]
        # And at trial end the subscription stops without a charge
        w.advance(sp(2026, 4, 20, 0))
        assert w.invoices(sub) == []
        assert state(w, sub)[0] == "canceled"
        assert loc(w.refresh(sub).ended_at) == "2026-02-15 12:00"
        assert pending_changes(sub) == []
        assert events(w) == [
            ("2026-02-01 12:00", "subscription.created"),
            ("2026-02-08 12:00", "subscription.cancel_scheduled"),
            ("2026-02-15 12:00", "subscription.canceled"),
        ]
