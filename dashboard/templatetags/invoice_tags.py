"""Money on the invoices pages, in the viewer's language: ``{{ amount|in_money:currency }}``."""

from django import template
from django.utils.translation import get_language

from core.money import Money

register = template.Library()


@register.filter
def in_money(minor: int | None, currency: str) -> str:
    if minor is None or not currency:
        return "—"
    return Money(int(minor), currency).format(get_language() or "en")


@register.filter
def as_amount(minor: int | None, currency: str) -> str:
    """Minor units as a plain decimal an input field takes back (``1250`` → ``12.50``)."""
    if minor is None or not currency:
        return ""
    return str(Money(int(minor), currency).amount)


@register.filter
def as_json(value: object) -> str:
    """An event's payload, indented for reading (autoescaped by the template)."""
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
