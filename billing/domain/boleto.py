"""The FEBRABAN "boleto de cobrança": barcode, linha digitável and segunda via.

The barcode holds 44 digits (positions 1-based, as FEBRABAN numbers them)::

    1-3   bank code (COMPE)          4     currency code (9 = real)
    5     general check digit         6-9   due-date factor
    10-19 amount in centavos          20-44 free field (issuer-specific)

The general check digit is mod 11 over the other 43 digits, weights 2..9 from
the right; 0, 10 and 11 become 1 (a barcode never carries 0 there).

The linha digitável is what people type: the same 44 digits reordered in five
fields, fields 1-3 closed by a mod-10 check digit (weights 2,1 from the right,
the digits of each product summed)::

    field 1: bank, currency, free field 1-5   + DV  -> AAAAA.AAAAA
    field 2: free field 6-15                  + DV  -> BBBBB.BBBBBB
    field 3: free field 16-25                 + DV  -> CCCCC.CCCCCC
    field 4: the general check digit                -> D
    field 5: due-date factor + amount               -> EEEEEEEEEEEEEE

Due-date factor: days since 1997-10-07 (factor 1000 = 2000-07-03). It reached
9999 on 2025-02-21 and FEBRABAN restarted it at 1000 on 2025-02-22; it keeps
counting from there and wraps to 1000 again after each 9999 (next: 2049-10-13).
A factor is therefore ambiguous alone: turning it back into a date needs a
reference date, and the nearest candidate wins.

Free field, our sandbox layout (a real bank imposes its own)::

    20-26  agreement ("convênio"), 7 digits, zero-padded
    27-43  our number ("nosso número"), 17 digits, zero-padded
    44     mod-10 check digit of positions 20-43

Segunda via: after the due date a boleto is re-issued for a new date with a
late fee (multa, a one-off percentage) and interest (juros, a monthly rate
charged pro rata per calendar day late, simple interest, a 30-day month as
Brazilian banks count it). Each charge is computed in ``Decimal`` and rounded
once, half-up, to centavos; the new amount is the sum of the rounded parts, so
the breakdown always adds up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.errors import ValidationFailed

CURRENCY_REAL = "9"
MAX_AMOUNT_MINOR = 99_999_999_99  # ten digits of centavos: R$ 99.999.999,99

FACTOR_BASE_DATE = date(1997, 10, 7)
FACTOR_RESET_DATE = date(2025, 2, 22)  # factor 1000 again, the day after 9999
FACTOR_MIN = 1000
FACTOR_MAX = 9999
_FACTOR_CYCLE = FACTOR_MAX - FACTOR_MIN + 1  # 9000 days
_FIRST_FACTOR_DATE = FACTOR_BASE_DATE + timedelta(days=FACTOR_MIN)  # 2000-07-03

AGREEMENT_DIGITS = 7
OUR_NUMBER_DIGITS = 17

_NOT_DIGITS = re.compile(r"[\s.\-]")


def _fail(message: str, code: str, param: str) -> ValidationFailed:
    return ValidationFailed(message, param=param, code=code)


# --- check digits ---------------------------------------------------------


def mod10(digits: str) -> int:
    """FEBRABAN mod 10: weights 2,1,2,... from the right, digits of products summed."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def mod11_barcode(digits: str) -> int:
    """The barcode's general check digit: weights 2..9 from the right; 0, 10, 11 -> 1."""
    total = sum(int(char) * (2 + i % 8) for i, char in enumerate(reversed(digits)))
    digit = 11 - total % 11
    return 1 if digit in (0, 10, 11) else digit


# --- due-date factor -----------------------------------------------------


