"""Pix BR Codes: build, parse and draw the EMV® QRCPS payload of a Pix charge.

The layout follows Banco Central do Brasil's "Manual de Padrões para Iniciação
do Pix" (EMV Merchant-Presented Mode): TLV fields ``ID(2) LEN(2) VALUE`` closed
by a CRC-16/CCITT-FALSE. The payload is also the "Pix copia e cola" text, so
what we print as a QR code and what we show to copy are the same string.

Amounts are integer centavos in and out; the decimal text of field 54 is made
with integer arithmetic, never a float. Everything here is pure: no clock, no
I/O beyond rendering bytes in memory.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import segno

from core.errors import ValidationFailed
from customers.domain.taxid import is_valid_tax_id

GUI = "br.gov.bcb.pix"
MAX_AMOUNT_MINOR = 999_999_999_999  # "9999999999.99": field 54 holds at most 13 characters
MAX_NAME = 25
MAX_CITY = 15
MAX_TEMPLATE = 99  # a TLV length has two digits
NO_TXID = "***"

# Top-level and nested field IDs used below.
_PAYLOAD_FORMAT, _INITIATION, _ACCOUNT, _MCC, _CURRENCY, _AMOUNT = (
    "00",
    "01",
    "26",
    "52",
    "53",
    "54",
)
_COUNTRY, _NAME, _CITY, _POSTAL, _ADDITIONAL, _CRC = "58", "59", "60", "61", "62", "63"
_ACC_GUI, _ACC_KEY, _ACC_DESCRIPTION, _ACC_URL = "00", "01", "02", "25"
_ADD_TXID = "05"

_MANDATORY = (_PAYLOAD_FORMAT, _ACCOUNT, _MCC, _CURRENCY, _COUNTRY, _NAME, _CITY, _ADDITIONAL)


class PixKeyType(StrEnum):
    CPF = "cpf"
    CNPJ = "cnpj"
    EMAIL = "email"
    PHONE = "phone"
    EVP = "evp"  # the random key ("chave aleatória"), a UUID


class Initiation(StrEnum):
    REUSABLE = "11"
    SINGLE_USE = "12"


# ---------------------------------------------------------------------------
# CRC and TLV


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def br_code_crc(payload_without_crc_value: str) -> str:
    """The four uppercase hex digits of field 63, over everything up to and including "6304"."""
    return f"{crc16_ccitt_false(payload_without_crc_value.encode('utf-8')):04X}"


def tlv(tag: str, value: str) -> str:
    if len(value) > MAX_TEMPLATE:
        raise ValidationFailed(
            f"Field {tag} is {len(value)} characters long; a BR Code field holds at most 99.",
            param=tag,
            code="pix_field_too_long",
        )
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(data: str, *, where: str = "payload") -> dict[str, str]:
    """Split ``data`` into ``{tag: value}``; refuses truncation, junk and repeated tags."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        head = data[pos : pos + 4]
        if len(head) < 4:
            raise ValidationFailed(
                f"The {where} ends in the middle of a field header at position {pos}.",
                param=where,
                code="pix_truncated",
            )
        if not head.isdigit() or not head.isascii():
            raise ValidationFailed(
                f"Expected a two-digit ID and length at position {pos} of the {where}, "
                f"found {head!r}.",
                param=where,
                code="pix_malformed",
            )
        tag, length = head[:2], int(head[2:])
        value = data[pos + 4 : pos + 4 + length]
        if len(value) < length:
            raise ValidationFailed(
                f"Field {tag} of the {where} says {length} characters but only "
                f"{len(value)} remain.",
                param=tag,
                code="pix_truncated",
            )
        if tag in fields:
            raise ValidationFailed(
                f"Field {tag} appears twice in the {where}.", param=tag, code="pix_malformed"
            )
        fields[tag] = value
        pos += 4 + length
    return fields


# ---------------------------------------------------------------------------
# Input validation and normalisation

