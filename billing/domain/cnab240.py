"""FEBRABAN CNAB 240 return files (arquivo retorno de cobrança): a pure parser.

Layout as FEBRABAN publishes it ("Layout Padrão de Arquivos CNAB 240", the
cobrança service, retorno: header de arquivo, header de lote, detail segments T
and U, trailer de lote, trailer de arquivo), as reproduced in the banks' manuals
built on it, e.g. Banrisul "Leiaute CNAB 240 Posições Padrão Febraban"
(https://livrozilla.com/doc/441576/unidade-de-atendimento-e-servi%C3%A7os) and
CAIXA "Leiaute de Arquivo Eletrônico Padrão CNAB 240 Cobrança Bancária"
(https://id.scribd.com/document/97088700/CNAB-240-SICOB). Positions are 1-based
and inclusive, as the layout prints them:

every record   001-003 bank code; 004-007 lote (0000 header, 9999 trailer de
               arquivo); 008 record type: 0 header de arquivo, 1 header de lote,
               3 detail, 5 trailer de lote, 9 trailer de arquivo
header arq.    143 código remessa/retorno (2 = retorno); 144-151 generation date
                (DDMMAAAA); 158-163 NSA (file sequence number)
header lote    009 operation (T = retorno); 010-011 service (01 = cobrança)
segment T      009-013 record number in the lote; 014 segment "T"; 016-017
               código de movimento retorno; 038-057 nosso número; 059-073 número
               do documento; 074-081 vencimento; 082-096 valor nominal (2 dec.)
segment U      014 segment "U"; 016-017 código de movimento; 018-032 juros/multa;
               033-047 desconto; 048-062 abatimento; 063-077 IOF; 078-092 valor
               pago pelo pagador; 093-107 valor líquido creditado; 138-145 data da
               ocorrência; 146-153 data do crédito
trailer lote   018-023 quantidade de registros no lote (its header and trailer
               included)
trailer arq.   018-023 quantidade de lotes; 024-029 quantidade de registros
               (every line of the file)

Movement codes that mean the slip was paid: 06 (liquidação) and 17 (liquidação
após baixa ou título não registrado). Every other code (02 entrada confirmada,
03 rejeitada, 09 baixa, 28 tarifas…) is carried through and reported as not a
payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LINE_LENGTH = 240
PAID_CODES = frozenset({"06", "17"})


class ReturnFileError(ValueError):
    """A malformed return file: names the line (1-based) and the field."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"line {line}, {field}: {message}")
        self.line = line
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ReturnEntry:
    """One título of the file: its T segment and the U that follows it."""

    line: int  # the T segment's line
    bank_code: str
    movement_code: str
    our_number: str  # nosso número, without the padding
    document_number: str
    due_date: date | None
    face_value_minor: int  # valor nominal do título
    paid_minor: int  # valor pago pelo pagador
    fees_minor: int  # juros / multa / encargos
    discount_minor: int
    rebate_minor: int  # abatimento
    credited_minor: int  # valor líquido creditado
    occurred_on: date | None
    credited_on: date | None

    @property
    def is_payment(self) -> bool:
        return self.movement_code in PAID_CODES


@dataclass(frozen=True, slots=True)
class ReturnFile:
    bank_code: str
    sequence: int  # NSA
    generated_on: date | None
    entries: tuple[ReturnEntry, ...]


def _field(text: str, start: int, end: int) -> str:
    """Positions ``start``..``end`` as the layout numbers them (1-based, inclusive)."""
    return text[start - 1 : end]


def _number(text: str, start: int, end: int, *, line: int, field: str) -> int:
    raw = _field(text, start, end)
    if not raw.isascii() or not raw.isdigit():
        raise ReturnFileError(line, field, f"positions {start}-{end} must be digits, got {raw!r}")
    return int(raw)


def _date(text: str, start: int, end: int, *, line: int, field: str) -> date | None:
    raw = _field(text, start, end)
    if raw.strip("0 ") == "":
        return None  # the layout leaves optional dates zeroed or blank
    if not raw.isascii() or not raw.isdigit():
        raise ReturnFileError(line, field, f"positions {start}-{end} must be DDMMAAAA")
    try:
        return date(int(raw[4:8]), int(raw[2:4]), int(raw[0:2]))
    except ValueError:
        raise ReturnFileError(line, field, f"{raw!r} is not a date (DDMMAAAA)") from None


def _lines(content: bytes) -> list[str]:
    try:
        text = content.decode("latin-1")  # CNAB files are 8-bit text, usually ISO-8859-1
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise ReturnFileError(1, "file", "not a text file") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()  # a final newline (or a few) is not a record
    if not lines:
        raise ReturnFileError(1, "file", "the file is empty")
    return lines


