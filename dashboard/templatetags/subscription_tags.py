"""Filters of the subscription pages (money in the viewer's language)."""

from django import template
from django.utils.translation import get_language, ngettext

from core.money import Money

register = template.Library()


@register.filter
def sub_money(minor: int | None, currency: str) -> str:
    """``{{ amount_minor|sub_money:currency }}`` → "R$ 29,90" in pt-BR."""
    if minor is None:
        return "—"
    return Money(int(minor), currency).format(get_language() or "en")


_EVERY = {
    "day": lambda n: ngettext("day", "%(n)d days", n),
    "week": lambda n: ngettext("week", "%(n)d weeks", n),
    "month": lambda n: ngettext("month", "%(n)d months", n),
    "year": lambda n: ngettext("year", "%(n)d years", n),
}


@register.filter
def sub_every(plan: object) -> str:
    """A plan's billing interval in words: "month", "3 months" (after a "/")."""
    interval = str(getattr(plan, "interval", ""))
    count = int(getattr(plan, "interval_count", 1) or 1)
    words = _EVERY.get(interval)
    if words is None:
        return interval
    return words(count) % {"n": count}


@register.filter
def rdj_percent(factor: object) -> str:
    """A readjustment factor as a percentage in the viewer's format: 0.04621114 → "4,62 %"."""
    from decimal import Decimal

    from django.utils.formats import number_format

    if factor is None or factor == "":
        return "—"
    value = Decimal(str(factor)) * 100
    return f"{number_format(value, 2, use_l10n=True)} %"