def due_date_factor(due: date) -> int:
    """The 4-digit factor printed in the barcode for a due date (current FEBRABAN rule)."""
    if due < _FIRST_FACTOR_DATE:
        raise _fail(
            f"Boleto due dates start on {_FIRST_FACTOR_DATE.isoformat()} (factor 1000).",
            "invalid_due_date",
            "due_date",
        )
    if due < FACTOR_RESET_DATE:
        return (due - FACTOR_BASE_DATE).days
    return FACTOR_MIN + (due - FACTOR_RESET_DATE).days % _FACTOR_CYCLE


def _factor_dates(factor: int, until: date) -> Iterable[date]:
    """Every date that has carried ``factor``, before and after each reset."""
    yield FACTOR_BASE_DATE + timedelta(days=factor)  # the first count, up to 2025-02-21
    day = FACTOR_RESET_DATE + timedelta(days=factor - FACTOR_MIN)
    while day <= until:
        yield day
        day += timedelta(days=_FACTOR_CYCLE)
    yield day


def due_date_from_factor(factor: int, *, near: date) -> date | None:
    """The due date a factor stands for, the candidate nearest to ``near``.

    Factor 0000 means "no due date" (à vista) and gives ``None``.
    """
    if factor == 0:
        return None
    if not FACTOR_MIN <= factor <= FACTOR_MAX:
        raise _fail(f"Bad due-date factor {factor:04d}.", "invalid_due_date", "due_date")
    return min(_factor_dates(factor, near), key=lambda day: abs((day - near).days))


# --- the barcode ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Barcode:
    """The 44 digits of a boleto de cobrança, split into their fields."""

    bank_code: str
    currency_code: str
    check_digit: int
    due_factor: int
    amount_minor: int
    free_field: str

    @property
    def digits(self) -> str:
        return (
            f"{self.bank_code}{self.currency_code}{self.check_digit}"
            f"{self.due_factor:04d}{self.amount_minor:010d}{self.free_field}"
        )

    @property
    def linha_digitavel(self) -> str:
        """The 47 digits of the typed line, unformatted."""
        return linha_digitavel(self.digits)

    @property
    def formatted_linha_digitavel(self) -> str:
        return format_linha_digitavel(self.linha_digitavel)

    def due_date(self, *, near: date) -> date | None:
        return due_date_from_factor(self.due_factor, near=near)


def _check_bank_code(bank_code: str) -> None:
    if not (len(bank_code) == 3 and bank_code.isdigit() and bank_code.isascii()):
        raise _fail(
            f"A bank code has 3 digits (e.g. 001, 341); got {bank_code!r}.",
            "invalid_bank_code",
            "bank_code",
        )
    if bank_code == "000":
        raise _fail("Bank code 000 does not exist.", "invalid_bank_code", "bank_code")


def _check_amount(amount_minor: int) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amount_minor must be an int of centavos.")
    if amount_minor <= 0:
        raise _fail("A boleto's amount must be above zero.", "invalid_amount", "amount")
    if amount_minor > MAX_AMOUNT_MINOR:
        raise _fail(
            "A boleto cannot exceed R$ 99.999.999,99 (ten digits of centavos).",
            "amount_too_large",
            "amount",
        )


def _check_free_field(free_field: str) -> None:
    if not (len(free_field) == 25 and free_field.isdigit() and free_field.isascii()):
        raise _fail(
            f"The free field has exactly 25 digits; got {len(free_field)} characters.",
            "invalid_free_field",
            "free_field",
        )


def make_barcode(*, bank_code: str, due: date, amount_minor: int, free_field: str) -> Barcode:
    """Build a barcode (with its general check digit) for a due date and an amount."""
    _check_bank_code(bank_code)
    _check_amount(amount_minor)
    _check_free_field(free_field)
    factor = due_date_factor(due)
    body = f"{bank_code}{CURRENCY_REAL}{factor:04d}{amount_minor:010d}{free_field}"
    return Barcode(bank_code, CURRENCY_REAL, mod11_barcode(body), factor, amount_minor, free_field)