_DIGITS = re.compile(r"\d+")
_CPF_MASK = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}")
_CNPJ_MASK = re.compile(r"\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}")
_PHONE = re.compile(r"\+55[1-9]{2}9?\d{8}")
_EVP = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TXID = re.compile(r"[A-Za-z0-9]+")
_AMOUNT_TEXT = re.compile(r"(\d+)(?:\.(\d{1,2}))?")
MAX_KEY = 77  # DICT's limit for e-mail keys, the longest kind


def normalize_pix_key(key: str) -> tuple[PixKeyType, str]:
    """The key's kind and the form DICT registers it in.

    Masks are stripped from CPF/CNPJ ("529.982.247-25" → "52998224725") because a
    masked key in a BR Code does not resolve; phones must be E.164 with +55 so
    that eleven bare digits are unambiguously a CPF.
    """
    key = key.strip()
    if _CPF_MASK.fullmatch(key) or _CNPJ_MASK.fullmatch(key):
        key = re.sub(r"\D", "", key)
    if _DIGITS.fullmatch(key) and key.isascii():
        if len(key) == 11:
            if not is_valid_tax_id(key):
                raise ValidationFailed(
                    "This CPF key has wrong check digits.", param="key", code="pix_invalid_key"
                )
            return PixKeyType.CPF, key
        if len(key) == 14:
            if not is_valid_tax_id(key):
                raise ValidationFailed(
                    "This CNPJ key has wrong check digits.", param="key", code="pix_invalid_key"
                )
            return PixKeyType.CNPJ, key
        raise ValidationFailed(
            "A numeric Pix key must be a CPF (11 digits) or a CNPJ (14 digits); "
            "write phone keys as +55 followed by area code and number.",
            param="key",
            code="pix_invalid_key",
        )
    if key.startswith("+"):
        if not _PHONE.fullmatch(key):
            raise ValidationFailed(
                "A phone Pix key must be +55, a two-digit area code and 8 or 9 digits, "
                "e.g. +5561912345678.",
                param="key",
                code="pix_invalid_key",
            )
        return PixKeyType.PHONE, key
    if _EVP.fullmatch(key):
        return PixKeyType.EVP, key
    if "@" in key:
        if len(key) > MAX_KEY or not _EMAIL.fullmatch(key):
            raise ValidationFailed(
                f"This is not a valid e-mail Pix key (at most {MAX_KEY} characters).",
                param="key",
                code="pix_invalid_key",
            )
        return PixKeyType.EMAIL, key
    raise ValidationFailed(
        "A Pix key must be a CPF, a CNPJ, an e-mail, a +55 phone or a random key (UUID).",
        param="key",
        code="pix_invalid_key",
    )


def normalize_text(value: str, max_length: int, *, uppercase: bool, param: str) -> str:
    """Plain printable ASCII for name, city and description.

    Accents are dropped ("São" → "Sao") because EMV lengths count characters
    and some bank apps mangle anything outside ASCII. Name and city are cut to
    their limits rather than refused: they are only shown to the payer, who is
    shown the registered account holder's name by their bank anyway.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_only = "".join(ch for ch in decomposed if " " <= ch <= "~")
    text = " ".join(ascii_only.split())
    if uppercase:
        text = text.upper()
    text = text[:max_length].rstrip()
    if not text:
        raise ValidationFailed(
            f"{param.replace('_', ' ').capitalize()} is empty once reduced to plain ASCII.",
            param=param,
            code="pix_invalid_text",
        )
    return text


def format_amount(amount_minor: int) -> str:
    """Centavos as field 54's text: 1050 → "10.50", with integer arithmetic only."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise ValidationFailed(
            "A Pix amount must be an integer number of centavos.",
            param="amount_minor",
            code="pix_invalid_amount",
        )
    if not 0 < amount_minor <= MAX_AMOUNT_MINOR:
        raise ValidationFailed(
            "A Pix amount must be more than R$ 0,00 and at most R$ 9.999.999.999,99.",
            param="amount_minor",
            code="pix_invalid_amount",
        )
    reais, centavos = divmod(amount_minor, 100)
    return f"{reais}.{centavos:02d}"


