"""The invoice PDF: rendered from invoices made by the real services, read back
with pypdf, in the customer's language and the tenant's time zone."""

from __future__ import annotations

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from billing import coupons as billing_coupons
from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from core.money import Money
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.support.billing import ACTOR, World, utc, world

# 02:00 UTC on Jan 16 is still Jan 15 in São Paulo: dates print in the tenant's zone.
START = utc(2026, 1, 16, 2)


def _text(pdf: bytes) -> str:
    """The PDF's text, with every run of (non-breaking) spaces made one space."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def _money(minor: int, currency: str, language: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", Money(minor, currency).format(language))


def _first_invoice(w: World, *, locale: str, currency: str, amount: int, **plan_kw) -> Invoice:
    plan = w.plan(code=f"pro-{currency.lower()}", amount=amount, currency=currency, **plan_kw)
    customer = w.customer("Ana Souza")
    customer.email = "ana@example.com"
    customer.tax_id = "123.456.789-09"
    customer.locale = locale
    customer.save()
    sub = w.subscribe(plan, customer=customer)
    [invoice] = w.invoices(sub)
    return Invoice.objects.select_related("tenant", "customer").get(pk=invoice.pk)


def _dump(name: str, pdf: bytes) -> None:
    """CICLO_ARTIFACTS_DIR=test-artifacts keeps the PDFs to look at."""
    if target := os.environ.get("CICLO_ARTIFACTS_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(pdf)


def test_an_english_invoice_reads_back_with_its_facts(db: None) -> None:
    with world(START, support_email="help@acme.example", support_phone="+1 555 0100") as w:
        invoice = _first_invoice(w, locale="en", currency="USD", amount=9_990)
        line = invoice.lines.get()
        pdf = render_invoice_pdf(invoice=invoice)

    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert invoice.number
    assert invoice.number in text
    assert "Acme" in text
    assert "Ana Souza" in text
    assert "ana@example.com" in text
    assert "123.456.789-09" in text
    assert line.description in text
    assert "$99.90" in text
    assert "Amount due" in text
    assert "INVOICE" in text  # the title is upper-cased by CSS
    assert "Email:" in text
    assert "Support: help@acme.example" in text
    assert "OPEN" in text  # the status badge
    # Issue and due dates in the tenant's time zone (São Paulo), not UTC.
    assert "Jan 15, 2026" in text
    assert "Jan 16, 2026" not in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_a_portuguese_customer_gets_portuguese_labels_money_and_dates(db: None) -> None:
    with world(START, support_email="ajuda@acme.example") as w:
        invoice = _first_invoice(w, locale="pt-br", currency="BRL", amount=9_990)
        pdf = render_invoice_pdf(invoice=invoice)

    text = _text(pdf)
    assert invoice.number in text
    assert "R$ 99,90" in text
    assert "$99.90" not in text
    assert "15 de jan. de 2026" in text
    assert "Jan 15, 2026" not in text
    # Labels the compiled catalog translates today (Django's "Email", our "Support").
    assert "E-mail:" in text
    assert "Suporte: ajuda@acme.example" in text
    assert "Email:" not in text
    # Every other label goes through gettext: whatever the catalog says is printed.
    with translation.override("pt-br"):
        labels = [gettext(s) for s in ("Invoice", "Amount due", "Subtotal", "Bill to")]
    for label in labels:
        assert label.upper() in text.upper()


def test_without_a_customer_language_the_tenant_language_is_used(db: None) -> None:
    with world(START) as w:
        Tenant.objects.filter(pk=w.tenant.pk).update(locale="en")
        invoice = _first_invoice(w, locale="", currency="BRL", amount=9_990)
        text = _text(render_invoice_pdf(invoice=invoice))

    assert "R$99.90" in text
    assert "Jan 15, 2026" in text


def test_a_yen_invoice_has_no_decimals(db: None) -> None:
    with world(START) as w:
        invoice = _first_invoice(w, locale="en", currency="JPY", amount=1_200)
        text = _text(render_invoice_pdf(invoice=invoice))

    assert invoice.total_minor == 1_200
    assert "¥1,200" in text
    assert "1,200.00" not in text
    assert "12.00" not in text


def test_discount_tax_and_setup_fee_rows_and_totals(db: None) -> None:
    with world(START, support_email="help@acme.example", support_phone="+55 11 4000-0000") as w:
        billing_coupons.coupon_create(
            tenant=w.tenant, code="WELCOME10", percent_off=Decimal(10), actor=ACTOR, now=w.now
        )
        plan = w.plan(
            code="team",
            name="Team plan",
            amount=19_900,
            setup_fee_minor=5_000,
            tax_rate=w.tax("5"),
            pricing_model="per_seat",
        )
        customer = w.customer("Bruno Lima")
        customer.locale = "pt-br"
        customer.save()
        sub = w.subscribe(plan, customer=customer, quantity=3, coupon="WELCOME10")
        [invoice] = w.invoices(sub)
        lines = list(invoice.lines.all())
        pdf = render_invoice_pdf(invoice=invoice)
    _dump("invoice-pt-br.pdf", pdf)

    text = _text(pdf)
    assert len(lines) >= 2
    assert invoice.discount_minor > 0
    assert invoice.tax_minor > 0
    for line in lines:
        assert line.description in text
        assert _money(line.total_minor, "BRL", "pt-br") in text
    for minor in (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor):
        assert _money(minor, "BRL", "pt-br") in text
    assert _money(-invoice.discount_minor, "BRL", "pt-br") in text
    assert _money(invoice.amount_due_minor, "BRL", "pt-br") in text


def test_the_logo_is_embedded_and_markup_in_names_stays_text(
    db: None, settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from PIL import Image

    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    png = io.BytesIO()
    Image.new("RGB", (120, 40), "#1f6feb").save(png, format="PNG")
    with world(START) as w:
        w.tenant.logo.save("acme.png", ContentFile(png.getvalue()), save=True)
        plan = w.plan(amount=9_990)
        customer = w.customer("<b>Eve</b> & Co")
        sub = w.subscribe(plan, customer=customer)
        [invoice] = w.invoices(sub)
        pdf = render_invoice_pdf(invoice=Invoice.objects.get(pk=invoice.pk))

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert len(page.images) == 1
    assert "<b>Eve</b> & Co" in _text(pdf)


# --- The staff view


def _invoice_of(slug: str) -> tuple[object, int, str]:
    """An invoice of a fresh tenant ``slug``, and that tenant's owner."""
    with world(START, slug=slug) as w:
        invoice = _first_invoice(w, locale="en", currency="BRL", amount=9_990)
    owner = get_user_model().objects.get(email=f"owner@{slug}.example")
    return owner, invoice.pk, invoice.number or ""


def test_the_owner_gets_the_pdf_inline(db: None) -> None:
    user, invoice_id, number = _invoice_of("acme")
    client = Client()
    client.force_login(user)

    response = client.get(reverse("billing:invoice_pdf", args=[invoice_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{number}.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert number in _text(response.content)


def test_another_tenants_staff_get_404(db: None) -> None:
    _, invoice_id, _ = _invoice_of("acme")
    globex = make_tenant("globex")
    client = Client()
    client.force_login(globex.owner)

    response = client.get(reverse("billing:invoice_pdf", args=[invoice_id]))

    assert response.status_code == 404


def test_anonymous_users_are_sent_to_log_in(db: None) -> None:
    _, invoice_id, _ = _invoice_of("acme")

    response = Client().get(reverse("billing:invoice_pdf", args=[invoice_id]))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
