"""Filters of the subscription pages (money in the viewer's language)."""

from django import template
from django.utils.translation import get_language

from core.money import Money

register = template.Library()


@register.filter
def sub_money(minor: int | None, currency: str) -> str:
    """``{{ amount_minor|sub_money:currency }}`` → "R$ 29,90" in pt-BR."""
    if minor is None:
        return "—"
    return Money(int(minor), currency).format(get_language() or "en")
