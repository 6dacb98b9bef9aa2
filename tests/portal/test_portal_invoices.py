"""One invoice in the portal (issue 14, portal item 4): detail with lines,
taxes, payments and credit notes; paying an open invoice now with a chosen
card, 3-D Secure through the issuer's page and back; isolation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from billing.models import Invoice, PaymentAttempt
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_token
from tenants.context import tenant_context
from tests.support.billing import World, utc, world

START = utc(2026, 3, 10, 12)


def _enter(customer: Customer, slug: str) -> Client:
    client = Client()
    assert client.get(f"/t/{slug}/enter/{portal_token(customer)}/").status_code == 302
    return client


def _card(w: World, customer: Customer, token: str, last4: str) -> PaymentMethod:
    return PaymentMethod.objects.create(
        tenant=w.tenant,
        customer=customer,
        kind="card",
        gateway="sandbox",
        token=token,
        brand="visa",
        last4=last4,
    )


@dataclass
class Bill:
    w: World
    ana: Customer
    invoice: Invoice
    client: Client

    def url(self, name: str = "", invoice: Invoice | None = None) -> str:
        return f"/t/{self.w.tenant.slug}/invoices/{(invoice or self.invoice).public_id}/{name}"

    def refresh(self) -> Invoice:
        return Invoice.objects.get(pk=self.invoice.pk)


@pytest.fixture
def bill(transactional_db: None) -> Iterator[Bill]:
    with world(START) as w:
        tax = w.tax("5")
        plan = w.plan("basic", 10_000, tax_rate=tax)
        ana = w.customer("Ana")
        sub = w.subscribe(plan, ana)
        [invoice] = w.invoices(sub)
        assert invoice.status == Invoice.Status.OPEN
        yield Bill(w, ana, invoice, _enter(ana, w.tenant.slug))


def test_detail_shows_lines_taxes_and_the_amount_due(bill: Bill) -> None:
    page = bill.client.get(bill.url())
    assert page.status_code == 200
    body = page.content.decode()
    assert bill.invoice.total_minor == 10_500
    assert page.context["invoice"].amount_due_minor == 10_500
    assert [line.total_minor for line in page.context["lines"]] == [10_500]
    assert 'data-testid="pay-now"' in body


def test_pay_now_with_a_chosen_card(bill: Bill) -> None:
    _card(bill.w, bill.ana, "tok_default", "1111")
    chosen = _card(bill.w, bill.ana, "tok_chosen", "4242")
    response = bill.client.post(bill.url("pay/"), {"payment_method": chosen.public_id})
    assert response.status_code == 302
    invoice = bill.refresh()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.amount_paid_minor == 10_500
    [attempt] = PaymentAttempt.objects.filter(invoice=invoice)
    assert attempt.payment_method_id == chosen.pk
    assert attempt.amount_minor == 10_500


def test_pay_now_with_3d_secure_goes_to_the_issuer_and_back(bill: Bill) -> None:
    card = _card(bill.w, bill.ana, "tok_sandbox_authenticate_1", "3155")
    response = bill.client.post(bill.url("pay/"), {"payment_method": card.public_id})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path.startswith("/sandbox/authenticate/")
    assert parse_qs(target.query)["return_to"] == [bill.url()]
    assert bill.refresh().status == Invoice.Status.OPEN
    approved = bill.client.post(response["Location"], {"outcome": "approve"})
    assert approved.status_code == 200
    assert approved.context["return_to"] == bill.url()
    assert bill.refresh().status == Invoice.Status.PAID


def test_a_declined_card_shows_the_reason_and_leaves_the_invoice_open(bill: Bill) -> None:
    card = _card(bill.w, bill.ana, "tok_sandbox_card_declined_1", "0002")
    response = bill.client.post(bill.url("pay/"), {"payment_method": card.public_id}, follow=True)
    assert response.status_code == 200
    assert bill.refresh().status == Invoice.Status.OPEN
    assert any("declined" in str(m) for m in response.context["messages"])


@pytest.mark.parametrize("value", ["", "pm_nope", "pm_x\x00", "1"])
def test_pay_with_no_card_or_a_bad_id_charges_nothing(bill: Bill, value: str) -> None:
    _card(bill.w, bill.ana, "tok_ok", "4242")
    response = bill.client.post(bill.url("pay/"), {"payment_method": value})
    assert response.status_code == 302
    assert not PaymentAttempt.objects.filter(invoice=bill.invoice).exists()


def test_other_subscribers_and_merchants_invoices_and_cards(bill: Bill) -> None:
    bia = bill.w.customer("Bia")
    bia_card = _card(bill.w, bia, "tok_bia", "7777")
    bia_invoice = bill.w.invoices(bill.w.subscribe(bill.w.plan("other", 5_000), bia))[0]
    with world(START, slug="globex") as b:
        gus = b.customer("Gus")
        b_card = _card(b, gus, "tok_gus", "8888")
        b_invoice = b.invoices(b.subscribe(b.plan("basic", 1_000), gus))[0]
    with tenant_context(bill.w.tenant):
        for other in (bia_invoice, b_invoice):
            assert bill.client.get(bill.url(invoice=other)).status_code == 404
            assert (
                bill.client.post(
                    bill.url("pay/", invoice=other), {"payment_method": bia_card.public_id}
                ).status_code
                == 404
            )
        # Someone else's card cannot pay even the subscriber's own invoice.
        for card in (bia_card, b_card):
            bill.client.post(bill.url("pay/"), {"payment_method": card.public_id})
        assert not PaymentAttempt.objects.filter(invoice=bill.invoice).exists()
        assert not PaymentAttempt.objects.filter(invoice=bia_invoice).exists()
    assert bill.client.get(f"/t/globex/invoices/{b_invoice.public_id}/").status_code == 403


def test_the_sandbox_return_link_stays_on_this_site(bill: Bill) -> None:
    card = _card(bill.w, bill.ana, "tok_sandbox_authenticate_2", "3155")
    location = bill.client.post(bill.url("pay/"), {"payment_method": card.public_id})["Location"]
    path = urlsplit(location).path
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = bill.client.get(path, {"return_to": bad})
        assert page.context["return_to"] == ""


def test_billing_history_is_paginated_and_only_the_subscribers_own(bill: Bill) -> None:
    from portal.invoice_views import HISTORY_PAGE_SIZE

    plan = bill.w.plan("extra", 1_000)
    for _ in range(HISTORY_PAGE_SIZE):
        bill.w.subscribe(plan, bill.ana)
    bia = bill.w.customer("Bia")
    bia_invoice = bill.w.invoices(bill.w.subscribe(plan, bia))[0]
    url = f"/t/{bill.w.tenant.slug}/invoices/history/"
    first = bill.client.get(url)
    second = bill.client.get(url, {"page": "2"})
    seen = [i.public_id for i in first.context["page"].object_list] + [
        i.public_id for i in second.context["page"].object_list
    ]
    own = set(
        Invoice.objects.filter(customer=bill.ana)
        .exclude(status="draft")
        .values_list("public_id", flat=True)
    )
    assert len(seen) == len(own) == HISTORY_PAGE_SIZE + 1
    assert set(seen) == own
    assert bia_invoice.public_id not in seen
    # Garbage page numbers land on a real page, never an error.
    for bad in ("0", "-1", "x\x00", str(10**9)):
        assert bill.client.get(url, {"page": bad}).status_code == 200
