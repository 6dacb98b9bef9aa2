"""Cancellation: now with a prorated credit note, now without credit, at period
end, and undoing a scheduled cancellation; a short first period on a billing day."""

from billing.models import CreditNote, Invoice
from tests.scenarios.helpers_lifecycle import (
    balance,
    cancel,
    cancel_undo,
    change,
    credit_notes,
    doc,
    events,
    lines,
    loc,
    pause,
    pay,
    pending_changes,
    resume,
    sp,
    spans,
    state,
)
from tests.support.billing import world


def test_lifecycle_cancel_now_with_prorated_credit_note(db):
    # Given R$100 monthly bought on Jan 15 at noon, both invoices paid
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000)
        customer = w.customer()
        sub = w.subscribe(plan, customer)
        pay(w, w.invoices(sub)[0])
        w.advance(sp(2026, 2, 20, 0))
        pay(w, w.invoices(sub)[1])
        # When on Mar 3 at noon the subscriber cancels now with a prorated credit
        w.advance(sp(2026, 3, 3, 12))
        cancel(w, sub, prorate_credit=True)
        # Then Mar 3 .. Mar 14 (12 of the period's 28 days) are credited:
        # 10000 × 12/28 = 4285.71 → 4286, against the period's invoice
        assert credit_notes(w) == [
            (
                "ACME-CN-2026-000001",
                "ACME-2026-000002",
                "2026-03-03 12:00",
                4_286,
                "2026-03-03 12:00",
                "2026-03-15 12:00",
            )
        ]
        assert Invoice.objects.get(number="ACME-2026-000002").credited_minor == 4_286
        assert balance(w, customer) == 4_286
        assert state(w, sub) == ("canceled", "basic", 1, "2026-02-15 12:00", "2026-03-15 12:00")
        row = w.refresh(sub)
        assert (loc(row.canceled_at), loc(row.ended_at), row.next_event_at) == (
            "2026-03-03 12:00",
            "2026-03-03 12:00",
            None,
        )
        # And nothing is billed afterwards
        w.advance(sp(2026, 6, 1, 0))
        got = w.invoices(sub)
        outbox = events(w)
        assert balance(w, customer) == 4_286
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "paid", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "paid", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert outbox == [
        ("2026-01-15 12:00", "invoice.finalized"),
        ("2026-01-15 12:00", "subscription.created"),
        ("2026-01-15 12:00", "invoice.paid"),
        ("2026-01-15 12:00", "subscription.activated"),
        ("2026-02-15 12:00", "invoice.finalized"),
        ("2026-02-20 00:00", "invoice.paid"),
        ("2026-03-03 12:00", "credit_note.created"),
        ("2026-03-03 12:00", "subscription.canceled"),
    ]


def test_lifecycle_cancel_now_without_credit(db):
    # Given the same subscription, both invoices paid
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000)
        customer = w.customer()
        sub = w.subscribe(plan, customer)
        pay(w, w.invoices(sub)[0])
        w.advance(sp(2026, 2, 20, 0))
        pay(w, w.invoices(sub)[1])
        # When on Mar 3 it is cancelled now without credit
        w.advance(sp(2026, 3, 3, 12))
        cancel(w, sub)
        # Then no credit note, no balance, and nothing billed afterwards
        w.advance(sp(2026, 6, 1, 0))
        assert CreditNote.objects.filter(tenant=w.tenant).count() == 0
        assert balance(w, customer) == 0
        assert Invoice.objects.get(number="ACME-2026-000002").credited_minor == 0
        assert state(w, sub) == ("canceled", "basic", 1, "2026-02-15 12:00", "2026-03-15 12:00")
        assert loc(w.refresh(sub).ended_at) == "2026-03-03 12:00"
        assert [doc(i)[1:3] for i in w.invoices(sub)] == [
            ("2026-01-15 12:00", "subscription_create"),
            ("2026-02-15 12:00", "subscription_cycle"),
        ]


