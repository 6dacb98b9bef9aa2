"""Invoice services: paying, voiding, marking uncollectible, credit notes, the
customer's credit balance, gapless numbering and tenant isolation.

Every test runs one tenant ("acme", São Paulo time, prefix ACME) on a test
clock that starts on 2026-01-15 12:00 local; a R$ 100.00 monthly plan bills
its first invoice at once and renews on the 15th.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from billing import subscriptions as billing_subs
from billing.models import BalanceTransaction, CreditNote, DocumentSequence, Invoice
from billing.services import (
    credit_note_issue,
    customer_balance,
    invoice_mark_paid,
    invoice_mark_uncollectible,
    invoice_void,
)
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event
from tests.conftest import make_tenant
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import ACTOR, World, world

START = sp(2026, 1, 15, 12)


# --- helpers ----------------------------------------------------------------


def first_invoice(w: World, sub: Subscription) -> Invoice:
    [invoice] = w.invoices(sub)
    return invoice


def fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def invoice_state(invoice: Invoice) -> tuple[Any, ...]:
    """(status, total, credit applied, amount due, amount paid, credited, paid_at, voided_at)."""
    i = fresh(invoice)
    return (
        i.status,
        i.total_minor,
        i.credit_applied_minor,
        i.amount_due_minor,
        i.amount_paid_minor,
        i.credited_minor,
        i.paid_at,
        i.voided_at,
    )


def subject_events(public_id: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    rows = Event.objects.filter(subject_id=public_id).order_by("id")
    return [(e.type, e.at, e.data) for e in rows]


def event_types(public_id: str) -> list[str]:
    return list(
        Event.objects.filter(subject_id=public_id).order_by("id").values_list("type", flat=True)
    )


def audits(action: str) -> list[tuple[str, str, str, dict[str, Any], datetime]]:
    rows = AuditEntry.objects.filter(action=action).order_by("id")
    return [(a.actor_type, a.target_type, a.target_id, a.changes, a.at) for a in rows]


def balance(customer_id: int) -> int:
    return customer_balance(customer=Customer.objects.get(pk=customer_id), currency="BRL")


def pay(w: World, invoice: Invoice, note: str = "") -> Invoice:
    return invoice_mark_paid(
        tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now, note=note
    )


def void(w: World, invoice: Invoice) -> Invoice:
    return invoice_void(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)


def uncollectible(w: World, invoice: Invoice) -> Invoice:
    return invoice_mark_uncollectible(
        tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now
    )


def credit(w: World, invoice: Invoice, amount: Any, reason: str = "Goodwill") -> CreditNote:
    return credit_note_issue(
        tenant=w.tenant,
        invoice_id=invoice.pk,
        amount_minor=amount,
        reason=reason,
        actor=ACTOR,
        now=w.now,
    )


# --- invoice_mark_paid --------------------------------------------------------


def test_mark_paid_first_invoice_activates_incomplete_subscription(db):
    # Given a subscription charged automatically: its first invoice is open and it is incomplete
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        before = (invoice.status, w.refresh(sub).status)
        # When staff record the payment with a note, a day later
        w.advance(sp(2026, 1, 16, 9))
        returned = pay(w, invoice, note="Wire transfer 123")
        got = invoice_state(invoice)
        status = w.refresh(sub).status
        inv_events = subject_events(invoice.public_id)
        sub_events = subject_events(sub.public_id)
        audit = audits("invoice.paid")
    paid_at = sp(2026, 1, 16, 9)
    assert before == ("open", "incomplete")
    # Then the invoice is paid in full, and the subscription becomes active
    assert returned.status == "paid"
    assert got == ("paid", 10_000, 0, 10_000, 10_000, 0, paid_at, None)
    assert status == "active"
    assert [t for t, _, _ in inv_events] == ["invoice.finalized", "invoice.paid"]
    assert inv_events[1][1:] == (
        paid_at,
        {"invoice": invoice.public_id, "note": "Wire transfer 123"},
    )
    assert [t for t, _, _ in sub_events] == ["subscription.created", "subscription.activated"]
    assert sub_events[1][1:] == (
        paid_at,
        {"subscription": sub.public_id, "previous_status": "incomplete"},
    )
    assert audit == [
        ("system", "billing.invoice", str(invoice.pk), {"note": "Wire transfer 123"}, paid_at)
    ]


def test_mark_paid_is_idempotent_on_a_paid_invoice(db):
    # Given an invoice paid on Jan 15
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        pay(w, invoice, note="first")
        # When it is marked paid again a week later
        w.advance(sp(2026, 1, 22, 12))
        again = pay(w, invoice, note="second")
        got = invoice_state(invoice)
        types = event_types(invoice.public_id)
        sub_types = event_types(sub.public_id)
        audit_notes = [changes for _, _, _, changes, _ in audits("invoice.paid")]
    # Then nothing changes: same payment date, no second event or audit entry
    assert again.status == "paid"
    assert got == ("paid", 10_000, 0, 10_000, 10_000, 0, START, None)
    assert types == ["invoice.finalized", "invoice.paid"]
    assert sub_types == ["subscription.created", "subscription.activated"]
    assert audit_notes == [{"note": "first"}]


def test_mark_paid_refuses_a_voided_invoice(db):
    # Given an invoice that was voided (an uncollectible one may still be paid
    # late, as in Stripe: tests/dunning covers it)
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        void(w, invoice)
        before = invoice_state(invoice)
        events_before = event_types(invoice.public_id)
        # When someone tries to mark it paid
        with pytest.raises(StateConflict) as err:
            pay(w, invoice, note="late")
        after = invoice_state(invoice)
        events_after = event_types(invoice.public_id)
        status = w.refresh(sub).status
        paid_audits = audits("invoice.paid")
    # Then it is refused with invoice_not_open and nothing changes
    assert err.value.code == "invoice_not_open"
    assert after == before
    assert events_after == events_before
    assert status == "incomplete"
    assert paid_audits == []


# --- invoice_void and invoice_mark_uncollectible ----------------------------------


def test_void_open_invoice(db):
    # Given an open invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        invoice = first_invoice(w, sub)
        # When it is voided on Jan 20
        w.advance(sp(2026, 1, 20, 12))
        void(w, invoice)
        got = invoice_state(invoice)
        events = subject_events(invoice.public_id)
        audit = audits("invoice.voided")
    # Then it is void, with the date, an event and an audit entry
    voided_at = sp(2026, 1, 20, 12)
    assert got == ("void", 10_000, 0, 10_000, 0, 0, None, voided_at)
    assert events[-1] == ("invoice.voided", voided_at, {"invoice": invoice.public_id})
    assert audit == [("system", "billing.invoice", str(invoice.pk), {}, voided_at)]


def test_void_refuses_a_paid_invoice(db):
    # Given a paid invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        pay(w, invoice)
        before = invoice_state(invoice)
        # When staff try to void it
        with pytest.raises(StateConflict) as err:
            void(w, invoice)
        after = invoice_state(invoice)
        types = event_types(invoice.public_id)
    # Then it is refused (corrections are credit notes) and nothing changes
    assert err.value.code == "invoice_not_open"
    assert after == before
    assert types == ["invoice.finalized", "invoice.paid"]


def test_voided_invoice_returns_the_credit_it_consumed(db):
    # Given R$ 30.00 of credit (a credit note on the first invoice), applied to the Feb renewal
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        first = first_invoice(w, sub)
        credit(w, first, 3_000)
        w.advance(sp(2026, 2, 15, 12))
        renewal = w.invoices(sub)[1]
        renewal_before = invoice_state(renewal)
        balance_before = balance(sub.customer_id)
        # When the renewal is voided
        w.advance(sp(2026, 2, 16, 12))
        void(w, renewal)
        renewal_after = invoice_state(renewal)
        balance_after = balance(sub.customer_id)
        returned = list(
            BalanceTransaction.objects.filter(customer_id=sub.customer_id)
            .order_by("id")
            .values_list("amount_minor", "description")
        )
        # And the next renewal comes
        w.advance(sp(2026, 3, 15, 12))
        march = invoice_state(w.invoices(sub)[2])
        balance_end = balance(sub.customer_id)
    # Then the R$ 30.00 goes back to the balance and is applied again in March
    assert renewal_before == ("open", 10_000, 3_000, 7_000, 0, 0, None, None)
    assert balance_before == 0
    assert renewal_after == ("void", 10_000, 3_000, 7_000, 0, 0, None, sp(2026, 2, 16, 12))
    assert balance_after == 3_000
    assert returned == [
        (3_000, "Credit note ACME-CN-2026-000001"),
        (-3_000, "Applied to ACME-2026-000002"),
        (3_000, "Returned from voided ACME-2026-000002"),
    ]
    assert march == ("open", 10_000, 3_000, 7_000, 0, 0, None, None)
    assert balance_end == 0


def test_voided_invoice_returns_credit_from_a_downgrade(db):
    # Given pro (R$ 300) downgraded to basic (R$ 100) on Feb 1, invoiced now:
    # 14 of 31 days remain, credit 30000×14/31 = 13548.39 → 13548, charge 10000×14/31 → 4516,
    # so the update invoice carries 9032 to the balance; the Feb 15 renewal consumes it
    with world(START) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=30_000)
        sub = w.subscribe(pro, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        billing_subs.subscription_change(
            tenant=w.tenant,
            subscription_id=sub.pk,
            actor=ACTOR,
            now=w.now,
            plan=basic,
            proration="invoice_now",
        )
        w.advance(sp(2026, 2, 15, 12))
        renewal = w.invoices(sub)[2]
        before = (invoice_state(renewal), balance(sub.customer_id))
        # When the renewal is voided
        void(w, renewal)
        after = (invoice_state(renewal), balance(sub.customer_id))
    # Then the 9032 it had consumed is the customer's again
    assert before == (("open", 10_000, 9_032, 968, 0, 0, None, None), 0)
    assert after == (("void", 10_000, 9_032, 968, 0, 0, None, sp(2026, 2, 15, 12)), 9_032)


def test_mark_uncollectible_open_invoice(db):
    # Given an open invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        invoice = first_invoice(w, sub)
        # When it is written off on Mar 1, twice
        w.advance(sp(2026, 3, 1, 12))
        uncollectible(w, invoice)
        uncollectible(w, invoice)
        got = invoice_state(invoice)
        types = event_types(invoice.public_id)
        audit = audits("invoice.marked_uncollectible")
        # And voiding it afterwards is refused
        with pytest.raises(StateConflict) as err:
            void(w, invoice)
        after = invoice_state(invoice)
    # Then it is uncollectible once: one event, one audit entry
    assert got == ("uncollectible", 10_000, 0, 10_000, 0, 0, None, None)
    assert types == ["invoice.finalized", "invoice.marked_uncollectible"]
    assert audit == [("system", "billing.invoice", str(invoice.pk), {}, sp(2026, 3, 1, 12))]
    assert err.value.code == "invoice_not_open"
    assert after == got


def test_mark_uncollectible_refuses_a_paid_invoice(db):
    # Given a paid invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        pay(w, invoice)
        # When it is marked uncollectible
        with pytest.raises(StateConflict) as err:
            uncollectible(w, invoice)
        got = invoice_state(invoice)
    # Then it is refused and stays paid
    assert err.value.code == "invoice_not_open"
    assert got == ("paid", 10_000, 0, 10_000, 10_000, 0, START, None)


# --- credit notes -------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", True], ids=repr)
def test_credit_note_refuses_an_amount_that_is_not_a_positive_integer(db, amount):
    # Given an open R$ 100.00 invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        invoice = first_invoice(w, sub)
        # When a credit note is asked for a bad amount
        with pytest.raises(ValidationFailed) as err:
            credit(w, invoice, amount)
        got = (
            invoice_state(invoice),
            CreditNote.objects.count(),
            balance(sub.customer_id),
            Event.objects.filter(type="credit_note.created").count(),
            audits("credit_note.created"),
        )
        # And then a valid one is issued
        note = credit(w, invoice, 1)
    # Then it is refused and nothing changed, not even the credit note sequence
    assert err.value.param == "amount"
    assert got == (("open", 10_000, 0, 10_000, 0, 0, None, None), 0, 0, 0, [])
    assert note.number == "ACME-CN-2026-000001"


def test_credit_notes_cannot_exceed_the_invoice_total(db):
    # Given a R$ 100.00 invoice credited R$ 60.00
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        pay(w, invoice)
        first = credit(w, invoice, 6_000)
        # When R$ 40.01 more is asked, then R$ 40.00, then 1 cent
        with pytest.raises(ValidationFailed) as over:
            credit(w, invoice, 4_001)
        second = credit(w, invoice, 4_000)
        with pytest.raises(ValidationFailed) as full:
            credit(w, invoice, 1)
        notes = list(
            CreditNote.objects.order_by("id").values_list("number", "total_minor", "invoice_id")
        )
        got = invoice_state(invoice)
        customer_balance_now = balance(sub.customer_id)
    # Then only what is left can be credited, on numbers of their own
    assert over.value.param == "amount"
    assert full.value.param == "amount"
    assert (first.number, second.number) == ("ACME-CN-2026-000001", "ACME-CN-2026-000002")
    assert notes == [
        ("ACME-CN-2026-000001", 6_000, invoice.pk),
        ("ACME-CN-2026-000002", 4_000, invoice.pk),
    ]
    assert invoice.number == "ACME-2026-000001"
    assert got == ("paid", 10_000, 0, 10_000, 10_000, 10_000, START, None)
    assert customer_balance_now == 10_000


def test_credit_note_grows_the_balance_which_the_next_invoice_applies(db):
    # Given a paid R$ 100.00 first invoice, credited R$ 25.00 with a note and an audit entry
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000))
        invoice = first_invoice(w, sub)
        pay(w, invoice)
        w.advance(sp(2026, 1, 20, 12))
        note = credit(w, invoice, 2_500, reason="Outage on Jan 18")
        after_note = balance(sub.customer_id)
        lines = list(note.lines.values_list("description", "amount_minor"))
        note_events = subject_events(note.public_id)
        audit = audits("credit_note.created")
        # When the plan renews on Feb 15
        w.advance(sp(2026, 2, 15, 12))
        renewal = w.invoices(sub)[1]
        balance_end = balance(sub.customer_id)
    # Then the credit is applied to it: due = total − credit applied
    assert after_note == 2_500
    assert (note.number, note.total_minor, note.reason) == (
        "ACME-CN-2026-000001",
        2_500,
        "Outage on Jan 18",
    )
    assert lines == [("Outage on Jan 18", 2_500)]
    assert note_events == [
        (
            "credit_note.created",
            sp(2026, 1, 20, 12),
            {
                "credit_note": note.public_id,
                "invoice": invoice.public_id,
                # an untaxed, undiscounted invoice: all of it is subtotal
                "subtotal": 2_500,
                "discount": 0,
                "tax": 0,
                "total": 2_500,
                "currency": "BRL",
            },
        )
    ]
    assert audit == [
        (
            "system",
            "billing.creditnote",
            str(note.pk),
            {"invoice": "ACME-2026-000001", "total": 2_500},
            sp(2026, 1, 20, 12),
        )
    ]
    assert (renewal.number, renewal.total_minor) == ("ACME-2026-000002", 10_000)
    assert (renewal.credit_applied_minor, renewal.amount_due_minor) == (2_500, 7_500)
    assert balance_end == 0


def test_credit_note_refuses_a_void_invoice(db):
    # Given a voided invoice
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        invoice = first_invoice(w, sub)
        void(w, invoice)
        # When it is credited
        with pytest.raises(StateConflict) as err:
            credit(w, invoice, 1_000)
        got = (CreditNote.objects.count(), balance(sub.customer_id), invoice_state(invoice)[5])
    # Then it is refused and nothing is credited
    assert err.value.code == "invoice_not_creditable"
    assert got == (0, 0, 0)


# --- tenancy ---------------------------------------------------------------------


def test_another_tenants_invoice_is_not_found_and_nothing_changes(db):
    # Given acme's open invoice, and a second tenant, globex
    with world(START) as w:
        sub = w.subscribe(w.plan(amount=10_000), collection_method="send_invoice")
        invoice = first_invoice(w, sub)
        before = invoice_state(invoice)
        events_before = Event.objects.count()
        audits_before = AuditEntry.objects.count()
        globex = make_tenant("globex").tenant
        # When globex uses acme's invoice id in every invoice service
        with tenant_context(globex):
            refusals = []
            for call in (
                lambda: invoice_mark_paid(
                    tenant=globex, invoice_id=invoice.pk, actor=ACTOR, now=START
                ),
                lambda: invoice_void(tenant=globex, invoice_id=invoice.pk, actor=ACTOR, now=START),
                lambda: invoice_mark_uncollectible(
                    tenant=globex, invoice_id=invoice.pk, actor=ACTOR, now=START
                ),
                lambda: credit_note_issue(
                    tenant=globex,
                    invoice_id=invoice.pk,
                    amount_minor=1_000,
                    reason="x",
                    actor=ACTOR,
                    now=START,
                ),
            ):
                with pytest.raises(NotFound) as err:
                    call()
                refusals.append((err.value.code, err.value.param))
            globex_rows = (
                Invoice.objects.count(),
                CreditNote.objects.count(),
                DocumentSequence.objects.count(),
                Event.objects.count(),
            )
        after = invoice_state(invoice)
        acme_rows = (
            CreditNote.objects.count(),
            balance(sub.customer_id),
            Event.objects.count() - events_before,
            AuditEntry.objects.count() - audits_before,
        )
    # Then each call is "not found" and neither tenant has anything new
    assert refusals == [("resource_missing", "invoice")] * 4
    assert globex_rows == (0, 0, 0, 0)
    assert after == before
    assert acme_rows == (0, 0, 0, 0)


# --- numbering ---------------------------------------------------------------------


def test_invoice_numbers_stay_gapless_after_voids_and_credit_notes(db):
    # Given three customers subscribing on Jan 15 (invoices 1..3)
    with world(START) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        a, b, c = (
            w.subscribe(basic, w.customer(name), collection_method="send_invoice")
            for name in ("Ana", "Bia", "Caio")
        )
        # When one invoice is voided, another credited (and an over-credit refused),
        w.advance(sp(2026, 1, 20, 12))
        void(w, first_invoice(w, a))
        credit(w, first_invoice(w, b), 1_000)
        with pytest.raises(ValidationFailed):
            credit(w, first_invoice(w, b), 9_001)
        # one customer upgrades with an immediate invoice and all renew twice
        billing_subs.subscription_change(
            tenant=w.tenant,
            subscription_id=c.pk,
            actor=ACTOR,
            now=w.now,
            plan=pro,
            proration="invoice_now",
        )
        w.advance(sp(2026, 2, 15, 12))
        void(w, w.invoices(b)[1])
        credit(w, w.invoices(c)[2], 500)
        w.advance(sp(2026, 3, 15, 12))
        numbers = list(Invoice.objects.order_by("id").values_list("number", flat=True))
        issued = list(Invoice.objects.order_by("id").values_list("issued_at", flat=True))
        statuses = sorted(Invoice.objects.values_list("status", flat=True))
        notes = list(CreditNote.objects.order_by("id").values_list("number", flat=True))
    # Then invoices are numbered 1..10 in issue order and credit notes 1..2, no holes
    assert numbers == [f"ACME-2026-{n:06d}" for n in range(1, 11)]
    assert issued == sorted(issued)
    assert statuses.count("void") == 2
    assert notes == ["ACME-CN-2026-000001", "ACME-CN-2026-000002"]