def parse_amount(text: str) -> int:
    """Field 54's text back to centavos; "10", "10.5" and "10.50" are all R$ 10,50 or 10."""
    match = _AMOUNT_TEXT.fullmatch(text)
    if not match or not text.isascii():
        raise ValidationFailed(
            f"Field 54 (amount) must be digits with an optional dot and two decimals, "
            f"not {text!r}.",
            param=_AMOUNT,
            code="pix_invalid_amount",
        )
    reais, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(reais) * 100 + int(fraction)


def _txid(txid: str | None, *, dynamic: bool) -> str:
    """Static codes: 1–25 alphanumerics or "***"; dynamic codes: 26–35 or "***"."""
    if not txid or txid == NO_TXID:
        return NO_TXID
    low, high = (26, 35) if dynamic else (1, 25)
    if not (_TXID.fullmatch(txid) and txid.isascii()):
        raise ValidationFailed(
            "A Pix txid may only hold the letters A–Z, a–z and digits 0–9.",
            param="txid",
            code="pix_invalid_txid",
        )
    if not low <= len(txid) <= high:
        kind = "dynamic" if dynamic else "static"
        raise ValidationFailed(
            f'A {kind} Pix txid must be {low}–{high} characters long (or "***").',
            param="txid",
            code="pix_invalid_txid",
        )
    return txid


def _postal(postal_code: str | None) -> str | None:
    if postal_code is None:
        return None
    digits = re.sub(r"\D", "", postal_code)
    if len(digits) != 8:
        raise ValidationFailed(
            "A CEP has 8 digits.", param="postal_code", code="pix_invalid_postal_code"
        )
    return digits


# ---------------------------------------------------------------------------
# Building


def _assemble(
    *,
    account: str,
    merchant_name: str,
    merchant_city: str,
    amount_minor: int | None,
    txid: str,
    postal_code: str | None,
    initiation: str | None,
    uppercase: bool,
) -> str:
    if initiation is not None and initiation not in set(Initiation):
        raise ValidationFailed(
            'The point of initiation is "11" (reusable) or "12" (single use).',
            param="initiation",
            code="pix_invalid_initiation",
        )
    parts = [tlv(_PAYLOAD_FORMAT, "01")]
    if initiation is not None:
        parts.append(tlv(_INITIATION, initiation))
    parts += [tlv(_ACCOUNT, account), tlv(_MCC, "0000"), tlv(_CURRENCY, "986")]
    if amount_minor is not None:
        parts.append(tlv(_AMOUNT, format_amount(amount_minor)))
    parts += [
        tlv(_COUNTRY, "BR"),
        tlv(_NAME, normalize_text(merchant_name, MAX_NAME, uppercase=uppercase, param="name")),
        tlv(_CITY, normalize_text(merchant_city, MAX_CITY, uppercase=uppercase, param="city")),
    ]
    postal = _postal(postal_code)
    if postal is not None:
        parts.append(tlv(_POSTAL, postal))
    parts.append(tlv(_ADDITIONAL, tlv(_ADD_TXID, txid)))
    body = "".join(parts) + _CRC + "04"
    return body + br_code_crc(body)


def static_br_code(
    *,
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount_minor: int | None = None,
    txid: str | None = None,
    description: str | None = None,
    postal_code: str | None = None,
    initiation: str | None = None,
    uppercase: bool = True,
) -> str:
    """A static BR Code: the Pix key itself travels in the payload.

    Without ``amount_minor`` the payer types the amount. ``initiation`` is left
    out by default, as in the Central Bank's own static example; "11" marks the
    code reusable and "12" single use. ``uppercase=False`` keeps the name's case.
    """
    _, key = normalize_pix_key(key)
    account = tlv(_ACC_GUI, GUI) + tlv(_ACC_KEY, key)
    if description:
        text = normalize_text(description, MAX_TEMPLATE, uppercase=False, param="description")
        account += tlv(_ACC_DESCRIPTION, text)
    if len(account) > MAX_TEMPLATE:
        raise ValidationFailed(
            f"Key and description together are too long for field 26 "
            f"({len(account)} of 99 characters); shorten the description.",
            param="description",
            code="pix_field_too_long",
        )
    return _assemble(
        account=account,
        merchant_name=merchant_name,
        merchant_city=merchant_city,
        amount_minor=amount_minor,
        txid=_txid(txid, dynamic=False),
        postal_code=postal_code,
        initiation=initiation,
        uppercase=uppercase,
    )


