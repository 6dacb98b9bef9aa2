"""Filters for the catalog pages: prices in the viewer's language, billing intervals."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

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


@register.filter
def rate_label(rate: Any) -> str:
    """``ISS (5 %)`` / ``IVA (21 %, included)``, the percentage in the viewer's language."""
    percent = number_format(rate.percent.normalize(), use_l10n=True)
    if rate.inclusive:
        return _("%(name)s (%(percent)s %%, included)") % {"name": rate.name, "percent": percent}
    return _("%(name)s (%(percent)s %%)") % {"name": rate.name, "percent": percent}
