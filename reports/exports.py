"""A report's table as CSV or XLSX (openpyxl): the same rows the page shows,
money in major units of the report's currency, ratios as decimals, dates ISO."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.encoding import force_str

from core.money import currency_exponent
from reports.catalog import Column, Report

FORMATS = ("csv", "xlsx")


def _header(column: Column, currency: str) -> str:
    label = force_str(column.label)
    return f"{label} ({currency})" if column.kind in ("money", "money_ratio") else label


def cell(column: Column, value: Any, currency: str) -> Any:
    """A value as a spreadsheet holds it."""
    if value is None:
        return None
    if column.kind in ("money", "money_ratio"):
        exponent = currency_exponent(currency)
        return (Decimal(value).scaleb(-exponent)).quantize(Decimal(1).scaleb(-exponent))
    if column.kind == "datetime" and isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if column.kind in ("date", "period", "month") and isinstance(value, date):
        return value
    return value


def csv_bytes(report: Report, rows: Sequence[dict[str, Any]], currency: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_header(c, currency) for c in report.columns])
    for row in rows:
        writer.writerow(
            ["" if (v := cell(c, row.get(c.key), currency)) is None else v for c in report.columns]
        )
    return out.getvalue().encode("utf-8")


def xlsx_bytes(report: Report, rows: Sequence[dict[str, Any]], currency: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = report.slug[:31]
    sheet.append([_header(c, currency) for c in report.columns])
    exponent = currency_exponent(currency)
    money_format = "#,##0" + ("." + "0" * exponent if exponent else "")
    for row in rows:
        values = []
        for c in report.columns:
            value = cell(c, row.get(c.key), currency)
            values.append(value)
        sheet.append(values)
    for index, column in enumerate(report.columns, start=1):
        fmt = {"money": money_format, "money_ratio": money_format, "ratio": "0.00%"}.get(
            column.kind, "yyyy-mm-dd" if column.kind in ("date", "period", "month") else None
        )
        if fmt:
            for (target,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                target.number_format = fmt
        sheet.column_dimensions[target_letter(index)].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def target_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)