def dynamic_br_code(
    *,
    url: str,
    merchant_name: str,
    merchant_city: str,
    amount_minor: int | None = None,
    txid: str | None = None,
    postal_code: str | None = None,
    initiation: str | None = Initiation.SINGLE_USE,
    uppercase: bool = True,
) -> str:
    """A dynamic BR Code: the payer's bank fetches the charge from the PSP's ``url``.

    The URL goes without its scheme (https is implied). The txid normally lives
    in the fetched charge, so field 62 carries "***" unless one is given.
    """
    location = url.strip()
    if location.lower().startswith("https://"):
        location = location[len("https://") :]
    if (
        not location
        or "://" in location
        or not location.isascii()
        or any(not ch.isprintable() or ch.isspace() for ch in location)
    ):
        raise ValidationFailed(
            'The payload URL must be an https address, written without "https://".',
            param="url",
            code="pix_invalid_url",
        )
    account = tlv(_ACC_GUI, GUI) + tlv(_ACC_URL, location)
    if len(account) > MAX_TEMPLATE:
        raise ValidationFailed(
            "The payload URL is too long for field 26 (at most 77 characters).",
            param="url",
            code="pix_field_too_long",
        )
    return _assemble(
        account=account,
        merchant_name=merchant_name,
        merchant_city=merchant_city,
        amount_minor=amount_minor,
        txid=_txid(txid, dynamic=True),
        postal_code=postal_code,
        initiation=initiation,
        uppercase=uppercase,
    )


# ---------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True, slots=True)
class BrCode:
    """A parsed, CRC-checked Pix BR Code. ``fields`` keeps every top-level field as read."""

    payload: str
    fields: Mapping[str, str]
    account: Mapping[str, str]
    additional: Mapping[str, str]
    initiation: str | None
    key: str | None
    description: str | None
    url: str | None
    amount_minor: int | None
    merchant_name: str
    merchant_city: str
    postal_code: str | None
    txid: str
    crc: str

    @property
    def is_dynamic(self) -> bool:
        return self.url is not None

    @property
    def single_use(self) -> bool:
        return self.initiation == Initiation.SINGLE_USE


def _missing(tag: str, what: str) -> ValidationFailed:
    return ValidationFailed(
        f"The BR Code has no field {tag} ({what}).", param=tag, code="pix_missing_field"
    )


