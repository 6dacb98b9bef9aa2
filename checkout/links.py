"""The shareable link to a plan's hosted checkout, and its QR code (SVG, drawn
on our side with segno: no third-party image service sees the link)."""

from __future__ import annotations

import io

import segno
from django.http import HttpRequest
from django.urls import reverse

from checkout.models import PriceTable
from subscriptions.models import Plan


def hosted_url(request: HttpRequest, plan: Plan) -> str:
    return request.build_absolute_uri(
        reverse(
            "checkout:hosted",
            kwargs={"tenant_slug": plan.tenant.slug, "plan_id": plan.public_id},
        )
    )


def price_table_url(request: HttpRequest, table: PriceTable) -> str:
    return request.build_absolute_uri(
        reverse(
            "checkout:price_table",
            kwargs={"tenant_slug": table.tenant.slug, "table_id": table.public_id},
        )
    )


def qr_svg(url: str, *, scale: int = 4) -> str:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, svgclass="qr", title=url
    )
    return out.getvalue().decode("utf-8")
