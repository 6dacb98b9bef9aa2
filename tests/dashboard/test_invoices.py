"""Invoices and money in the dashboard: lists, the invoice page, every action,
bad input, roles and another tenant's ids. Data comes from the real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from billing import services as billing
from billing.gateways.sandbox import SandboxGateway
from billing.models import CreditNote, Invoice, PaymentAttempt, Refund
from billing.payments import payment_method_attach
from core import clock
from core.actors import Actor
from dashboard.amounts import parse_money
from tenants.context import platform_access
from tenants.services import membership_add
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
PASSWORD = "s3cret-Pass!"


def _signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _member(w: World, role: str) -> Client:
    from tenants.accounts import staff_user_ensure

    email = f"{role}@acme.example"
    user = staff_user_ensure(email=email, password=PASSWORD)
    membership_add(tenant=w.tenant, user=user, role=role, actor=Actor.system(), now=clock.now())
    return _signed_in(email)


def _paid(w: World) -> PaymentAttempt:
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=10_000), customer)
    return PaymentAttempt.objects.get(invoice__subscription=sub)


def _draft(w: World, amount: int = 5_000) -> Invoice:
    return billing.invoice_draft_create(
        tenant=w.tenant,
        customer=w.customer("Bia"),
        currency="BRL",
        lines=[billing.ManualLine(description="Consulting", unit_amount_minor=amount, quantity=1)],
        actor=ACTOR,
        now=w.now,
    )


def _open(w: World, amount: int = 5_000) -> Invoice:
    draft = _draft(w, amount)
    return billing.invoice_finalize(tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=w.now)


def _state(w: World) -> tuple[Any, ...]:
    """Everything an action could change: compared before and after a refused one."""
    return (
        sorted(
            Invoice.objects.filter(tenant=w.tenant).values_list("pk", "status", "credited_minor")
        ),
        CreditNote.objects.filter(tenant=w.tenant).count(),
        Refund.objects.filter(tenant=w.tenant).count(),
        PaymentAttempt.objects.filter(tenant=w.tenant).count(),
    )


@contextmanager
def _acme() -> Iterator[World]:
    with world(NOW) as w:
        yield w


def _url(name: str, invoice: Invoice) -> str:
    return f"/dashboard/invoices/{invoice.public_id}/{name}/"


# --- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "language", "minor"),
    [
        ("12.50", "BRL", "en", 1250),
        ("12,5", "BRL", "pt-br", 1250),
        ("0.01", "BRL", "en", 1),
        ("100", "JPY", "en", 100),
        # The same rule as the catalog's: a grouping dot in pt-BR is not a decimal point.
        ("1.500", "BRL", "pt-br", 150_000),
    ],
)
def test_typed_amounts_become_exact_minor_units(
    text: str, currency: str, language: str, minor: int
) -> None:
    assert parse_money(text, currency, language, positive=True) == minor


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "0", "0.00", "1.005", "1e3", "1.2.3", "1,234.5x", "99999999999999"]
)
def test_bad_typed_amounts_are_refused(text: str) -> None:
    from django import forms

    with pytest.raises(forms.ValidationError):
        parse_money(text, "BRL", "en", positive=True)


def test_yen_takes_no_decimals() -> None:
    from django import forms

    with pytest.raises(forms.ValidationError):
        parse_money("10.5", "JPY", "en", positive=True)


# --- lists -------------------------------------------------------------------------------


def test_the_list_shows_invoices_and_filters_them() -> None:
    with _acme() as w:
        attempt = _paid(w)
        draft = _draft(w)
        owner = _signed_in("owner@acme.example")

        page = owner.get("/dashboard/invoices/").content.decode()
        paid = owner.get("/dashboard/invoices/?status=paid").content.decode()
        drafts = owner.get("/dashboard/invoices/?status=draft").content.decode()
        cards = owner.get("/dashboard/invoices/?method=card").content.decode()
        overdue = owner.get("/dashboard/invoices/?overdue=on").content.decode()
        bad = owner.get("/dashboard/invoices/?status=nope&due_from=yesterday")

        assert attempt.invoice.public_id in page
        assert draft.public_id in page
        assert "R$" in page
        assert attempt.invoice.public_id in paid
        assert draft.public_id not in paid
        assert draft.public_id in drafts
        assert attempt.invoice.public_id not in drafts
        assert attempt.invoice.public_id in cards
        assert draft.public_id not in cards
        assert "No invoice matches these filters" in overdue
        assert bad.status_code == 400
        assert "Select a valid choice" in bad.content.decode()


def test_money_is_in_the_viewers_language() -> None:
    with _acme() as w:
        _paid(w)
        owner = _signed_in("owner@acme.example")
        with translation.override("pt-br"):
            page = owner.get("/dashboard/invoices/", HTTP_ACCEPT_LANGUAGE="pt-br")
        body = page.content.decode()
        assert "R$\xa0100,00" in body or "R$ 100,00" in body


def test_the_list_pages_by_keyset(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import keyset

    monkeypatch.setattr(keyset, "PAGE_SIZE", 2)
    with _acme() as w:
        made = [_draft(w, 100 + i) for i in range(5)]
        owner = _signed_in("owner@acme.example")
        first = owner.get("/dashboard/invoices/").content.decode()
        cursor = first.split("after=")[1].split('"')[0]
        second = owner.get(f"/dashboard/invoices/?after={cursor}").content.decode()
        mangled = owner.get("/dashboard/invoices/?after=zzz")
        newest = [i.public_id for i in reversed(made)]
        assert newest[0] in first
        assert newest[1] in first
        assert newest[2] not in first
        assert newest[2] in second
        assert newest[3] in second
        assert newest[0] not in second
        assert mangled.status_code == 200


def test_payments_refunds_credit_notes_and_events_lists() -> None:
    with _acme() as w:
        attempt = _paid(w)
        from billing.payments import payment_refund

        payment_refund(
            tenant=w.tenant,
            attempt_id=attempt.pk,
            amount_minor=1_000,
            reason="Outage",
            actor=ACTOR,
            now=NOW,
        )
        owner = _signed_in("owner@acme.example")

        payments = owner.get("/dashboard/payments/").content.decode()
        failed = owner.get("/dashboard/payments/?status=failed").content.decode()
        refunds = owner.get("/dashboard/refunds/").content.decode()
        notes = owner.get("/dashboard/credit-notes/").content.decode()
        events = owner.get("/dashboard/events/?type=payment.refunded").content.decode()
        all_events = owner.get("/dashboard/events/").content.decode()

        assert attempt.public_id in payments
        assert attempt.public_id not in failed
        assert "Outage" in refunds
        assert "ACME-CN-2026-000001" in notes
        assert "payment.refunded" in events
        assert "invoice.paid" not in events
        assert "invoice.paid" in all_events
        assert "&quot;amount&quot;: 1000" in events  # the payload, readable


def test_empty_lists_say_what_to_do_next() -> None:
    with _acme():
        owner = _signed_in("owner@acme.example")
        assert "Invoices appear here" in owner.get("/dashboard/invoices/").content.decode()
        assert "from its invoice" in owner.get("/dashboard/refunds/").content.decode()


# --- the invoice page --------------------------------------------------------------------


def test_the_invoice_page_by_id_or_number() -> None:
    with _acme() as w:
        attempt = _paid(w)
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        owner = _signed_in("owner@acme.example")

        by_id = owner.get(f"/dashboard/invoices/{invoice.public_id}/")
        by_number = owner.get(f"/dashboard/invoices/{invoice.number}/")
        pdf = owner.get(_url("pdf", invoice))

        body = by_id.content.decode()
        assert by_id.status_code == 200
        assert by_number.status_code == 200
        assert invoice.number in body
        assert attempt.public_id in body
        assert 'data-testid="invoice-lines"' in body
        assert "R$" in body
        assert 'data-testid="refund-form"' in body
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")


def test_a_failed_attempt_shows_its_gateway_code() -> None:
    with _acme() as w:
        customer = w.customer()
        saved = SandboxGateway().tokenize_card(
            number="4000000000000002", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant,
            customer=customer,
            saved=saved,
            gateway="sandbox",
            actor=ACTOR,
            now=NOW,
        )
        w.subscribe(w.plan(amount=10_000), customer)
        attempt = PaymentAttempt.objects.get(invoice__customer=customer)
        owner = _signed_in("owner@acme.example")
        body = owner.get(f"/dashboard/invoices/{attempt.invoice.public_id}/").content.decode()
        assert attempt.status == "failed"
        assert attempt.failure_code
        assert attempt.failure_code in body


# --- actions -----------------------------------------------------------------------------


def test_finalize_void_and_uncollectible() -> None:
    with _acme() as w:
        draft = _draft(w)
        other = _open(w)
        owner = _signed_in("owner@acme.example")

        assert owner.post(_url("finalize", draft)).status_code == 302
        draft.refresh_from_db()
        assert draft.status == "open"
        assert draft.number
        assert owner.post(_url("void", draft)).status_code == 302
        draft.refresh_from_db()
        assert draft.status == "void"
        assert owner.post(_url("uncollectible", other)).status_code == 302
        other.refresh_from_db()
        assert other.status == "uncollectible"
        # Voiding it again is refused with a message, not a 500.
        before = _state(w)
        again = owner.post(_url("void", draft), follow=True)
        assert again.status_code == 200
        assert _state(w) == before


def test_actions_are_post_only() -> None:
    with _acme() as w:
        draft = _draft(w)
        owner = _signed_in("owner@acme.example")
        assert owner.get(_url("finalize", draft)).status_code == 405
        draft.refresh_from_db()
        assert draft.status == "draft"


def test_mark_paid_needs_a_note() -> None:
    with _acme() as w:
        invoice = _open(w)
        owner = _signed_in("owner@acme.example")
        before = _state(w)

        missing = owner.post(_url("mark-paid", invoice), {"note": "   "})
        assert missing.status_code == 400
        form = missing.content.decode().split('data-testid="mark-paid-form"')[1].split("</form>")[0]
        assert "This field is required." in form
        assert _state(w) == before

        done = owner.post(_url("mark-paid", invoice), {"note": "PIX received by phone"})
        invoice.refresh_from_db()
        assert done.status_code == 302
        assert invoice.status == "paid"


def test_charge_now_charges_the_default_method() -> None:
    with _acme() as w:
        customer = w.customer()
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant,
            customer=customer,
            saved=saved,
            gateway="sandbox",
            actor=ACTOR,
            now=NOW,
        )
        draft = billing.invoice_draft_create(
            tenant=w.tenant,
            customer=customer,
            currency="BRL",
            lines=[billing.ManualLine(description="Extra", unit_amount_minor=2_000, quantity=1)],
            actor=ACTOR,
            now=w.now,
        )
        owner = _signed_in("owner@acme.example")

        refused = owner.post(_url("charge", draft), follow=True)  # a draft cannot be charged
        assert "Only an open invoice can be charged." in refused.content.decode()
        owner.post(_url("finalize", draft))
        assert owner.post(_url("charge", draft)).status_code == 302
        draft.refresh_from_db()
        assert draft.status == "paid"


def test_credit_note_happy_path_and_bad_amounts() -> None:
    with _acme() as w:
        invoice = _open(w, amount=5_000)
        owner = _signed_in("owner@acme.example")
        before = _state(w)
        for amount, error in [
            ("abc", "Enter an amount such as 29.90."),
            ("-5", "The amount cannot be negative."),
            ("0", "The amount must be more than zero."),
            ("10.005", "BRL amounts have at most 2 decimals."),
            ("999999999999999", "too large"),
            ("50.01", "more than can be given back"),
            ("", "This field is required."),
        ]:
            response = owner.post(_url("credit-note", invoice), {"amount": amount, "reason": "x"})
            body = response.content.decode()
            assert response.status_code == 400, amount
            assert error in body, amount
            # The error sits in the credit note form, next to its field.
            form = body.split('data-testid="credit-note-form"')[1].split("</form>")[0]
            assert error in form, amount
        missing_reason = owner.post(_url("credit-note", invoice), {"amount": "10"})
        assert missing_reason.status_code == 400
        assert _state(w) == before

        done = owner.post(_url("credit-note", invoice), {"amount": "12.34", "reason": "Goodwill"})
        assert done.status_code == 302
        note = CreditNote.objects.get(invoice=invoice)
        assert (note.total_minor, note.reason) == (1234, "Goodwill")


def test_refund_half_and_bad_refunds() -> None:
    with _acme() as w:
        attempt = _paid(w)
        invoice = attempt.invoice
        owner = _signed_in("owner@acme.example")
        before = _state(w)
        for amount in ["100.01", "-1", "1.001", "nan", "1e2"]:
            response = owner.post(
                _url("refund", invoice),
                {"payment": attempt.public_id, "amount": amount, "reason": "x"},
            )
            assert response.status_code == 400, amount
        assert _state(w) == before

        done = owner.post(
            _url("refund", invoice),
            {"payment": attempt.public_id, "amount": "50", "reason": "Half"},
        )
        assert done.status_code == 302
        refund = Refund.objects.get(attempt=attempt)
        assert (refund.amount_minor, refund.status) == (5_000, "succeeded")
        page = owner.get(f"/dashboard/invoices/{invoice.public_id}/").content.decode()
        assert "ACME-CN-2026-000001" in page
        assert "Half" in page
        # What is left is the limit now.
        over = owner.post(
            _url("refund", invoice),
            {"payment": attempt.public_id, "amount": "50.01", "reason": "More"},
        )
        assert over.status_code == 400
        assert "more than can be given back" in over.content.decode()
        assert Refund.objects.filter(attempt=attempt).count() == 1


def test_another_tenants_ids_are_404_and_change_nothing() -> None:
    with world(NOW, slug="globex") as g:
        theirs = _paid(g)
        their_invoice = Invoice.objects.get(pk=theirs.invoice_id)
        their_draft = _draft(g)
    with _acme() as w:
        mine = _open(w)
        owner = _signed_in("owner@acme.example")
        for path in [
            f"/dashboard/invoices/{their_invoice.public_id}/",
            f"/dashboard/invoices/{their_invoice.number}/",
            _url("pdf", their_invoice),
        ]:
            assert owner.get(path).status_code == 404, path
        actions = ["finalize", "charge", "void", "uncollectible", "mark-paid", "credit-note"]
        for action in [*actions, "refund", "segunda-via"]:
            data = {"payment": theirs.public_id, "amount": "1", "reason": "x", "note": "x"}
            assert owner.post(_url(action, their_draft), data).status_code == 404, action
            assert owner.post(_url(action, their_invoice), data).status_code == 404, action
        # Their payment on my invoice: 404 as well.
        refund = {"payment": theirs.public_id, "amount": "1", "reason": "x"}
        assert owner.post(_url("refund", mine), refund).status_code == 404
    with platform_access():
        assert Invoice.objects.get(pk=their_draft.pk).status == "draft"
        assert Invoice.objects.get(pk=their_invoice.pk).credited_minor == 0
        assert not Refund.objects.filter(attempt_id=theirs.pk).exists()
        assert not CreditNote.objects.filter(invoice_id=their_invoice.pk).exists()


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_roles_that_read_but_do_not_act(role: str) -> None:
    with _acme() as w:
        attempt = _paid(w)
        draft = _draft(w)
        client = _member(w, role)
        before = _state(w)
        for path in [
            "/dashboard/invoices/",
            f"/dashboard/invoices/{draft.public_id}/",
            "/dashboard/payments/",
            "/dashboard/refunds/",
            "/dashboard/credit-notes/",
            "/dashboard/events/",
        ]:
            assert client.get(path).status_code == 200, path
        page = client.get(f"/dashboard/invoices/{attempt.invoice.public_id}/").content.decode()
        assert 'data-testid="refund-form"' not in page
        assert "Finalize" not in page
        assert client.post(_url("finalize", draft)).status_code == 403
        assert (
            client.post(
                _url("credit-note", attempt.invoice), {"amount": "1", "reason": "x"}
            ).status_code
            == 403
        )
        assert (
            client.post(
                _url("refund", attempt.invoice),
                {"payment": attempt.public_id, "amount": "1", "reason": "x"},
            ).status_code
            == 403
        )
        assert _state(w) == before


def test_finance_may_refund() -> None:
    with _acme() as w:
        attempt = _paid(w)
        finance = _member(w, "finance")
        response = finance.post(
            _url("refund", attempt.invoice),
            {"payment": attempt.public_id, "amount": "100", "reason": "All back"},
        )
        assert response.status_code == 302
        assert Refund.objects.get(attempt=attempt).amount_minor == 10_000


def test_segunda_via_without_a_boleto_is_a_form_error() -> None:
    with _acme() as w:
        invoice = _open(w)
        owner = _signed_in("owner@acme.example")
        before = _state(w)
        response = owner.post(_url("segunda-via", invoice), {"due_date": "not a date"})
        assert response.status_code == 400
        response = owner.post(_url("segunda-via", invoice), {"due_date": ""})
        assert response.status_code == 400
        assert "no boleto awaiting payment" in response.content.decode()
        assert _state(w) == before


def test_resend_the_invoice_email() -> None:
    from notifications.models import MessageDelivery
    from tenants.models import AuditEntry, Event

    with _acme() as w:
        invoice = _open(w)
        draft = _draft(w)
        invoice.customer.email = "bia@example.com"
        invoice.customer.save(update_fields=["email"])
        owner = _signed_in("owner@acme.example")

        done = owner.post(_url("resend", invoice), follow=True)
        refused = owner.post(_url("resend", draft), follow=True)  # a draft is not sent
        viewer = _member(w, "viewer")

        sent = MessageDelivery.objects.filter(
            template="invoice_available", event__type="invoice.email_resent"
        )
        assert "Invoice email queued for bia@example.com." in done.content.decode()
        assert "Only an open or paid invoice can be sent." in refused.content.decode()
        assert list(sent.values_list("recipient", "customer_id")) == [
            ("bia@example.com", invoice.customer_id)
        ]
        assert (
            Event.objects.filter(type="invoice.email_resent", subject_id=invoice.public_id).count()
            == 1
        )
        assert AuditEntry.objects.filter(action="invoice.email_resent").count() == 1
        assert viewer.post(_url("resend", invoice)).status_code == 403
        assert sent.count() == 1


def test_segunda_via_of_an_overdue_boleto() -> None:
    from billing.payments import payment_method_attach_offline

    late = utc(2026, 6, 15, 15)  # eleven days after the slip fell due (June 4)
    with _acme() as w:
        customer = w.customer()
        customer.tax_id = "529.982.247-25"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        invoice = Invoice.objects.get(subscription=w.subscribe(w.plan(amount=10_000), customer))
        w.advance(late)
        owner = _signed_in("owner@acme.example")
        page = owner.get(f"/dashboard/invoices/{invoice.public_id}/").content.decode()
        assert 'data-testid="segunda-via-form"' in page
        assert 'data-testid="payment-instructions"' in page
        before = _state(w)

        past = owner.post(_url("segunda-via", invoice), {"due_date": "2026-06-01"})
        form = past.content.decode().split('data-testid="segunda-via-form"')[1].split("</form>")[0]
        assert past.status_code == 400
        assert "The new due date must be between today" in form
        assert _state(w) == before

        done = owner.post(_url("segunda-via", invoice), {"due_date": ""})
        assert done.status_code == 302
        new = PaymentAttempt.objects.filter(invoice=invoice).order_by("-number").first()
        assert new is not None
        assert (new.number, new.status, new.amount_minor) == (2, "pending", 10_247)
