"""The Reports section of the dashboard: an index, one page per report (chart,
table, definition, exports) and the exports themselves. Every one needs
``REPORTS_VIEW``; the Overview's charts are drawn by ``overview_context``."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core import clock
from core.errors import DomainError, NotFound
from reports import catalog, charts, exports, selectors
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

OVERVIEW_CHARTS = ("mrr", "customers", "churn", "trials", "payments")


def _filter_error(param: str | None) -> str:
    """What a merchant reads when the filters do not make a range (translated;
    the API answers the service's own message)."""
    if param == "currency":
        return _("Choose a currency from the list.")
    if param == "grain":
        return _("Group by month, week or day; by day for at most 400 days.")
    return _("Give dates as From on or before To, at most five years apart.")


def _params(request: StaffRequest) -> tuple[catalog.Params, str]:
    """The filters asked for, or the defaults with the error to show."""
    now = clock.now()
    try:
        return catalog.params(tenant=request.tenant, query=request.GET, now=now), ""
    except DomainError as error:
        return catalog.params(tenant=request.tenant, query={}, now=now), _filter_error(
            getattr(error, "param", None)
        )


def _filters(request: StaffRequest, p: catalog.Params, error: str) -> dict[str, Any]:
    known = selectors.currencies(tenant=request.tenant)
    if p.currency not in known:
        known.append(p.currency)
    return {
        "p": p,
        "filter_error": error,
        "currencies": known,
        "grains": [("month", _("By month")), ("week", _("By week")), ("day", _("By day"))],
        "query": request.GET.urlencode(),
    }


def overview_context(request: StaffRequest) -> dict[str, Any]:
    """The Overview's charts and headline numbers (dashboard/views.py ``home``)."""
    p, error = _params(request)
    result = selectors.series(
        tenant=p.tenant, currency=p.currency, start=p.start, end=p.end, grain=p.grain, now=p.now
    )
    return {
        **_filters(request, p, error),
        "series": result,
        "totals": result.totals(),
        "charts": {
            kind: charts.chart(kind, result.rows, p.currency, p.grain)
            for kind in OVERVIEW_CHARTS
            if charts.has_data(kind, result.rows)
        },
        "reports": catalog.REPORTS,
    }


@staff_view(Perm.REPORTS_VIEW)
def index(request: StaffRequest) -> HttpResponse:
    return render(request, "reports/index.html", {"reports": catalog.REPORTS})


def _report(slug: str) -> catalog.Report:
    try:
        return catalog.report_get(slug)
    except NotFound:
        raise Http404(_("No such report.")) from None


@staff_view(Perm.REPORTS_VIEW)
def report(request: StaffRequest, slug: str) -> HttpResponse:
    rep = _report(slug)
    p, error = _params(request)
    rows = catalog.table(rep, p)
    empty = not any(v for row in rows for k, v in row.items() if k != "period")
    drawn = rep.chart and not empty and charts.has_data(rep.chart, rows)
    chart = charts.chart(rep.chart, rows, p.currency, p.grain) if drawn else None
    triangle = _triangle(rows) if rep.slug == "cohorts" and not empty else None
    return render(
        request,
        "reports/report.html",
        {
            **_filters(request, p, error),
            "report": rep,
            "rows": rows,
            "empty": empty,
            "chart": chart,
            "table": [[(c, row.get(c.key)) for c in rep.columns] for row in rows],
            "reports": catalog.REPORTS,
            "triangle": triangle,
            # Per-period reports are grouped; the others are one table for the range.
            "show_grain": rep.periodic,
        },
    )


def _triangle(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The cohort rows as a triangle: one line per cohort, one cell per month since,
    each with its customer retention and a shade class (reports.css, no inline style)."""
    lines: dict[Any, dict[str, Any]] = {}
    width = 0
    for row in rows:
        line = lines.setdefault(row["cohort"], {"cohort": row["cohort"], "size": 0, "cells": []})
        if row["months_since"] == 0:
            line["size"] = row["customers"]
        share = row["customer_retention"]
        shade = "" if share is None else f"heat-{min(10, max(0, round(float(share) * 10)))}"
        line["cells"].append({"share": share, "shade": shade, "mrr": row["mrr_retention"]})
        width = max(width, len(line["cells"]))
    return {"months": list(range(width)), "lines": list(lines.values())}


@staff_view(Perm.REPORTS_VIEW)
def export(request: StaffRequest, slug: str, fmt: str) -> HttpResponse:
    rep = _report(slug)
    if fmt not in exports.FORMATS:
        raise Http404(_("No such format."))
    try:
        p = catalog.params(tenant=request.tenant, query=request.GET, now=clock.now())
    except DomainError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    rows = catalog.table(rep, p)
    name = f"{rep.slug}-{p.currency}-{p.start}-{p.end}.{fmt}"
    if fmt == "csv":
        body, mime = exports.csv_bytes(rep, rows, p.currency), "text/csv; charset=utf-8"
    else:
        body = exports.xlsx_bytes(rep, rows, p.currency)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(body, content_type=mime)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
