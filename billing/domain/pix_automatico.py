"""Pix Automático (Banco Central do Brasil's recurring Pix): the rail's rules and
the BR Code that carries a recurrence. Pure: no clock, no I/O.

What is followed, and where it comes from (public material, 2025):

* Journeys (BCB, "Pix Automático" regulation; described by the PSPs' public docs,
  e.g. Celcoin "Autorização - Visão Geral", Cielo "QR Code composto"):
  journey 2 is a QR code that only authorises a recurrence; journey 3 is a QR code
  that carries an immediate charge (a ``cob``) *and* the recurrence — paying the
  charge accepts the recurrence.
* Periodicities: weekly, monthly, quarterly, semiannual, annual.
* Retry policies of a recurrence: ``NAO_PERMITE`` (no retry after the due date) or
  ``PERMITE_3R_7D`` (up to three attempts after the due date within seven days).
* Each cycle's charge instruction (agendamento) reaches the payer's PSP from 10 to
  2 days before the due date (QI Tech FAQ: "antecedência mínima de 2 dias").
* On the due date the payer's PSP tries in the morning and, on insufficient funds,
  once more the same evening (the Pix Agendado rule the rail reuses: 0h–8h, then
  18h–21h).
* The composite QR code (Cielo "QR Code composto"): the usual EMV® BR Code with
  an additional URL, the recurrence's location, in its own template. We put it in
  field ID 80 (the first of EMV's unreserved templates 80–99) as
  ``00 = br.gov.bcb.pix`` and ``25 = <location without https://>``, the same shape
  as field 26 of a dynamic code. Journey 2's field 26 carries the GUI only — that
  is checked against the one public example prefix we found (Celcoin, journey 2:
  ``00020126180014br.gov.bcb.pix5204000053039865802BR59…``). A complete worked
  example of a recurrence payload (with its CRC) was not found in the public
  documentation; what is checked is the EMV TLV structure, the CRC-16/CCITT-FALSE
  and that prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from billing.domain.pix import (
    GUI,
    MAX_AMOUNT_MINOR,
    MAX_CITY,
    MAX_NAME,
    MAX_TEMPLATE,
    br_code_crc,
    format_amount,
    normalize_text,
    parse_tlv,
    tlv,
)
from core.errors import ValidationFailed

REC_TEMPLATE = "80"
INSTRUCTION_EARLIEST_DAYS = 10  # an instruction goes to the payer's PSP at most 10 days…
INSTRUCTION_LATEST_DAYS = 2  # …and at least 2 days before the due date
MERCHANT_RETRIES = 3  # PERMITE_3R_7D: up to three more attempts…
MERCHANT_RETRY_DAYS = 7  # …within seven days of the due date


class Periodicity(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


class RetryPolicy(StrEnum):
    NONE = "no_retry"  # NAO_PERMITE
    THREE_IN_SEVEN_DAYS = "3r_7d"  # PERMITE_3R_7D


class Journey(StrEnum):
    AUTHORISE_ONLY = "2"
    PAY_AND_AUTHORISE = "3"


# A plan's (interval, count) and the periodicity the rail knows for it.
_PERIODICITY_OF: dict[tuple[str, int], Periodicity] = {
    ("week", 1): Periodicity.WEEKLY,
    ("month", 1): Periodicity.MONTHLY,
    ("month", 3): Periodicity.QUARTERLY,
    ("month", 6): Periodicity.SEMIANNUAL,
    ("month", 12): Periodicity.ANNUAL,
    ("year", 1): Periodicity.ANNUAL,
}


def periodicity_for(interval: str, count: int) -> Periodicity | None:
    """The rail's periodicity for a plan's billing interval, or None (a daily or
    every-two-months plan cannot be collected by Pix Automático)."""
    return _PERIODICITY_OF.get((interval, count))


def parse_periodicity(value: object) -> Periodicity:
    if not isinstance(value, str) or value not in set(Periodicity):
        raise ValidationFailed(
            "Periodicity must be one of weekly, monthly, quarterly, semiannual, annual.",
            param="periodicity",
            code="invalid_periodicity",
        )
    return Periodicity(value)


def parse_amount(value: object, *, param: str) -> int:
    """A mandate's amount in centavos: a whole number, more than zero, at most a
    BR Code's R$ 9.999.999.999,99."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(
            "An amount is a whole number of centavos.", param=param, code="invalid_amount"
        )
    if not 0 < value <= MAX_AMOUNT_MINOR:
        raise ValidationFailed(
            "An amount must be more than R$ 0,00 and at most R$ 9.999.999.999,99.",
            param=param,
            code="invalid_amount",
        )
    return value


@dataclass(frozen=True, slots=True)
class InstructionWindow:
    earliest: date
    latest: date

    def contains(self, day: date) -> bool:
        return self.earliest <= day <= self.latest


def instruction_window(due: date) -> InstructionWindow:
    """The days on which the instruction for ``due`` may be sent: D-10 to D-2."""
    return InstructionWindow(
        earliest=due - timedelta(days=INSTRUCTION_EARLIEST_DAYS),
        latest=due - timedelta(days=INSTRUCTION_LATEST_DAYS),
    )


