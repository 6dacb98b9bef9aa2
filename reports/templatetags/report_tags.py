"""``{{ value|report_cell:column|… }}``: a report's cell as the viewer reads it —
money in the report's currency and the viewer's language, ratios as percents,
times in the tenant's time zone (activated per request)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from django import template
from django.utils import formats, timezone
from django.utils.translation import get_language

from core.money import Money, is_known_currency
from customers.models import PaymentMethod

register = template.Library()


def method_label(code: Any) -> str:
    """card → Card (translated); an unknown code as it is."""
    try:
        return str(PaymentMethod.Kind(code).label)
    except ValueError:
        return str(code)


def _locale() -> str:
    return (get_language() or "en").replace("-", "_")


@register.simple_tag
def report_cell(value: Any, kind: str, currency: str, grain: str = "day") -> str:
    if value is None:
        return "—"
    if kind == "method":
        return method_label(value)
    if kind == "month" and isinstance(value, date):
        return format_date(value, "MMM yyyy", locale=_locale())
    if kind == "period" and isinstance(value, date):
        # A month reads "Jan 2026" ("jan. 2026" in pt-BR); a week by its Monday.
        if grain == "month":
            return format_date(value, "MMM yyyy", locale=_locale())
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind in ("money", "money_ratio") and is_known_currency(currency):
        minor = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return Money(minor, currency).format(get_language() or "en")
    if kind == "ratio":
        return format_percent(Decimal(value), "#,##0.0%", locale=_locale())
    if kind == "datetime" and isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if kind == "date" and isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == "int" and isinstance(value, int):
        return format_decimal(value, locale=_locale())
    return str(value)
