"""Money: integer minor units with an ISO 4217 currency, never a float.

Money is only what circulates: ``CURRENCIES`` is the one table of the codes
Ciclo takes, each with its minor units (BRL 2, JPY 0, KWD 3), built from
Babel's CLDR data, not a hard-coded 100. ISO 4217's other codes (XXX "no
currency", XTS "testing", the metals XAU/XAG/XPT/XPD, the funds and units of
account such as XDR, XSU, CLF) and withdrawn currencies are not money here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from types import MappingProxyType

from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision


class CurrencyMismatch(ValueError):
    def __init__(self, left: str, right: str):
        super().__init__(f"Cannot combine {left} and {right}.")


@cache
def circulating_currencies() -> Mapping[str, int]:
    """Currency -> minor units, for every currency that is legal tender in some
    territory with no end date (CLDR's territory currencies)."""
    codes = {
        code
        for spans in get_global("territory_currencies").values()
        for code, _start, end, tender in spans
        if tender and end is None
    }
    return MappingProxyType({code: int(get_currency_precision(code)) for code in sorted(codes)})


def is_known_currency(code: str) -> bool:
    """A circulating currency (issue 12, finding 5): XXX, XTS, XAU … are not."""
    return isinstance(code, str) and code in circulating_currencies()


def currency_exponent(code: str) -> int:
    if not is_known_currency(code):
        raise ValueError(f"Unknown currency: {code}")
    return circulating_currencies()[code]


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units.")
        if not is_known_currency(self.currency):
            raise ValueError(f"Unknown currency: {self.currency}")

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> Money:
        exp = currency_exponent(currency)
        minor = (amount.scaleb(exp)).to_integral_value(rounding=rounding)
        return cls(int(minor), currency)

    def format(self, locale: str = "en") -> str:
        return format_currency(self.amount, self.currency, locale=locale.replace("-", "_"))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