def parse_return_file(content: bytes) -> ReturnFile:
    """Parse a whole CNAB 240 cobrança return file, or raise ``ReturnFileError``
    naming the first bad line and field. Nothing is partially returned."""
    lines = _lines(content)
    for number, text in enumerate(lines, start=1):
        if len(text) != LINE_LENGTH:
            raise ReturnFileError(
                number, "record", f"a line has {LINE_LENGTH} characters, this one {len(text)}"
            )
        if not text.isprintable():
            raise ReturnFileError(number, "record", "the line holds control or binary characters")
        kind = _field(text, 8, 8)
        if kind not in "01359" or kind == "":
            raise ReturnFileError(number, "tipo de registro (008)", f"unknown record type {kind!r}")

    header = lines[0]
    if _field(header, 8, 8) != "0":
        raise ReturnFileError(
            1, "tipo de registro (008)", "the file must start with its header (0)"
        )
    if _field(header, 143, 143) != "2":
        raise ReturnFileError(
            1, "código remessa/retorno (143)", "not a return file (expected 2 = retorno)"
        )
    bank_code = _field(header, 1, 3)
    _number(header, 1, 3, line=1, field="código do banco (001-003)")
    sequence = _number(header, 158, 163, line=1, field="NSA (158-163)")
    generated_on = _date(header, 144, 151, line=1, field="data de geração (144-151)")

    last = len(lines)
    if _field(lines[-1], 8, 8) != "9":
        raise ReturnFileError(
            last, "tipo de registro (008)", "the file must end with its trailer (9)"
        )

    entries: list[ReturnEntry] = []
    lotes = 0
    index = 1  # 0-based index of the line being read
    while index < last - 1:
        number = index + 1
        text = lines[index]
        if _field(text, 8, 8) != "1":
            raise ReturnFileError(
                number, "tipo de registro (008)", "expected a header de lote (1) here"
            )
        lote = _field(text, 4, 7)
        lote_start = index
        lotes += 1
        index += 1
        pending_t: tuple[int, str] | None = None
        while True:
            if index >= last - 1:
                raise ReturnFileError(
                    index + 1, "tipo de registro (008)", f"lote {lote} has no trailer (5)"
                )
            number = index + 1
            text = lines[index]
            kind = _field(text, 8, 8)
            if _field(text, 4, 7) != lote:
                raise ReturnFileError(number, "lote (004-007)", f"expected lote {lote}")
            if kind == "5":
                if pending_t is not None:
                    raise ReturnFileError(
                        pending_t[0], "segmento (014)", "a segment T without its segment U"
                    )
                declared = _number(
                    text, 18, 23, line=number, field="quantidade de registros do lote (018-023)"
                )
                counted = index - lote_start + 1
                if declared != counted:
                    raise ReturnFileError(
                        number,
                        "quantidade de registros do lote (018-023)",
                        f"says {declared}, the lote has {counted}",
                    )
                index += 1
                break
            if kind != "3":
                raise ReturnFileError(
                    number, "tipo de registro (008)", f"record type {kind} inside lote {lote}"
                )
            segment = _field(text, 14, 14)
            if segment == "T":
                if pending_t is not None:
                    raise ReturnFileError(
                        pending_t[0], "segmento (014)", "a segment T without its segment U"
                    )
                pending_t = (number, text)
            elif segment == "U":
                if pending_t is None:
                    raise ReturnFileError(number, "segmento (014)", "a segment U without its T")
                entries.append(_entry(pending_t[0], pending_t[1], number, text))
                pending_t = None
            # Other segments (Y and the like) carry nothing we settle on.
            index += 1

    trailer = lines[-1]
    declared_lotes = _number(trailer, 18, 23, line=last, field="quantidade de lotes (018-023)")
    if declared_lotes != lotes:
        raise ReturnFileError(
            last, "quantidade de lotes (018-023)", f"says {declared_lotes}, the file has {lotes}"
        )
    declared_records = _number(
        trailer, 24, 29, line=last, field="quantidade de registros (024-029)"
    )
    if declared_records != last:
        raise ReturnFileError(
            last,
            "quantidade de registros (024-029)",
            f"says {declared_records}, the file has {last}",
        )
    return ReturnFile(
        bank_code=bank_code, sequence=sequence, generated_on=generated_on, entries=tuple(entries)
    )


def _entry(t_line: int, t: str, u_line: int, u: str) -> ReturnEntry:
    def money(text: str, start: int, end: int, line: int, name: str) -> int:
        # Amounts are 13 integer digits and 2 decimals, no separator: centavos.
        return _number(text, start, end, line=line, field=f"{name} ({start:03}-{end:03})")

    our_number = _field(t, 38, 57).strip()
    if not our_number:
        raise ReturnFileError(t_line, "nosso número (038-057)", "is blank")
    return ReturnEntry(
        line=t_line,
        bank_code=_field(t, 1, 3),
        movement_code=_field(t, 16, 17),
        our_number=our_number.lstrip("0") or "0",
        document_number=_field(t, 59, 73).strip(),
        due_date=_date(t, 74, 81, line=t_line, field="vencimento (074-081)"),
        face_value_minor=money(t, 82, 96, t_line, "valor nominal"),
        fees_minor=money(u, 18, 32, u_line, "juros/multa"),
        discount_minor=money(u, 33, 47, u_line, "desconto"),
        rebate_minor=money(u, 48, 62, u_line, "abatimento"),
        paid_minor=money(u, 78, 92, u_line, "valor pago"),
        credited_minor=money(u, 93, 107, u_line, "valor líquido creditado"),
        occurred_on=_date(u, 138, 145, line=u_line, field="data da ocorrência (138-145)"),
        credited_on=_date(u, 146, 153, line=u_line, field="data do crédito (146-153)"),
    )