def test_lifecycle_cancel_at_period_end(db):
    # Given R$100 monthly bought on Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        # When on Feb 1 it is cancelled at period end
        w.advance(sp(2026, 2, 1, 12))
        cancel(w, sub, at_period_end=True)
        # Then it stays active until Feb 15
        assert state(w, sub) == ("active", "basic", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        assert pending_changes(sub) == [("cancel", "2026-02-15 12:00")]
        # And ends on Feb 15 without a renewal
        w.advance(sp(2026, 4, 1, 0))
        got = w.invoices(sub)
        final = state(w, sub)
        ended = loc(w.refresh(sub).ended_at)
        outbox = events(w)
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert final == ("canceled", "basic", 1, "2026-01-15 12:00", "2026-02-15 12:00")
    assert ended == "2026-02-15 12:00"
    assert outbox == [
        ("2026-01-15 12:00", "invoice.finalized"),
        ("2026-01-15 12:00", "subscription.created"),
        ("2026-02-01 12:00", "subscription.cancel_scheduled"),
        ("2026-02-15 12:00", "subscription.canceled"),
    ]


def test_lifecycle_undo_scheduled_cancellation(db):
    # Given a cancellation at period end scheduled on Feb 1
    with world(sp(2026, 1, 15, 12)) as w:
        plan = w.plan(amount=10_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        cancel(w, sub, at_period_end=True)
        # When on Feb 10 the subscriber changes their mind
        w.advance(sp(2026, 2, 10, 12))
        cancel_undo(w, sub)
        assert pending_changes(sub) == []
        # Then renewals go on as if nothing happened
        w.advance(sp(2026, 4, 1, 0))
        got = w.invoices(sub)
        final = state(w, sub)
        outbox = events(w)
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert final == ("active", "basic", 1, "2026-03-15 12:00", "2026-04-15 12:00")
    assert outbox == [
        ("2026-01-15 12:00", "invoice.finalized"),
        ("2026-01-15 12:00", "subscription.created"),
        ("2026-02-01 12:00", "subscription.cancel_scheduled"),
        ("2026-02-10 12:00", "subscription.cancel_undone"),
        ("2026-02-15 12:00", "invoice.finalized"),
        ("2026-03-15 12:00", "invoice.finalized"),
    ]


def test_lifecycle_billing_day_short_first_period_then_cancel_with_credit(db):
    # Given R$100 monthly bought on Jan 20 at noon, billed on the 1st of each month
    with world(sp(2026, 1, 20, 12)) as w:
        plan = w.plan(amount=10_000)
        customer = w.customer()
        sub = w.subscribe(plan, customer, anchor_day=1, collection_method="send_invoice")
        # Then the first, short period Jan 20 .. Jan 31 is 12 of January's 31 days:
        # 10000 × 12/31 = 3870.97 → 3871
        [first] = w.invoices(sub)
        assert lines(first) == [("recurring", 1, 3_871, 0, 0, 3_871)]
        assert spans(first) == [("recurring", "2026-01-20 12:00", "2026-02-01 00:00")]
        assert state(w, sub) == ("active", "basic", 1, "2026-01-20 12:00", "2026-02-01 00:00")
        # When on Jan 27 it is cancelled now with a prorated credit
        w.advance(sp(2026, 1, 27, 12))
        cancel(w, sub, prorate_credit=True)
        # Then Jan 27 .. Jan 31 (5 of the 12 days billed) are credited:
        # 3871 × 5/12 = 1612.92 → 1613
        assert credit_notes(w) == [
            (
                "ACME-CN-2026-000001",
                "ACME-2026-000001",
                "2026-01-27 12:00",
                1_613,
                "2026-01-27 12:00",
                "2026-02-01 00:00",
            )
        ]
        assert balance(w, customer) == 1_613
        w.advance(sp(2026, 3, 2, 0))
        assert [doc(i)[1:] for i in w.invoices(sub)] == [
            ("2026-01-20 12:00", "subscription_create", "open", 3_871, 0, 0, 3_871, 0, 3_871),
        ]
        assert state(w, sub)[0] == "canceled"


def test_lifecycle_cancel_with_credit_after_mid_period_upgrade(db):
    # Given basic (R$100) from Jan 15, upgraded on Feb 1 to pro (R$250) with an
    # immediate proration invoice: -4516 + 11290 = 6774 (14 of 31 days)
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        customer = w.customer()
        sub = w.subscribe(basic, customer, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        assert [i.total_minor for i in w.invoices(sub)] == [10_000, 6_774]
        # When on Feb 8 the subscriber cancels now with a prorated credit
        w.advance(sp(2026, 2, 8, 12))
        cancel(w, sub, prorate_credit=True)
        notes = credit_notes(w)
        credited = balance(w, customer)
    # Then the unused Feb 8 .. Feb 14 (7 of 31 days) of pro is credited:
    # 25000 × 7/31 = 5645.16 → 5645, so that the subscriber paid
    # 10000 + 6774 - 5645 = 11129 = basic 17/31 + pro 7/31 of a month
    assert sum(n[3] for n in notes) == 5_645
    assert credited == 5_645


def test_lifecycle_cancel_with_credit_after_early_resume(db):
    # Given R$60 monthly from Jan 10, paused from Feb 10, resumed early on Feb 24
    # with Feb 24 .. Mar 9 billed: 6000 × 14/28 = 3000
    with world(sp(2026, 1, 10, 12)) as w:
        plan = w.plan(amount=6_000, max_pauses=1, max_pause_cycles=3)
        customer = w.customer()
        sub = w.subscribe(plan, customer, collection_method="send_invoice")
        w.advance(sp(2026, 1, 20, 12))
        pause(w, sub, cycles=2)
        w.advance(sp(2026, 2, 24, 12))
        resume(w, sub)
        assert [i.total_minor for i in w.invoices(sub)] == [6_000, 3_000]
        # When on Mar 3 it is cancelled now with a prorated credit
        w.advance(sp(2026, 3, 3, 12))
        cancel(w, sub, prorate_credit=True)
        notes = credit_notes(w)
        credited = balance(w, customer)
    # Then Mar 3 .. Mar 9, 7 of the period's 28 days, are credited:
    # 6000 × 7/28 = 1500 (= 3000 × 7/14 of what the resume invoice charged)
    assert [(n[1], n[3]) for n in notes] == [("ACME-2026-000002", 1_500)]
    assert credited == 1_500
