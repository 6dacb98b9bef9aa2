"""CPF and CNPJ (numeric and alphanumeric) validation, against published examples."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from customers.domain.taxid import (
    TaxId,
    TaxIdKind,
    format_tax_id,
    is_valid_tax_id,
    normalize_tax_id,
)

# Published worked examples, each computed by hand on the page it comes from.
CPFS = [
    # trabalhosfeitos.com "Função social do CPF": the classic 111.444.777-XX walk-through.
    "111.444.777-35",
    # professor-alexandre.blogspot.com (2016/02) "Como é o cálculo do dígito verificador do CPF?"
    "235.343.104-62",
    # trabalhosfeitos.com "Dígitos verificadores do CPF": 222.333.666, first digit 3.
    "222.333.666-38",
    # studylibpt.com "Como é feito o CPF": 381.367.125, first digit 9.
    "381.367.125-90",
]
CNPJS = [
    # Receita Federal / SERPRO "Cálculo dos dígitos verificadores de CNPJ alfanumérico":
    # the official alphanumeric example.
    "12.ABC.345/01DE-35",
    # masterdaweb.com "Algoritmo para generar CNPJ": worked example 44.038.188/0001-32.
    "44.038.188/0001-32",
    # The usual documentation example of a numeric CNPJ.
    "11.222.333/0001-81",
]


@pytest.mark.parametrize("raw", CPFS)
def test_published_cpfs_are_valid(raw: str) -> None:
    tax_id = normalize_tax_id(raw)
    assert tax_id.kind == TaxIdKind.CPF
    assert tax_id.value == raw.replace(".", "").replace("-", "")
    assert tax_id.formatted == raw


@pytest.mark.parametrize("raw", CNPJS)
def test_published_cnpjs_are_valid(raw: str) -> None:
    tax_id = normalize_tax_id(raw)
    assert tax_id.kind == TaxIdKind.CNPJ
    assert tax_id.formatted == raw
    assert str(tax_id) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11144477735", TaxId(TaxIdKind.CPF, "11144477735")),
        (" 111.444.777-35 ", TaxId(TaxIdKind.CPF, "11144477735")),
        ("111 444 777 35", TaxId(TaxIdKind.CPF, "11144477735")),
        ("12ABC34501DE35", TaxId(TaxIdKind.CNPJ, "12ABC34501DE35")),
        ("12.abc.345/01de-35", TaxId(TaxIdKind.CNPJ, "12ABC34501DE35")),  # typed lower-case
        ("44038188000132", TaxId(TaxIdKind.CNPJ, "44038188000132")),
        ("44.038.188/0001-32", TaxId(TaxIdKind.CNPJ, "44038188000132")),
    ],
)
def test_masks_and_spaces_are_accepted(raw: str, expected: TaxId) -> None:
    assert normalize_tax_id(raw) == expected


def test_format_and_is_valid() -> None:
    assert format_tax_id("11144477735") == "111.444.777-35"
    assert format_tax_id("12abc34501de35") == "12.ABC.345/01DE-35"
    assert is_valid_tax_id("111.444.777-35")
    assert not is_valid_tax_id("111.444.777-36")


def _error(raw: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        normalize_tax_id(raw)
    assert info.value.param == "tax_id"
    assert info.value.code == "invalid_tax_id"
    return info.value


@pytest.mark.parametrize(
    "raw",
    [
        "111.444.777-36",  # second check digit off by one
        "111.444.777-45",  # first check digit off by one
        "235.343.104-26",  # check digits swapped
        "12.ABC.345/01DE-36",
        "12.ABC.345/01DE-53",
        "12.ABD.345/01DE-35",  # one letter changed
        "44.038.188/0001-23",
        "11.222.333/0001-80",
    ],
)
def test_wrong_check_digits_are_refused(raw: str) -> None:
    assert "check digits" in _error(raw).message


@pytest.mark.parametrize(
    "raw",
    ["000.000.000-00", "111.111.111-11", "99999999999", "00.000.000/0000-00", "AAAAAAAAAAAAAA"],
)
def test_repeated_sequences_are_refused(raw: str) -> None:
    _error(raw)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("1114447773", "this one has 10"),
        ("111444777355", "this one has 12"),
        ("123456789012345", "this one has 15"),
        ("", "Enter a CPF"),
        ("   ", "Enter a CPF"),
    ],
)
def test_wrong_lengths_are_refused(raw: str, fragment: str) -> None:
    assert fragment in _error(raw).message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("111.444.77A-35", "A CPF has 11 digits only"),  # letters are for CNPJs only
        ("12.ABC.345/01DE-3A", "followed by 2 check digits"),  # check digits stay numeric
        ("12.ÁBC.345/01DE-35", "12 letters"),  # no accents
        ("12_ABC_345_01DE_35", "this one has 18"),  # only dots, dashes, slashes, spaces
    ],
)
def test_bad_characters_are_refused(raw: str, fragment: str) -> None:
    assert fragment in _error(raw).message
