"""Template filters shared by the dashboard, the portal and the emails."""

from django import template
from django.utils import translation

from core.money import Money

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``{{ invoice.total_minor|money:invoice.currency }}`` in the active language."""
    if minor is None:
        return ""
    return Money(int(minor), currency).format(translation.get_language() or "en")