def parse_barcode(raw: str) -> Barcode:
    """Read 44 barcode digits back, verifying the general check digit."""
    digits = _NOT_DIGITS.sub("", raw)
    if not (len(digits) == 44 and digits.isdigit() and digits.isascii()):
        raise _fail("A boleto barcode has 44 digits.", "invalid_barcode", "barcode")
    if digits[3] != CURRENCY_REAL:
        raise _fail(
            "Only boletos in reais (currency 9) are supported.", "invalid_barcode", "barcode"
        )
    _check_bank_code(digits[:3])
    expected = mod11_barcode(digits[:4] + digits[5:])
    if int(digits[4]) != expected:
        raise _fail(
            "The barcode's general check digit does not match.", "invalid_barcode", "barcode"
        )
    return Barcode(
        bank_code=digits[:3],
        currency_code=digits[3],
        check_digit=expected,
        due_factor=int(digits[5:9]),
        amount_minor=int(digits[9:19]),
        free_field=digits[19:],
    )


# --- the linha digitável -----------------------------------------------------


def linha_digitavel(barcode_digits: str) -> str:
    """The 47 typed digits for 44 barcode digits (no check is made here)."""
    b = barcode_digits
    field1 = b[0:4] + b[19:24]
    field2 = b[24:34]
    field3 = b[34:44]
    return f"{field1}{mod10(field1)}{field2}{mod10(field2)}{field3}{mod10(field3)}{b[4]}{b[5:19]}"


def format_linha_digitavel(digits: str) -> str:
    """``AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE``."""
    d = digits
    return f"{d[0:5]}.{d[5:10]} {d[10:15]}.{d[15:21]} {d[21:26]}.{d[26:32]} {d[32]} {d[33:47]}"


def parse_linha_digitavel(raw: str) -> Barcode:
    """Turn a typed line (formatted or not) back into the barcode, every check digit verified."""
    digits = _NOT_DIGITS.sub("", raw)
    if not (len(digits) == 47 and digits.isdigit() and digits.isascii()):
        raise _fail(
            "A boleto's linha digitável has 47 digits.",
            "invalid_linha_digitavel",
            "linha_digitavel",
        )
    fields = ((digits[0:9], digits[9]), (digits[10:20], digits[20]), (digits[21:31], digits[31]))
    for number, (body, check) in enumerate(fields, start=1):
        if mod10(body) != int(check):
            raise _fail(
                f"Field {number} of the linha digitável has a wrong check digit: a typo?",
                "invalid_linha_digitavel",
                "linha_digitavel",
            )
    barcode = digits[0:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20]
    barcode += digits[21:31]
    try:
        return parse_barcode(barcode)
    except ValidationFailed as exc:
        raise _fail(
            f"This linha digitável is not valid: {exc.message}",
            "invalid_linha_digitavel",
            "linha_digitavel",
        ) from exc


# --- the sandbox free field and the boleto as issued --------------------------------


def sandbox_free_field(*, agreement: str, our_number: str) -> str:
    """Our sandbox layout: convênio (7) + nosso número (17) + mod-10 check digit."""
    if not (agreement.isdigit() and agreement.isascii() and len(agreement) <= AGREEMENT_DIGITS):
        raise _fail(
            f"The agreement (convênio) has up to {AGREEMENT_DIGITS} digits.",
            "invalid_agreement",
            "agreement",
        )
    if not (our_number.isdigit() and our_number.isascii() and len(our_number) <= OUR_NUMBER_DIGITS):
        raise _fail(
            f"Our number (nosso número) has up to {OUR_NUMBER_DIGITS} digits.",
            "invalid_our_number",
            "our_number",
        )
    body = agreement.zfill(AGREEMENT_DIGITS) + our_number.zfill(OUR_NUMBER_DIGITS)
    return f"{body}{mod10(body)}"


