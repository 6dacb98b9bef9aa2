"""Invoice PDFs: an HTML template rendered by WeasyPrint.

Everything on the page is in the customer's language (``customer.locale``, else
the tenant's): labels through gettext, money through ``Money.format`` and dates
through Babel, in the tenant's time zone. WeasyPrint may fetch nothing but
``data:`` URIs, so a document can never reach the network or the disk.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from django.template.loader import render_to_string
from django.utils import translation

from billing.labels import line_label
from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from core.errors import ValidationFailed
from core.money import Money
from customers.domain.taxid import format_tax_id
from tenants.models import Tenant

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_PRIMARY = "#1f6feb"
_DEFAULT_ACCENT = "#0e9f6e"
_LOGO_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class _Row:
    description: str
    period: str
    quantity: int
    amount: str
    discount: str
    tax: str
    total: str


def document_language(invoice: Invoice) -> str:
    """The customer's language, else the tenant's."""
    return invoice.customer.locale or invoice.tenant.locale or "en"


def render_invoice_pdf(*, invoice: Invoice) -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango on import

    html = render_invoice_html(invoice=invoice)
    return HTML(string=html, url_fetcher=data_uris_only()).write_pdf()


def render_invoice_html(*, invoice: Invoice) -> str:
    language = document_language(invoice)
    with translation.override(language):
        return render_to_string("billing/invoice_pdf.html", _context(invoice, language))


def _context(invoice: Invoice, language: str) -> dict[str, Any]:
    tenant: Tenant = invoice.tenant
    customer: Any = invoice.customer
    if invoice.customer_snapshot:
        # The customer as this invoice was issued to (kept when their row was erased).
        held = invoice.customer_snapshot
        customer = SimpleNamespace(
            name=held.get("name", ""), email=customer.email, tax_id=held.get("tax_id", "")
        )
    babel_locale = translation.to_locale(language)  # pt-br -> pt_BR
    tz = ZoneInfo(tenant.time_zone)

    def money(minor: int) -> str:
        return Money(minor, invoice.currency).format(language)

    def day(value: datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value.astimezone(tz).date(), format="medium", locale=babel_locale)

    def period(start: datetime | None, end: datetime | None) -> str:
        if start is None and end is None:
            return ""
        return f"{day(start)} – {day(end)}"

    lines: list[InvoiceLine] = list(invoice.lines.all())
    rows = [
        _Row(
            description=line_label(line),
            period=period(line.period_start, line.period_end),
            quantity=line.quantity,
            amount=money(line.amount_minor),
            discount=money(-line.discount_minor) if line.discount_minor else "—",
            tax=_tax_label(line, money) if line.tax_minor else "—",
            total=money(line.total_minor),
        )
        for line in lines
    ]
    return {
        "invoice": invoice,
        "tenant": tenant,
        "customer": customer,
        "language": language,
        "primary_color": _color(tenant.primary_color, _DEFAULT_PRIMARY),
        "accent_color": _color(tenant.accent_color, _DEFAULT_ACCENT),
        "logo_uri": _logo_data_uri(tenant),
        "status_label": invoice.get_status_display(),
        "issued_on": day(invoice.issued_at),
        "due_on": day(invoice.due_at),
        "paid_on": day(invoice.paid_at),
        "service_period": period(invoice.period_start, invoice.period_end),
        "rows": rows,
        "subtotal": money(invoice.subtotal_minor),
        "discount": money(-invoice.discount_minor) if invoice.discount_minor else "",
        "tax": money(invoice.tax_minor) if invoice.tax_minor else "",
        "total": money(invoice.total_minor),
        "credit_applied": (
            money(-invoice.credit_applied_minor) if invoice.credit_applied_minor else ""
        ),
        "amount_paid": money(invoice.amount_paid_minor) if invoice.amount_paid_minor else "",
        # What is still to pay: nothing on a paid or void invoice (the old "amount due" of a
        # paid invoice read as a demand for payment).
        "settled": invoice.status in (Invoice.Status.PAID, Invoice.Status.VOID),
        "amount_due": money(max(0, invoice.amount_due_minor - invoice.amount_paid_minor)),
        "tax_id": _tax_id(customer.tax_id),
        "installments": [
            {
                "number": part.number,
                "due": day(part.due_at),
                "amount": money(part.amount_minor),
                "status": part.get_status_display(),
            }
            for part in invoice.installments.all()
        ],
        "has_discounts": any(line.discount_minor for line in lines),
        "has_taxes": any(line.tax_minor for line in lines),
    }


def _tax_id(raw: str) -> str:
    """CPF/CNPJ with their mask (123.456.789-09); anything else as the customer gave it."""
    try:
        return format_tax_id(raw) if raw else ""
    except ValidationFailed:
        return raw


def _tax_label(line: InvoiceLine | CreditNoteLine, money: Any) -> str:
    amount = money(line.tax_minor)
    if line.tax_percent is None:
        return amount
    percent = f"{line.tax_percent.normalize():f}"
    return f"{amount} ({percent}%)"


def _color(value: str, default: str) -> str:
    """Colours go into CSS: only ``#rrggbb`` gets through, whatever the row holds."""
    return value if value and _COLOR.match(value) else default


