"""Money and tax ids as the viewer reads them: ``{{ amount|money:currency }}``
(R$ 1.234,56 in pt-BR) and ``{{ customer.tax_id|tax_id }}`` (529.982.247-25)."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from core.errors import ValidationFailed
from core.money import Money, is_known_currency
from customers.domain.taxid import format_tax_id

register = template.Library()


@register.filter
def money(minor: int | None, currency: str = "BRL") -> str:
    if minor is None or not is_known_currency(currency or ""):
        return ""
    return Money(int(minor), currency).format(get_language() or "en")


@register.filter
def tax_id(value: str | None) -> str:
    if not value:
        return ""
    try:
        return format_tax_id(value)
    except (ValidationFailed, ValueError):
        return value


@register.filter
def phone(value: str | None) -> str:
    """``+5511987654321`` as people write it: ``+55 11 98765-4321``."""
    if not value:
        return ""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
