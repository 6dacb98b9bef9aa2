"""Brazilian tax ids: CPF (people) and CNPJ (companies), numeric or alphanumeric.

A tax id is stored unmasked and upper-case (``52998224725``, ``12ABC34501DE35``)
and shown masked (``529.982.247-25``, ``12.ABC.345/01DE-35``). Input may carry
the usual mask (dots, dashes, slashes) and spaces; nothing else gets through.

- CPF: 11 digits, two mod-11 check digits (weights 10..2, then 11..2).
- CNPJ: 14 characters, two mod-11 check digits (weights 5..2,9..2, then 6..2,9..2).
  From July 2026 the Receita Federal also issues *alphanumeric* CNPJs: the first
  12 characters may be A-Z or 0-9 and each counts as its ASCII code minus 48
  (``"0"`` is 0, ``"A"`` is 17); the check digits stay numeric and the weights
  are the same, so a numeric CNPJ is just the all-digit case of one algorithm.

Sequences of one repeated character (``000.000.000-00``) pass the arithmetic but
are placeholders, never issued: they are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.errors import ValidationFailed

PARAM = "tax_id"
CODE = "invalid_tax_id"

_MASK = re.compile(r"[\s.\-/]")
_CPF = re.compile(r"^[0-9]{11}$")
_CNPJ = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_CPF_WEIGHTS = (range(10, 1, -1), range(11, 1, -1))
_CNPJ_WEIGHTS = ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))


class TaxIdKind(StrEnum):
    CPF = "cpf"
    CNPJ = "cnpj"


@dataclass(frozen=True, slots=True)
class TaxId:
    """A valid tax id: ``value`` is unmasked and upper-case."""

    kind: TaxIdKind
    value: str

    @property
    def formatted(self) -> str:
        v = self.value
        if self.kind == TaxIdKind.CPF:
            return f"{v[:3]}.{v[3:6]}.{v[6:9]}-{v[9:]}"
        return f"{v[:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:]}"

    def __str__(self) -> str:
        return self.formatted


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, param=PARAM, code=CODE)


def _check_digit(values: Sequence[int], weights: Sequence[int]) -> int:
    """Mod 11: remainder 0 or 1 gives 0, otherwise 11 minus the remainder."""
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _cpf_ok(value: str) -> bool:
    digits = [int(c) for c in value]
    first = _check_digit(digits[:9], _CPF_WEIGHTS[0])
    second = _check_digit([*digits[:9], first], _CPF_WEIGHTS[1])
    return digits[9:] == [first, second]


def _cnpj_ok(value: str) -> bool:
    values = [ord(c) - 48 for c in value[:12]]  # "0".."9" -> 0..9, "A".."Z" -> 17..42
    first = _check_digit(values, _CNPJ_WEIGHTS[0])
    second = _check_digit([*values, first], _CNPJ_WEIGHTS[1])
    return value[12:] == f"{first}{second}"


def normalize_tax_id(raw: str) -> TaxId:
    """Parse a CPF or CNPJ, masked or not; raise ``ValidationFailed`` if it is not valid.

    The kind follows from the length once the mask is gone: 11 characters is a
    CPF, 14 a CNPJ. Lower-case letters are accepted and upper-cased, since
    people type alphanumeric CNPJs as they come.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("Enter a CPF (11 digits) or a CNPJ (14 characters).")
    value = _MASK.sub("", raw).upper()
    if len(value) == 11:
        if not _CPF.match(value):
            raise _invalid("A CPF has 11 digits only.")
        if len(set(value)) == 1 or not _cpf_ok(value):
            raise _invalid("This CPF is not valid: its check digits do not match.")
        return TaxId(TaxIdKind.CPF, value)
    if len(value) == 14:
        if not _CNPJ.match(value):
            raise _invalid("A CNPJ has 12 letters (A-Z) or digits followed by 2 check digits.")
        if len(set(value)) == 1 or not _cnpj_ok(value):
            raise _invalid("This CNPJ is not valid: its check digits do not match.")
        return TaxId(TaxIdKind.CNPJ, value)
    raise _invalid(f"A CPF has 11 digits and a CNPJ 14 characters; this one has {len(value)}.")


def is_valid_tax_id(raw: str) -> bool:
    try:
        normalize_tax_id(raw)
    except ValidationFailed:
        return False
    return True


def format_tax_id(raw: str) -> str:
    """The masked form of a valid tax id (raises ``ValidationFailed`` otherwise)."""
    return normalize_tax_id(raw).formatted