def _logo_data_uri(tenant: Tenant) -> str:
    if not tenant.logo:
        return ""
    mime = mimetypes.guess_type(tenant.logo.name)[0] or ""
    if not mime.startswith("image/"):
        return ""
    try:
        with tenant.logo.open("rb") as fh:
            data = fh.read(_LOGO_MAX_BYTES + 1)
    except OSError:
        return ""  # a missing file must not stop the invoice
    if len(data) > _LOGO_MAX_BYTES:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def data_uris_only() -> Any:
    """A fetcher refusing everything but ``data:`` (no SSRF, no local files)."""
    try:  # WeasyPrint >= 66
        from weasyprint import URLFetcher

        return URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    except ImportError:  # WeasyPrint 62-65
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"Invoice PDFs fetch no external resources: {url[:60]}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch


# --- credit notes -------------------------------------------------------------------------


def render_credit_note_pdf(*, note: CreditNote) -> bytes:
    from weasyprint import HTML

    html = render_credit_note_html(note=note)
    return HTML(string=html, url_fetcher=data_uris_only()).write_pdf()


def render_credit_note_html(*, note: CreditNote) -> str:
    """The credit note beside the invoice it credits: its lines with amount, discount
    and tax, then subtotal, discount, tax and total, in the invoice's language."""
    invoice = note.invoice
    language = document_language(invoice)
    with translation.override(language):
        base = _context(invoice, language)
        tz = ZoneInfo(invoice.tenant.time_zone)
        babel_locale = translation.to_locale(language)

        def money(minor: int) -> str:
            return Money(minor, note.currency).format(language)

        def day(value: datetime | None) -> str:
            if value is None:
                return ""
            return format_date(value.astimezone(tz).date(), format="medium", locale=babel_locale)

        lines = list(note.lines.all())
        rows = [
            _Row(
                description=line.description,
                period=(
                    f"{day(line.period_start)} – {day(line.period_end)}"
                    if line.period_start or line.period_end
                    else ""
                ),
                quantity=1,
                amount=money(line.amount_minor),
                discount=money(-line.discount_minor) if line.discount_minor else "—",
                tax=_tax_label(line, money) if line.tax_minor else "—",
                total=money(line.total_minor),
            )
            for line in lines
        ]
        context = {
            **{k: base[k] for k in ("tenant", "customer", "language", "tax_id", "logo_uri")},
            **{k: base[k] for k in ("primary_color", "accent_color")},
            "note": note,
            "invoice": invoice,
            "issued_on": day(note.issued_at),
            "rows": rows,
            "subtotal": money(note.subtotal_minor),
            "discount": money(-note.discount_minor) if note.discount_minor else "",
            "tax": money(note.tax_minor) if note.tax_minor else "",
            "total": money(note.total_minor),
        }
        return render_to_string("billing/credit_note_pdf.html", context)
