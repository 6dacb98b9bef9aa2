"""Filters for the catalog pages: prices in the viewer's language, billing intervals."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language, ngettext

from core.money import Money, is_known_currency

register = template.Library()


@register.filter
def catalog_money(minor: Any, currency: str) -> str:
    """``2990|catalog_money:"BRL"`` → ``R$ 29,90`` in pt-BR, ``R$29.90`` in en."""
    if not isinstance(minor, int) or isinstance(minor, bool) or not is_known_currency(currency):
        return ""
    return Money(minor, currency).format(get_language() or "en")


@register.filter
def plan_interval(plan: Any) -> str:
    """``every month``, ``every 3 months``."""
    count = plan.interval_count
    words = {
        "day": ngettext("every day", "every %(n)d days", count),
        "week": ngettext("every week", "every %(n)d weeks", count),
        "month": ngettext("every month", "every %(n)d months", count),
        "year": ngettext("every year", "every %(n)d years", count),
    }
    return words.get(plan.interval, plan.interval) % {"n": count}
