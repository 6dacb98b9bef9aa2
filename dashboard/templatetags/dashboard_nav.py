"""``{% sidebar_links as groups %}`` and ``{% url_if_exists 'name' as url %}``."""

from __future__ import annotations

from typing import Any

from django import template

from dashboard import navigation

register = template.Library()


@register.simple_tag(takes_context=True)
def sidebar_links(context: dict[str, Any]) -> list[dict[str, object]]:
    request = context.get("request")
    membership = getattr(request, "membership", None)
    return navigation.sidebar(membership, getattr(request, "path", ""))


@register.simple_tag
def url_if_exists(url_name: str) -> str:
    return navigation.url_if_exists(url_name)