def merchant_retry_allowed(*, policy: str, retries_done: int, due: date, today: date) -> str | None:
    """None when the merchant may order one more attempt, else why not."""
    if policy != RetryPolicy.THREE_IN_SEVEN_DAYS:
        return "The payer's authorisation does not allow retries."
    if retries_done >= MERCHANT_RETRIES:
        return "The three retries the rail allows were already made."
    if today > due + timedelta(days=MERCHANT_RETRY_DAYS):
        return "Retries are allowed only within seven days of the due date."
    if today <= due:
        return "A retry can only be ordered after the due date."
    return None


def amount_fits(*, fixed_minor: int | None, max_minor: int | None, amount_minor: int) -> bool:
    """Whether a cycle's amount may be charged under the mandate as authorised."""
    if fixed_minor is not None:
        return amount_minor == fixed_minor
    return max_minor is not None and 0 < amount_minor <= max_minor


# ---------------------------------------------------------------------------
# BR Code


def _location(url: str, param: str) -> str:
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
            'A location must be an https address, written without "https://".',
            param=param,
            code="pix_invalid_url",
        )
    return location


def recurrence_br_code(
    *,
    rec_url: str,
    merchant_name: str,
    merchant_city: str,
    cob_url: str | None = None,
    amount_minor: int | None = None,
) -> str:
    """The QR code (and copy-paste text) of a recurrence: journey 2 without
    ``cob_url``, journey 3 (the composite code: the first charge and the
    recurrence) with it."""
    account = tlv("00", GUI)
    if cob_url is not None:
        account += tlv("25", _location(cob_url, "cob_url"))
    rec = tlv("00", GUI) + tlv("25", _location(rec_url, "rec_url"))
    if len(account) > MAX_TEMPLATE or len(rec) > MAX_TEMPLATE:
        raise ValidationFailed(
            "A location is too long for a BR Code template (at most 77 characters).",
            param="rec_url",
            code="pix_field_too_long",
        )
    parts = [tlv("00", "01")]
    if cob_url is not None:
        parts.append(tlv("01", "12"))  # the immediate charge is single use
    parts += [tlv("26", account), tlv("52", "0000"), tlv("53", "986")]
    if amount_minor is not None:
        parts.append(tlv("54", format_amount(amount_minor)))
    parts += [
        tlv("58", "BR"),
        tlv("59", normalize_text(merchant_name, MAX_NAME, uppercase=True, param="name")),
        tlv("60", normalize_text(merchant_city, MAX_CITY, uppercase=True, param="city")),
        tlv("62", tlv("05", "***")),
        tlv(REC_TEMPLATE, rec),
    ]
    body = "".join(parts) + "6304"
    return body + br_code_crc(body)


@dataclass(frozen=True, slots=True)
class RecurrenceCode:
    rec_url: str
    cob_url: str | None
    amount_minor: int | None
    merchant_name: str

    @property
    def journey(self) -> Journey:
        return Journey.PAY_AND_AUTHORISE if self.cob_url else Journey.AUTHORISE_ONLY


def parse_recurrence_br_code(payload: str) -> RecurrenceCode:
    """Read a recurrence BR Code back, CRC first; refuses a code without field 80."""
    from billing.domain.pix import parse_amount as parse_field_54

    payload = payload.strip()
    fields = parse_tlv(payload)
    crc = fields.get("63", "")
    if len(crc) != 4 or not payload.endswith("6304" + crc):
        raise ValidationFailed(
            "Field 63 (CRC) must be the last field.", param="63", code="pix_malformed"
        )
    if crc.upper() != br_code_crc(payload[:-4]):
        raise ValidationFailed("The CRC does not match.", param="63", code="pix_crc_mismatch")
    if REC_TEMPLATE not in fields:
        raise ValidationFailed(
            "The code carries no recurrence (field 80).", param="80", code="pix_not_recurrence"
        )
    rec = parse_tlv(fields[REC_TEMPLATE], where="field 80")
    account = parse_tlv(fields.get("26", ""), where="field 26")
    if rec.get("00", "").lower() != GUI or account.get("00", "").lower() != GUI:
        raise ValidationFailed("Not a Pix code.", param="26", code="pix_not_pix")
    if "25" not in rec:
        raise ValidationFailed(
            "Field 80 has no recurrence location.", param="80", code="pix_missing_field"
        )
    amount = fields.get("54")
    return RecurrenceCode(
        rec_url=rec["25"],
        cob_url=account.get("25"),
        amount_minor=None if amount is None else parse_field_54(amount),
        merchant_name=fields.get("59", ""),
    )


def recurrence_qr(payload: str) -> Any:
    """The QR symbol of a recurrence's BR Code (checked first, CRC and field 80),
    error correction M exactly, never a Micro QR — as ``pix_qr`` draws a charge's.
    A journey-2 code has no charge location in field 26, so ``pix_qr``'s own
    check would refuse it."""
    import segno

    parse_recurrence_br_code(payload)
    return segno.make(payload.strip(), error="m", boost_error=False, micro=False)


def recurrence_qr_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    import io

    out = io.BytesIO()
    recurrence_qr(payload).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def recurrence_qr_svg(payload: str, *, scale: int = 4, border: int = 4) -> str:
    import io

    out = io.BytesIO()
    recurrence_qr(payload).save(out, kind="svg", scale=scale, border=border, xmldecl=False)
    return out.getvalue().decode("utf-8")