def parse_br_code(payload: str) -> BrCode:
    """Read a BR Code someone gave us, or we made, and check it end to end.

    Structure comes first (every TLV complete, CRC the last field), then the
    CRC, then the fields Pix requires. The parser is lenient where the wild is:
    any GUI casing, a txid with symbols ("RP12345678-2019" from the manual).
    """
    payload = payload.strip()
    fields = parse_tlv(payload)
    crc_value = fields.get(_CRC)
    if crc_value is None:
        raise _missing(_CRC, "CRC")
    if len(crc_value) != 4 or not payload.endswith(_CRC + "04" + crc_value):
        raise ValidationFailed(
            "Field 63 (CRC) must be the last field and four hex digits long.",
            param=_CRC,
            code="pix_malformed",
        )
    expected = br_code_crc(payload[:-4])
    if crc_value.upper() != expected:
        raise ValidationFailed(
            f"The CRC is {crc_value} but the payload's CRC is {expected}: the code is "
            "damaged or was changed.",
            param=_CRC,
            code="pix_crc_mismatch",
        )
    names = {
        _PAYLOAD_FORMAT: "payload format",
        _ACCOUNT: "merchant account information",
        _MCC: "merchant category code",
        _CURRENCY: "currency",
        _COUNTRY: "country",
        _NAME: "merchant name",
        _CITY: "merchant city",
        _ADDITIONAL: "additional data",
    }
    for tag in _MANDATORY:
        if tag not in fields:
            raise _missing(tag, names[tag])
    if next(iter(fields)) != _PAYLOAD_FORMAT or fields[_PAYLOAD_FORMAT] != "01":
        raise ValidationFailed(
            'A BR Code starts with field 00 = "01".', param=_PAYLOAD_FORMAT, code="pix_malformed"
        )
    if fields[_CURRENCY] != "986":
        raise ValidationFailed(
            "A Pix BR Code is in reais (currency 986).", param=_CURRENCY, code="pix_malformed"
        )
    account = parse_tlv(fields[_ACCOUNT], where="field 26")
    if account.get(_ACC_GUI, "").lower() != GUI:
        raise ValidationFailed(
            f'Field 26 must name the Pix arrangement, "{GUI}".', param=_ACCOUNT, code="pix_not_pix"
        )
    if _ACC_KEY not in account and _ACC_URL not in account:
        raise _missing(f"{_ACCOUNT}.{_ACC_KEY}", "Pix key or payload URL")
    additional = parse_tlv(fields[_ADDITIONAL], where="field 62")
    if _ADD_TXID not in additional:
        raise _missing(f"{_ADDITIONAL}.{_ADD_TXID}", "txid")
    amount = fields.get(_AMOUNT)
    return BrCode(
        payload=payload,
        fields=fields,
        account=account,
        additional=additional,
        initiation=fields.get(_INITIATION),
        key=account.get(_ACC_KEY),
        description=account.get(_ACC_DESCRIPTION),
        url=account.get(_ACC_URL),
        amount_minor=None if amount is None else parse_amount(amount),
        merchant_name=fields[_NAME],
        merchant_city=fields[_CITY],
        postal_code=fields.get(_POSTAL),
        txid=additional[_ADD_TXID],
        crc=crc_value.upper(),
    )


# ---------------------------------------------------------------------------
# Showing it to the payer


def pix_copy_paste(payload: str) -> str:
    """The "Pix copia e cola" text: the checked payload itself, nothing added."""
    return parse_br_code(payload).payload


def pix_qr(payload: str) -> segno.QRCode:
    """The QR symbol, error correction M exactly (no silent boost), never a Micro QR."""
    return segno.make(parse_br_code(payload).payload, error="m", boost_error=False, micro=False)


def pix_qr_svg(payload: str, *, scale: int = 4, border: int = 4) -> str:
    out = io.BytesIO()
    pix_qr(payload).save(out, kind="svg", scale=scale, border=border, xmldecl=False)
    return out.getvalue().decode("utf-8")


def pix_qr_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    out = io.BytesIO()
    pix_qr(payload).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Expiry


DEFAULT_EXPIRY = timedelta(hours=24)  # what the Pix API's "calendario.expiracao" defaults to


@dataclass(frozen=True, slots=True)
class PixExpiry:
    """How long a Pix charge can be paid: from ``created_at`` until before ``expires_at``."""

    created_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValidationFailed(
                "Pix expiry times must be aware datetimes.",
                param="expires_at",
                code="pix_invalid_expiry",
            )
        if self.expires_at <= self.created_at:
            raise ValidationFailed(
                "A Pix charge must expire after it is created.",
                param="expires_at",
                code="pix_invalid_expiry",
            )

    @classmethod
    def starting(cls, created_at: datetime, lasts: timedelta = DEFAULT_EXPIRY) -> PixExpiry:
        return cls(created_at=created_at, expires_at=created_at + lasts)

    @property
    def seconds(self) -> int:
        """The lifetime in whole seconds, as the Pix API's "expiracao" takes it."""
        return int((self.expires_at - self.created_at).total_seconds())

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def remaining(self, now: datetime) -> timedelta:
        return max(self.expires_at - now, timedelta(0))
