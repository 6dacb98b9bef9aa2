"""Subscribers' phone numbers: validated and stored in E.164 (issue 12, finding 5).

A number typed without a country code is read in the tenant's region (Brazil
for merchants billing in reais or writing in Portuguese); anything that is not
a valid number, or carries control or formatting characters, is refused."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import phonenumbers

from core.errors import ValidationFailed

if TYPE_CHECKING:
    from tenants.models import Tenant


def phone_region(tenant: Tenant) -> str | None:
    """Where a number without a country code is read: Brazil for merchants
    billing in reais (Ciclo's home market), else none (it must start with +)."""
    return "BR" if tenant.default_currency == "BRL" or tenant.locale == "pt-br" else None


def to_e164(raw: str, *, region: str | None = None) -> str | None:
    """``raw`` as E.164, or None when it is not a valid phone number."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    if any(unicodedata.category(c).startswith("C") for c in raw):
        return None  # control, format (zero-width, bidi) or unassigned characters
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str, *, region: str | None, param: str = "phone") -> str:
    """The number in E.164, or ``ValidationFailed`` saying what to type."""
    e164 = to_e164(raw, region=region)
    if e164 is None:
        hint = "" if region else " with its country code (+…)"
        raise ValidationFailed(f"Enter a valid phone number{hint}.", param=param)
    return e164
