"""The printable boleto: a payer's receipt and the "ficha de compensação", by WeasyPrint.

Takes plain data (``BoletoData`` and three strings), so the gateway, the portal
and a test can all print one without models. The labels are the Portuguese
ones FEBRABAN prescribes, whatever the reader's language: a boleto is a Brazilian
bank document, read by bank staff and lottery clerks.

The barcode is Interleaved 2 of 5 (ITF) of the 44 digits: the bar/space pattern
comes from python-barcode's ITF encoder (narrow 1, wide 3 modules), drawn here
as an SVG of plain rectangles sized to FEBRABAN's 103 x 13 mm, so the module is
0.254 mm, and embedded as a ``data:`` URI like every other resource of our PDFs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.template.loader import render_to_string

from billing.domain.boleto import BoletoData
from billing.pdf import data_uris_only
from core.money import Money
from customers.domain.taxid import normalize_tax_id

BARCODE_WIDTH_MM = 103
BARCODE_HEIGHT_MM = 13
NARROW = 1
WIDE = 3

_BANK_NAMES = {
    "001": "Banco do Brasil",
    "033": "Santander",
    "104": "Caixa",
    "237": "Bradesco",
    "341": "Itaú",
    "748": "Sicredi",
    "756": "Sicoob",
}


def itf_modules(digits: str) -> str:
    """The ITF pattern of ``digits`` as modules: ``1`` a bar, ``0`` a space."""
    from barcode.itf import ITF  # python-barcode

    if not (digits.isdigit() and digits.isascii() and len(digits) % 2 == 0):
        raise ValueError("ITF encodes an even number of digits.")
    return ITF(digits, narrow=NARROW, wide=WIDE).build()[0]


def itf_svg(digits: str) -> str:
    """An SVG of the ITF barcode: one rectangle per bar, in module units, no text."""
    modules = itf_modules(digits)
    rects: list[str] = []
    start = None
    for x, module in enumerate(f"{modules}0"):
        if module == "1" and start is None:
            start = x
        elif module == "0" and start is not None:
            rects.append(f'<rect x="{start}" y="0" width="{x - start}" height="1"/>')
            start = None
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{BARCODE_WIDTH_MM}mm" height="{BARCODE_HEIGHT_MM}mm" '
        f'viewBox="0 0 {len(modules)} 1" preserveAspectRatio="none" '
        'shape-rendering="crispEdges">'
        f'<g fill="#000">{"".join(rects)}</g></svg>'
    )


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def bank_code_with_digit(bank_code: str) -> str:
    """``341-7``: the bank code and its mod-11 digit as printed on every slip."""
    total = sum(int(c) * w for c, w in zip(reversed(bank_code), (2, 3, 4), strict=True))
    digit = 11 - total % 11
    return f"{bank_code}-{0 if digit >= 10 else digit}"


@dataclass(frozen=True, slots=True)
class _Slip:
    bank_name: str
    bank_code: str
    linha: str
    due_on: str
    amount: str
    our_number: str
    agreement: str
    document_number: str
    issued_on: str
    beneficiary: str
    payer_name: str
    payer_tax_id: str
    payer_tax_label: str
    instructions: tuple[str, ...]
    barcode_uri: str
    barcode_digits: str
    pix_payload: str  # bolepix: the Pix copy-and-paste code, or ""
    pix_qr_uri: str


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _context(
    boleto: BoletoData, tenant_name: str, payer_name: str, payer_tax_id: str, pix_payload: str = ""
) -> dict[str, Any]:
    tax_id = normalize_tax_id(payer_tax_id)
    barcode = boleto.barcode
    digits = barcode.digits
    slip = _Slip(
        bank_name=_BANK_NAMES.get(barcode.bank_code, f"Banco {barcode.bank_code}"),
        bank_code=bank_code_with_digit(barcode.bank_code),
        linha=barcode.formatted_linha_digitavel,
        due_on=_day(boleto.due_date),
        amount=Money(boleto.amount_minor, "BRL").format("pt-BR"),
        our_number=boleto.our_number,
        agreement=boleto.agreement,
        document_number=boleto.document_number,
        issued_on=_day(boleto.issued_on),
        beneficiary=tenant_name,
        payer_name=payer_name,
        payer_tax_id=tax_id.formatted,
        payer_tax_label=tax_id.kind.upper(),
        instructions=boleto.instructions,
        barcode_uri=_svg_data_uri(itf_svg(digits)),
        barcode_digits=digits,
        pix_payload=pix_payload,
        pix_qr_uri=_pix_qr_uri(pix_payload) if pix_payload else "",
    )
    return {"slip": slip}


def _pix_qr_uri(payload: str) -> str:
    """The bolepix QR code as a PNG ``data:`` URI (a raster image a scanner reads
    off paper; the payload is checked, CRC included, before it is drawn)."""
    from billing.domain.pix import pix_qr_png

    return "data:image/png;base64," + base64.b64encode(pix_qr_png(payload)).decode("ascii")


def render_boleto_html(
    *,
    boleto: BoletoData,
    tenant_name: str,
    payer_name: str,
    payer_tax_id: str,
    pix_payload: str = "",
) -> str:
    return render_to_string(
        "billing/boleto_pdf.html",
        _context(boleto, tenant_name, payer_name, payer_tax_id, pix_payload),
    )


def render_boleto_pdf(
    *,
    boleto: BoletoData,
    tenant_name: str,
    payer_name: str,
    payer_tax_id: str,
    pix_payload: str = "",
) -> bytes:
    """The slip as PDF bytes; raises ``ValidationFailed`` for a bad payer tax id.
    With ``pix_payload`` (a bolepix) it also prints the Pix QR code and its
    copy-and-paste code: either rail pays the same amount."""
    from weasyprint import HTML  # imported late: it loads Pango on import

    html = render_boleto_html(
        boleto=boleto,
        tenant_name=tenant_name,
        payer_name=payer_name,
        payer_tax_id=payer_tax_id,
        pix_payload=pix_payload,
    )
    return HTML(string=html, url_fetcher=data_uris_only()).write_pdf()
