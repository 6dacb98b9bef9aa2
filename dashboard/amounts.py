"""Money that staff type, one rule for every dashboard form.

An amount is read in the viewer's language (``1.234,56`` in pt-BR, ``1,234.56`` in en) with
Babel's strict parser, so a grouping dot is never mistaken for a decimal point (``1.500`` in
pt-BR is one thousand five hundred, on the catalog and on a refund alike). It becomes integer
minor units exactly — a Decimal, never a float — and is refused when it carries more decimals
than the currency has.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import cast

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.money import currency_exponent
from subscriptions.services import MAX_AMOUNT_MINOR

# Digits, grouping and decimal signs, and spaces (a French-style grouping): no
# exponents ("1e5"), no currency symbols, no signs but a leading minus.
_MONEY_TEXT = re.compile(r"^-?[\d.,\s\u00a0\u202f']+$")


def babel_locale(language: str | None = None) -> str:
    language = language or get_language() or "en"
    lang, _sep, region = language.partition("-")
    return f"{lang}_{region.upper()}" if region else lang


def parse_money(
    text: str,
    currency: str,
    language: str | None = None,
    *,
    signed: bool = False,
    positive: bool = False,
    maximum: int = MAX_AMOUNT_MINOR,
) -> int:
    """``text`` typed in ``language`` (the active one by default) → integer minor units of
    ``currency``. ``signed`` admits a minus (a balance adjustment); ``positive`` refuses zero."""
    text = (text or "").strip()
    if not text:
        raise forms.ValidationError(_("Enter an amount."), code="required")
    invalid = forms.ValidationError(
        _("Enter an amount such as %(example)s.") % {"example": _money_example(language)},
        code="invalid",
    )
    if not _MONEY_TEXT.match(text):
        raise invalid
    try:
        value = parse_decimal(text, locale=babel_locale(language), strict=True)
    except NumberFormatError:
        raise invalid from None
    if not value.is_finite():
        raise forms.ValidationError(_("Enter an amount."), code="invalid")
    if value < 0 and not signed:
        raise forms.ValidationError(_("The amount cannot be negative."), code="negative")
    places = currency_exponent(currency)
    if cast(int, value.as_tuple().exponent) < -places:
        raise forms.ValidationError(
            _("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency, "places": places},
            code="too_many_decimals",
        )
    minor = int(value.scaleb(places))
    if positive and minor == 0:
        raise forms.ValidationError(_("The amount must be more than zero."), code="zero")
    if abs(minor) > maximum:
        raise forms.ValidationError(_("The amount is too large."), code="too_large")
    return minor


def _money_example(language: str | None) -> str:
    return format_decimal(Decimal("29.90"), format="#,##0.00", locale=babel_locale(language))


def minor_to_text(minor: int, currency: str, language: str | None = None) -> str:
    """The inverse of ``parse_money``, for a form's initial value."""
    places = currency_exponent(currency)
    pattern = "0." + "0" * places if places else "0"
    return format_decimal(
        Decimal(minor).scaleb(-places), format=pattern, locale=babel_locale(language)
    )
