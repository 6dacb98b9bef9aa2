"""Credit notes on the dashboard and in their PDF: subtotal, discount and tax beside the
total; another tenant's credit note is a 404."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import translation

from billing import services as billing
from billing.models import CreditNote
from billing.pdf import render_credit_note_html
from billing.taxes import tax_rate_create
from core import clock
from core.money import Money
from tenants.context import tenant_context
from tests.conftest import TenantSetup
from tests.dashboard.helpers import signed_in
from tests.support.billing import ACTOR

pytestmark = pytest.mark.django_db


def _taxed_note(setup: TenantSetup) -> CreditNote:
    """R$150 + ISS 10% (16500) and R$50 untaxed; R$107.50 credited: 7500 + 750 tax, 2500."""
    from customers.services import customer_create

    t, now = setup.tenant, clock.now()
    with tenant_context(t):
        rate = tax_rate_create(tenant=t, name="ISS", percent=Decimal(10), actor=ACTOR, now=now)
        customer = customer_create(tenant=t, name="Ana", actor=ACTOR, now=now)
        draft = billing.invoice_draft_create(
            tenant=t,
            customer=customer,
            currency="BRL",
            lines=[
                billing.ManualLine("Consulting", 15_000, tax_rate_id=rate.pk),
                billing.ManualLine("Setup", 5_000),
            ],
            actor=ACTOR,
            now=now,
        )
        invoice = billing.invoice_finalize(tenant=t, invoice_id=draft.pk, actor=ACTOR, now=now)
        return billing.credit_note_issue(
            tenant=t,
            invoice_id=invoice.pk,
            amount_minor=10_750,
            reason="Half",
            actor=ACTOR,
            now=now,
        )


def _cell(html: str, note: CreditNote, testid: str) -> str:
    row = re.search(rf'data-testid="credit-note-{note.public_id}">(.*?)</tr>', html, re.S)
    assert row is not None, html[:2000]
    cell = re.search(rf'data-testid="{testid}">([^<]*)<', row[1])
    assert cell is not None, row[1]
    return cell[1]


def _brl(minor: int) -> str:
    return Money(minor, "BRL").format("en")


def test_the_list_and_the_invoice_page_show_the_three_amounts(acme: TenantSetup) -> None:
    note = _taxed_note(acme)
    client = signed_in("owner@acme.example")

    with translation.override("en"):
        pages = [
            client.get("/dashboard/credit-notes/", HTTP_ACCEPT_LANGUAGE="en").content.decode(),
            client.get(
                f"/dashboard/invoices/{note.invoice.public_id}/", HTTP_ACCEPT_LANGUAGE="en"
            ).content.decode(),
        ]

    for html in pages:
        got = {
            k: _cell(html, note, k) for k in ("cn-subtotal", "cn-discount", "cn-tax", "cn-total")
        }
        assert got == {
            "cn-subtotal": _brl(10_000),
            "cn-discount": _brl(0),
            "cn-tax": _brl(750),
            "cn-total": _brl(10_750),
        }


def test_the_pdf_shows_the_three_amounts(acme: TenantSetup) -> None:
    note = _taxed_note(acme)
    client = signed_in("owner@acme.example")

    response = client.get(f"/dashboard/credit-notes/{note.public_id}/pdf/")
    with tenant_context(acme.tenant):
        found = CreditNote.objects.select_related("invoice__tenant").get(pk=note.pk)
        html = render_credit_note_html(note=found)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    sums = {
        k: re.search(rf'data-testid="{k}"><th>[^<]*</th><td>([^<]*)</td>', html)
        for k in ("cn-subtotal", "cn-tax", "cn-total")
    }
    # In the document's language (the customer's, else the tenant's): the centavos exactly.
    assert {k: int(re.sub(r"\D", "", m[1])) if m else None for k, m in sums.items()} == {
        "cn-subtotal": 10_000,
        "cn-tax": 750,
        "cn-total": 10_750,
    }
    assert 'data-testid="cn-discount"' not in html  # no discount on this note
    assert re.search(r"R\$\s?7[.,]50 \(10%\)", html)  # the taxed line's tax and its rate


def test_another_tenants_credit_note_pdf_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _taxed_note(globex)
    client = signed_in("owner@acme.example")

    by_id = client.get(f"/dashboard/credit-notes/{theirs.public_id}/pdf/")
    by_number = client.get(f"/dashboard/credit-notes/{theirs.number}/pdf/")

    assert (by_id.status_code, by_number.status_code) == (404, 404)
