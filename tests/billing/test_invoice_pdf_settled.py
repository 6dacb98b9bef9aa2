"""A paid invoice's PDF does not ask for money, and tax ids print with their mask."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from billing.services import invoice_mark_paid
from tests.support.billing import ACTOR, utc, world


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"[\s\u00a0\u202f]+", " ", " ".join(p.extract_text() or "" for p in reader.pages))


def test_paid_invoice_shows_what_was_paid_and_nothing_to_pay(db: None) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        customer = w.customer("Ana Souza")
        customer.tax_id = "12345678909"  # as an integrator may store it: digits only
        customer.locale = "pt-br"
        customer.save()
        sub = w.subscribe(w.plan(amount=2_990), customer=customer)
        [invoice] = w.invoices(sub)
        open_text = _text(render_invoice_pdf(invoice=invoice))
        invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        paid = Invoice.objects.select_related("tenant", "customer").get(pk=invoice.pk)
        paid_text = _text(render_invoice_pdf(invoice=paid))

    assert "Valor a pagar R$ 29,90" in open_text
    assert "Valor pago" not in open_text
    assert "Valor pago R$ 29,90" in paid_text
    assert "Valor a pagar" not in paid_text
    assert "Paga em 10 de mar. de 2026" in paid_text  # and when it was paid
    assert "Paga em" not in open_text
    for text in (open_text, paid_text):
        assert "123.456.789-09" in text
        assert "12345678909" not in text
