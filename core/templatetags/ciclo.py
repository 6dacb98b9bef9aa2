"""Template filters shared by the dashboard, the portal and the emails."""

from django import template
from django.utils import translation
from django.utils.translation import ngettext

from core.money import Money

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``{{ invoice.total_minor|money:invoice.currency }}`` in the active language."""
    if minor is None:
        return ""
    return Money(int(minor), currency).format(translation.get_language() or "en")


_EVERY = {
    "day": lambda n: ngettext("day", "%(n)d days", n),
    "week": lambda n: ngettext("week", "%(n)d weeks", n),
    "month": lambda n: ngettext("month", "%(n)d months", n),
    "year": lambda n: ngettext("year", "%(n)d years", n),
}


@register.filter
def every(plan: object) -> str:
    """A plan's billing interval in words: "month", "3 months" (after a "/")."""
    interval = str(getattr(plan, "interval", ""))
    count = int(getattr(plan, "interval_count", 1) or 1)
    words = _EVERY.get(interval)
    if words is None:
        return interval
    return words(count) % {"n": count}