def parse_sandbox_free_field(free_field: str) -> tuple[str, str]:
    """(agreement, our number) back from a sandbox free field, its check digit verified."""
    _check_free_field(free_field)
    if mod10(free_field[:24]) != int(free_field[24]):
        raise _fail(
            "The free field's check digit does not match.", "invalid_free_field", "free_field"
        )
    return free_field[:AGREEMENT_DIGITS], free_field[AGREEMENT_DIGITS:24]


@dataclass(frozen=True, slots=True)
class BoletoData:
    """A boleto as issued: what the slip prints, as plain data."""

    barcode: Barcode
    due_date: date
    our_number: str
    agreement: str = ""
    document_number: str = ""
    issued_on: date | None = None
    instructions: tuple[str, ...] = ()

    @property
    def amount_minor(self) -> int:
        return self.barcode.amount_minor


def sandbox_boleto(
    *,
    bank_code: str,
    agreement: str,
    our_number: str,
    due: date,
    amount_minor: int,
    document_number: str = "",
    issued_on: date | None = None,
    instructions: tuple[str, ...] = (),
) -> BoletoData:
    free_field = sandbox_free_field(agreement=agreement, our_number=our_number)
    return BoletoData(
        barcode=make_barcode(
            bank_code=bank_code, due=due, amount_minor=amount_minor, free_field=free_field
        ),
        due_date=due,
        our_number=free_field[AGREEMENT_DIGITS:24],
        agreement=free_field[:AGREEMENT_DIGITS],
        document_number=document_number,
        issued_on=issued_on,
        instructions=instructions,
    )


# --- segunda via --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LateCharges:
    """What a boleto paid ``days_late`` calendar days after its due date owes."""

    original_minor: int
    days_late: int
    fine_minor: int  # multa
    interest_minor: int  # juros
    total_minor: int


def _round_centavos(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def late_charges(
    *,
    amount_minor: int,
    original_due: date,
    new_due: date,
    fine_percent: Decimal,
    monthly_interest_percent: Decimal,
) -> LateCharges:
    """Multa once, plus juros of ``monthly_interest_percent / 30`` per calendar day late.

    Nothing is owed on or before the original due date.
    """
    _check_amount(amount_minor)
    for name, rate in (
        ("fine_percent", fine_percent),
        ("interest_percent", monthly_interest_percent),
    ):
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
            raise _fail(f"{name} must be a Decimal of zero or more.", "invalid_rate", name)
    days = max(0, (new_due - original_due).days)
    if days == 0:
        return LateCharges(amount_minor, 0, 0, 0, amount_minor)
    amount = Decimal(amount_minor)
    fine = _round_centavos(amount * fine_percent / 100)
    interest = _round_centavos(amount * monthly_interest_percent / 100 * days / 30)
    return LateCharges(amount_minor, days, fine, interest, amount_minor + fine + interest)


def segunda_via(
    boleto: BoletoData,
    *,
    new_due: date,
    fine_percent: Decimal,
    monthly_interest_percent: Decimal,
    issued_on: date | None = None,
) -> tuple[BoletoData, LateCharges]:
    """Re-issue a boleto for ``new_due`` with multa and juros; our number stays the same."""
    if new_due < boleto.due_date:
        raise _fail(
            "A segunda via cannot fall due before the original boleto.",
            "invalid_due_date",
            "due_date",
        )
    charges = late_charges(
        amount_minor=boleto.amount_minor,
        original_due=boleto.due_date,
        new_due=new_due,
        fine_percent=fine_percent,
        monthly_interest_percent=monthly_interest_percent,
    )
    barcode = make_barcode(
        bank_code=boleto.barcode.bank_code,
        due=new_due,
        amount_minor=charges.total_minor,
        free_field=boleto.barcode.free_field,
    )
    reissued = BoletoData(
        barcode=barcode,
        due_date=new_due,
        our_number=boleto.our_number,
        agreement=boleto.agreement,
        document_number=boleto.document_number,
        issued_on=issued_on or boleto.issued_on,
        instructions=boleto.instructions,
    )
    return reissued, charges
