"""Fulfilment on the dashboard (issue 17): the boxes paid periods of a
``ships_goods`` plan send, packed in bulk, shipped with a tracking code,
delivered or canceled, and a packing list of the filtered orders (CSV / PDF).

Thin views over ``billing.fulfilment`` (the same services as the API). Orders
are named by public id in the POST body and looked up inside the tenant, so
another tenant's order is a 404."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from billing.fulfilment import (
    fulfilment_cancel,
    fulfilment_deliver,
    fulfilment_list,
    fulfilment_pack_many,
    fulfilment_ship,
)
from billing.models import FulfilmentOrder, FulfilmentStatus
from billing.pdf import data_uris_only
from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.domain.address import address_lines as domain_address_lines
from dashboard.keyset import keyset_page
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

EXPORT_MAX = 2_000  # a packing list is one day's boxes, not the archive

_MESSAGES: dict[str, Any] = {
    "fulfilment_transition": _("This order cannot move to that status any more."),
    "tracking_code": _("Enter the tracking code (at most 100 characters, no control characters)."),
    "carrier": _("The carrier is at most 60 characters, with no control characters."),
    "orders": _("Choose at least one order (at most 200)."),
}


def _status(request: StaffRequest) -> str:
    status = request.GET.get("status", "")
    return status if status in FulfilmentStatus.values else ""


def address_lines(address: object) -> list[str]:
    """The shipping address as the lines on a label: the customer's own address
    lines (``customers.domain.address``), CEP written 01310-100."""
    return domain_address_lines(address) if isinstance(address, dict) else []


def _cell(value: object) -> object:
    """Text a subscriber typed (name, address) never runs as a spreadsheet formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _row(order: FulfilmentOrder) -> dict[str, Any]:
    return {
        "order": order,
        "address": address_lines(order.shipping_address),
        "items": [line for line in order.items.splitlines() if line.strip()],
    }


def _list(
    request: StaffRequest, *, errors: dict[str, dict[str, str]] | None = None, status: int = 200
) -> HttpResponse:
    current = _status(request)
    page = keyset_page(
        fulfilment_list(tenant=request.tenant, status=current or None),
        after=request.GET.get("after"),
    )
    errors = errors or {}
    rows = []
    for order in page.rows:
        row = _row(order)
        row["errors"] = errors.get(order.public_id, {})
        row["values"] = request.POST if order.public_id == request.POST.get("order") else {}
        rows.append(row)
    query = urlencode({"status": current}) if current else ""
    return render(
        request,
        "dashboard/fulfilment/list.html",
        {
            "rows": rows,
            "next_cursor": page.next_cursor,
            "status": current,
            "statuses": FulfilmentStatus.choices,
            "query": query,
            "bulk_error": errors.get("", {}).get("orders", ""),
            "can_manage": request.membership.has_perm(Perm.BILLING_MANAGE),
        },
        status=status,
    )


def _back(request: StaffRequest) -> HttpResponse:
    status = request.POST.get("status", "")
    url = reverse("dashboard:fulfilment")
    if status in FulfilmentStatus.values:
        url = f"{url}?{urlencode({'status': status})}"
    return redirect(url)


def _order(request: StaffRequest) -> FulfilmentOrder:
    ref = request.POST.get("order", "")
    found = FulfilmentOrder.objects.filter(tenant=request.tenant, public_id=ref).first()
    if found is None:
        raise Http404
    return found


def _message(exc: DomainError) -> str:
    key = exc.code if exc.code in _MESSAGES else (exc.param or "")
    return str(_MESSAGES.get(key, exc.message))


@staff_view(Perm.BILLING_VIEW)
def fulfilment(request: StaffRequest) -> HttpResponse:
    return _list(request)


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def fulfilment_pack(request: StaffRequest) -> HttpResponse:
    refs = request.POST.getlist("orders")
    found = dict(
        FulfilmentOrder.objects.filter(tenant=request.tenant, public_id__in=refs).values_list(
            "public_id", "pk"
        )
    )
    if any(ref not in found for ref in refs):
        raise Http404
    try:
        fulfilment_pack_many(
            tenant=request.tenant,
            order_ids=found.values(),
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        return _list(request, errors={"": {"orders": _message(exc)}}, status=400)
    return _back(request)


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def fulfilment_ship_view(request: StaffRequest) -> HttpResponse:
    order = _order(request)
    try:
        fulfilment_ship(
            tenant=request.tenant,
            order_id=order.pk,
            tracking_code=request.POST.get("tracking_code", ""),
            carrier=request.POST.get("carrier", ""),
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        field = exc.param if exc.param in ("tracking_code", "carrier") else "status"
        return _list(request, errors={order.public_id: {field: _message(exc)}}, status=400)
    return _back(request)


def _simple(service: Callable[..., FulfilmentOrder]) -> Callable[..., HttpResponse]:
    def view(request: StaffRequest) -> HttpResponse:
        order = _order(request)
        try:
            service(
                tenant=request.tenant,
                order_id=order.pk,
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            return _list(request, errors={order.public_id: {"status": _message(exc)}}, status=400)
        return _back(request)

    return view


fulfilment_deliver_view = staff_view(Perm.BILLING_MANAGE)(require_POST(_simple(fulfilment_deliver)))
fulfilment_cancel_view = staff_view(Perm.BILLING_MANAGE)(require_POST(_simple(fulfilment_cancel)))


@staff_view(Perm.BILLING_VIEW)
def fulfilment_export(request: StaffRequest) -> HttpResponse:
    """The packing list of the orders the filter shows, oldest first (the order
    boxes are packed in)."""
    current = _status(request)
    orders = list(
        fulfilment_list(tenant=request.tenant, status=current or None).order_by("created_at", "id")[
            :EXPORT_MAX
        ]
    )
    name = f"packing-list-{current or 'all'}-{clock.now():%Y%m%d}"
    if request.GET.get("format") == "pdf":
        from weasyprint import HTML  # imported late: it loads Pango on import

        html = render_to_string(
            "dashboard/fulfilment/packing_list_pdf.html",
            {
                "rows": [_row(o) for o in orders],
                "tenant": request.tenant,
                "status_label": dict(FulfilmentStatus.choices).get(current, gettext("All")),
                "generated_at": clock.now(),
            },
        )
        pdf = HTML(string=html, url_fetcher=data_uris_only()).write_pdf()
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            gettext("Order"),
            gettext("Customer"),
            gettext("Ship to"),
            gettext("Address"),
            gettext("Plan"),
            gettext("Items"),
            gettext("Quantity"),
            gettext("Period start"),
            gettext("Period end"),
            gettext("Status"),
            gettext("Carrier"),
            gettext("Tracking code"),
        ]
    )
    for o in orders:
        writer.writerow(
            _cell(value)
            for value in [
                o.public_id,
                o.customer.name,
                o.ship_to_name,
                " / ".join(address_lines(o.shipping_address)),
                o.plan_name,
                " / ".join(line.strip() for line in o.items.splitlines() if line.strip()),
                o.quantity,
                localtime(o.period_start).date().isoformat(),  # the tenant's calendar
                localtime(o.period_end).date().isoformat(),
                o.get_status_display(),
                o.carrier,
                o.tracking_code,
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
