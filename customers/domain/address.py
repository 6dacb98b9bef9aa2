"""A customer's billing address: one shape everywhere (API, dashboard, portal, checkout).

Stored as a small JSON object on the customer with these keys, all strings:
``line1`` (street), ``number``, ``complement``, ``district`` (bairro), ``city``,
``state``, ``postal_code``, ``country`` (ISO 3166-1 alpha-2). An empty object
means no address. A Brazilian address (country ``BR``) must carry a valid CEP
(stored as 8 digits, shown ``01310-100``) and a UF; elsewhere only lengths and
characters are checked. Control and formatting characters are refused anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from core.errors import ValidationFailed

PARAM = "address"
FIELDS: tuple[str, ...] = (
    "line1",
    "number",
    "complement",
    "district",
    "city",
    "state",
    "postal_code",
    "country",
)
_MAX = {"line1": 200, "number": 20, "complement": 100, "district": 100, "city": 100}
_MAX.update({"state": 60, "postal_code": 16, "country": 2})
BR_STATES = frozenset(
    {
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    }
)
_CEP = re.compile(r"^[0-9]{8}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"address.{key} must be a string.", param=f"{PARAM}.{key}")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise ValidationFailed(
            f"address.{key} contains characters that are not allowed.", param=f"{PARAM}.{key}"
        )
    text: str = " ".join(value.split())
    if len(text) > _MAX[key]:
        raise ValidationFailed(
            f"address.{key} has at most {_MAX[key]} characters.", param=f"{PARAM}.{key}"
        )
    return text


def normalize_address(raw: Any) -> dict[str, str]:
    """``raw`` checked and normalized, or ``ValidationFailed`` naming the bad key.

    ``{}`` (or every key blank) clears the address. A partial address is refused:
    street, city and country are the least an invoice can print."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationFailed("address must be an object.", param=PARAM)
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValidationFailed(f"address.{unknown[0]} is not an address field.", param=PARAM)
    value = {key: _text(key, raw.get(key, "")) for key in FIELDS}
    if not any(value.values()):
        return {}
    value["country"] = value["country"].upper() or "BR"
    if not _COUNTRY.match(value["country"]):
        raise ValidationFailed(
            "address.country must be a two-letter country code.", param=f"{PARAM}.country"
        )
    for key in ("line1", "city"):
        if not value[key]:
            raise ValidationFailed(f"address.{key} is required.", param=f"{PARAM}.{key}")
    if value["country"] == "BR":
        cep = re.sub(r"[\s.\-]", "", value["postal_code"])
        if not _CEP.match(cep):
            raise ValidationFailed("Enter a valid CEP (8 digits).", param=f"{PARAM}.postal_code")
        value["postal_code"] = cep
        value["state"] = value["state"].upper()
        if value["state"] not in BR_STATES:
            raise ValidationFailed(
                "Enter a Brazilian state (UF), such as SP.", param=f"{PARAM}.state"
            )
    return {key: text for key, text in value.items() if text}


def format_postal_code(address: Mapping[str, str]) -> str:
    """The postal code as people write it (``01310-100`` for a CEP)."""
    code = address.get("postal_code", "")
    if address.get("country") == "BR" and len(code) == 8:
        return f"{code[:5]}-{code[5:]}"
    return code


def address_lines(address: Mapping[str, str]) -> list[str]:
    """The address as printed on an invoice: street line, district, city/state, code, country."""
    if not address:
        return []
    street = ", ".join(p for p in (address.get("line1", ""), address.get("number", "")) if p)
    if address.get("complement"):
        street = f"{street} – {address['complement']}"
    city = " – ".join(p for p in (address.get("city", ""), address.get("state", "")) if p)
    lines = [street, address.get("district", ""), city, format_postal_code(address)]
    if address.get("country") and address["country"] != "BR":
        lines.append(address["country"])
    return [line for line in lines if line]
