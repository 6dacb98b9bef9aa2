"""Filters of the subscription pages (money in the viewer's language)."""

from django import template
from django.utils.translation import get_language

from core.money import Money
from core.templatetags.ciclo import every

register = template.Library()


@register.filter
def sub_money(minor: int | None, currency: str) -> str:
    """``{{ amount_minor|sub_money:currency }}`` → "R$ 29,90" in pt-BR."""
    if minor is None:
        return "—"
    return Money(int(minor), currency).format(get_language() or "en")


@register.filter
def sub_every(plan: object) -> str:
    """A plan's billing interval in words: "month", "3 months" (after a "/")."""
    return every(plan)


@register.filter
def rdj_percent(factor: object) -> str:
    """A readjustment factor as a percentage in the viewer's format: 0.04621114 → "4,62 %"."""
    from decimal import Decimal

    from django.utils.formats import number_format

    if factor is None or factor == "":
        return "—"
    value = Decimal(str(factor)) * 100
    return f"{number_format(value, 2, use_l10n=True)} %"
