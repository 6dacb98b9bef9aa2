"""Reports over the REST API: ``GET /api/v1/reports/<report>`` answers one
report's table (the same rows as the dashboard's table and its exports;
reports/catalog.py), one documented operation per report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.encoding import force_str
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from reports import catalog
from tenants.requests import TenantApiRequest

# Built with ``inline_serializer``: fields named ``label`` and ``data`` would
# shadow DRF's own attributes on a Serializer class.
ColumnSerializer = inline_serializer(
    "ReportColumn",
    {
        "key": serializers.CharField(help_text="The field of each row."),
        "label": serializers.CharField(help_text="The column's title, in English."),
        "kind": serializers.ChoiceField(
            choices=[
                "money",
                "money_ratio",
                "ratio",
                "int",
                "period",
                "month",
                "date",
                "datetime",
                "method",
                "text",
            ],
            help_text="money: integer minor units of `currency` (money_ratio: a decimal string "
            "of minor units); ratio: a decimal string (0.25 = 25 %); period, month: its first day; "
            "date/datetime: ISO 8601; method: card, boleto or pix.",
        ),
    },
)
ReportSerializer = inline_serializer(
    "Report",
    {
        "object": serializers.CharField(help_text="Always `report`."),
        "report": serializers.CharField(help_text="The report's name, e.g. `mrr`."),
        "title": serializers.CharField(help_text="The report's title, in English."),
        "definition": serializers.CharField(help_text="How its numbers are defined."),
        "currency": serializers.CharField(help_text="ISO 4217; each currency is reported apart."),
        "start": serializers.DateField(help_text="First local day of the range."),
        "end": serializers.DateField(help_text="Last local day of the range."),
        "grain": serializers.CharField(help_text="day, week or month."),
        "columns": serializers.ListField(
            child=ColumnSerializer, help_text="The columns of each row, in order."
        ),
        "data": serializers.ListField(
            child=serializers.DictField(),
            help_text="The rows: one object per row, keyed by column.",
        ),
    },
)


PARAMETERS = [
    OpenApiParameter(
        "start", str, description="First day, YYYY-MM-DD (default: 11 months before this one)."
    ),
    OpenApiParameter("end", str, description="Last day, YYYY-MM-DD (default: today)."),
    OpenApiParameter("grain", str, enum=["month", "week", "day"], description="Period length."),
    OpenApiParameter(
        "currency", str, description="ISO 4217 code (default: the account's default currency)."
    ),
]


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _body(report: catalog.Report, p: catalog.Params) -> dict[str, Any]:
    rows = catalog.table(report, p)
    return {
        "object": "report",
        "report": report.slug,
        "title": force_str(report.title),
        "definition": force_str(report.definition),
        "currency": p.currency,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "grain": p.grain,
        "columns": [
            {"key": c.key, "label": force_str(c.label), "kind": c.kind} for c in report.columns
        ],
        "data": [{k: _json(v) for k, v in row.items()} for row in rows],
    }


class ReportViewSet(viewsets.ViewSet):
    """Read-only; every API key of the account may read its reports."""

    request: TenantApiRequest

    def _answer(self, slug: str) -> Response:
        p = catalog.params(
            tenant=self.request.tenant, query=self.request.query_params, now=clock.now()
        )
        return Response(_body(catalog.report_get(slug), p))


def _endpoint(report: catalog.Report) -> Callable[..., Response]:
    def handler(self: ReportViewSet, request: Request) -> Response:
        return self._answer(report.slug)

    handler.__name__ = report.slug
    handler.__doc__ = force_str(report.definition)
    return extend_schema(
        operation_id=f"report_{report.slug}",
        summary=f"Report: {force_str(report.title)}",
        description=force_str(report.definition),
        parameters=PARAMETERS,
        responses=ReportSerializer,
    )(action(detail=False, methods=["get"], url_path=report.slug)(handler))


for _report in catalog.REPORTS:
    setattr(ReportViewSet, _report.slug, _endpoint(_report))


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the API router (see config/api.py)."""
    router.register("reports", ReportViewSet, basename="report")
