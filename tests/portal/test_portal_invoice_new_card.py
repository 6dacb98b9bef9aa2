"""Paying an open invoice from the portal with a NEW card (issue 14, portal
item 4): the browser tokenises the card at the gateway, the portal charges the
invoice with it, keeps it only when asked; a declining card saves nothing and
leaves the invoice open; a 3-D Secure card goes to the issuer and back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, PaymentAttempt
from customers.models import PaymentMethod
from tenants.context import tenant_context
from tests.portal import test_portal_invoices as base
from tests.portal.test_portal_invoices import START, Bill
from tests.support.billing import world

bill = base.bill


def _token(number: str) -> str:
    return (
        SandboxGateway().tokenize_card(number=number, exp_month=12, exp_year=2031, cvc="123").token
    )


def _pay(bill: Bill, number: str, save: bool = False, **extra: Any) -> Any:
    data = {"gateway": "sandbox", "reference": _token(number), **extra}
    if save:
        data["save"] = "1"
    return bill.client.post(bill.url("pay/card/"), data)


def _live_cards(bill: Bill) -> list[PaymentMethod]:
    return list(PaymentMethod.objects.filter(customer=bill.ana, detached_at__isnull=True))


def test_the_invoice_page_offers_a_new_card(bill: Bill) -> None:
    page = bill.client.get(bill.url())
    body = page.content.decode()
    assert 'data-testid="new-card"' in body
    assert 'id="card-setup"' in body
    assert page.context["setup"].gateway == "sandbox"
    # The card fields carry no name: the number never reaches our server.
    assert 'name="number"' not in body


def test_pay_with_a_new_card_without_saving_it(bill: Bill) -> None:
    response = _pay(bill, "4242424242424242")
    assert response.status_code == 302
    assert response["Location"] == bill.url()
    invoice = bill.refresh()
    assert (invoice.status, invoice.amount_paid_minor) == (Invoice.Status.PAID, 10_500)
    [attempt] = PaymentAttempt.objects.filter(invoice=invoice)
    assert attempt.payment_method.last4 == "4242"
    assert attempt.amount_minor == 10_500
    assert _live_cards(bill) == []  # used once, not kept


def test_pay_with_a_new_card_and_save_it(bill: Bill) -> None:
    response = _pay(bill, "4242424242424242", save=True)
    assert response.status_code == 302
    assert bill.refresh().status == Invoice.Status.PAID
    [card] = _live_cards(bill)
    assert card.last4 == "4242"
    assert PaymentAttempt.objects.get(invoice=bill.invoice).payment_method_id == card.pk


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000000000009995", "The card has insufficient funds."),  # declined at the check
        ("4000000000000341", "The card was declined."),  # declined at the charge
    ],
)
def test_a_declined_new_card_shows_the_gateways_message_and_saves_nothing(
    bill: Bill, number: str, message: str
) -> None:
    response = bill.client.post(
        bill.url("pay/card/"),
        {"gateway": "sandbox", "reference": _token(number), "save": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert any(message in str(m) for m in response.context["messages"])
    invoice = bill.refresh()
    assert (invoice.status, invoice.amount_paid_minor) == (Invoice.Status.OPEN, 0)
    assert _live_cards(bill) == []


def test_a_3d_secure_new_card_goes_to_the_issuer_and_back(bill: Bill) -> None:
    response = _pay(bill, "4000002500003155", save=True)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path.startswith("/sandbox/authenticate/")
    assert parse_qs(target.query)["return_to"] == [bill.url()]
    assert bill.refresh().status == Invoice.Status.OPEN
    approved = bill.client.post(response["Location"], {"outcome": "approve"})
    assert approved.status_code == 200
    assert bill.refresh().status == Invoice.Status.PAID
    [card] = _live_cards(bill)
    assert card.last4 == "3155"


@pytest.mark.parametrize(
    "data",
    [
        {"gateway": "sandbox", "reference": ""},
        {"gateway": "sandbox", "reference": "tok_sandbox_ok_made_up"},
        {"gateway": "sandbox", "reference": "x\x00"},
        {"gateway": "nope", "reference": "tok"},
        {"gateway": "sandbox", "reference": "x" * 500},
    ],
)
def test_bad_references_charge_and_save_nothing(bill: Bill, data: dict[str, str]) -> None:
    response = bill.client.post(bill.url("pay/card/"), data, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert not PaymentAttempt.objects.filter(invoice=bill.invoice).exists()
    assert _live_cards(bill) == []
    assert bill.refresh().status == Invoice.Status.OPEN


def test_a_paid_invoice_cannot_be_paid_again(bill: Bill) -> None:
    _pay(bill, "4242424242424242")
    again = _pay(bill, "4242424242424242", save=True)
    assert again.status_code == 302
    assert PaymentAttempt.objects.filter(invoice=bill.invoice).count() == 1
    assert _live_cards(bill) == []


def test_get_without_a_setup_intent_only_goes_back(bill: Bill) -> None:
    response = bill.client.get(bill.url("pay/card/"))
    assert response.status_code == 302
    assert not PaymentAttempt.objects.filter(invoice=bill.invoice).exists()


def test_another_subscribers_or_merchants_invoice_is_404(bill: Bill) -> None:
    bia = bill.w.customer("Bia")
    bia_invoice = bill.w.invoices(bill.w.subscribe(bill.w.plan("other", 5_000), bia))[0]
    with world(START, slug="globex") as b:
        gus = b.customer("Gus")
        b_invoice = b.invoices(b.subscribe(b.plan("basic", 1_000), gus))[0]
    with tenant_context(bill.w.tenant):
        for other in (bia_invoice, b_invoice):
            response = bill.client.post(
                bill.url("pay/card/", invoice=other),
                {"gateway": "sandbox", "reference": _token("4242424242424242"), "save": "1"},
            )
            assert response.status_code == 404
        assert not PaymentAttempt.objects.filter(invoice=bia_invoice).exists()
        assert not PaymentMethod.objects.filter(customer__in=[bill.ana, bia]).exists()
    assert (
        bill.client.post(f"/t/globex/invoices/{b_invoice.public_id}/pay/card/").status_code == 403
    )


def test_the_invoice_list_links_each_invoice_and_shows_its_credit_notes(bill: Bill) -> None:
    from billing.services import credit_note_issue
    from tests.support.billing import ACTOR

    note = credit_note_issue(
        tenant=bill.w.tenant,
        invoice_id=bill.invoice.pk,
        amount_minor=2_500,
        reason="Goodwill",
        actor=ACTOR,
        now=bill.w.now,
    )
    bia = bill.w.customer("Bia")
    bia_invoice = bill.w.invoices(bill.w.subscribe(bill.w.plan("other", 5_000), bia))[0]
    credit_note_issue(
        tenant=bill.w.tenant,
        invoice_id=bia_invoice.pk,
        amount_minor=100,
        reason="Hers",
        actor=ACTOR,
        now=bill.w.now,
    )
    body = bill.client.get(f"/t/{bill.w.tenant.slug}/invoices/").content.decode()
    assert f'href="{bill.url()}"' in body
    assert f'data-credit-note="{note.public_id}"' in body
    assert body.count("data-credit-note=") == 1  # only the subscriber's own
    assert 'data-testid="pay-link"' in body  # open, nothing waiting: pay on its page
    assert bia_invoice.public_id not in body
