"""The FEBRABAN boleto: barcode, linha digitável, due-date factor, segunda via and
the printable slip, checked against published examples, not only our generator."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from billing.boleto_pdf import bank_code_with_digit, itf_svg, render_boleto_html, render_boleto_pdf
from billing.domain.boleto import (
    MAX_AMOUNT_MINOR,
    BoletoData,
    due_date_factor,
    due_date_from_factor,
    late_charges,
    make_barcode,
    mod10,
    mod11_barcode,
    parse_barcode,
    parse_linha_digitavel,
    parse_sandbox_free_field,
    sandbox_boleto,
    sandbox_free_field,
    segunda_via,
)
from core.errors import ValidationFailed

# (source, linha digitável, barcode, due date, amount in centavos)
PUBLISHED = [
    (  # pyboleto (eduardocereto/pyboleto) tests/test_banco_do_brasil.py
        "pyboleto BB",
        "00190.00009 07777.777009 00087.654182 6 49000000295295",
        "00196490000002952950000007777777000008765418",
        date(2011, 3, 8),
        295295,
    ),
    (  # pyboleto (eduardocereto/pyboleto) tests/test_banco_itau.py
        "pyboleto Itaú",
        "34191.09008 00015.710296 30132.800001 9 43950000002980",
        "34199439500000029801090000015710293013280000",
        date(2009, 10, 19),
        2980,
    ),
    (  # brcobranca (kivanio/brcobranca) spec/brcobranca/boleto/banco_brasil_spec.rb
        "brcobranca BB 135,00",
        "00190.00009 01238.798977 77700.168188 3 37690000013500",
        "00193376900000135000000001238798977770016818",
        date(2008, 2, 1),
        13500,
    ),
    (  # brcobranca (kivanio/brcobranca) spec/brcobranca/boleto/banco_brasil_spec.rb
        "brcobranca BB 723,56",
        "00190.00009 01238.798779 77700.168188 5 37710000072356",
        "00195377100000723560000001238798777770016818",
        date(2008, 2, 3),
        72356,
    ),
    (  # brutils-python (brazilian-utils/brutils-python) README, format_boleto: the
        # widely quoted BB example, R$ 1,00, factor 3737 (its fields give the barcode).
        "brutils BB 1,00",
        "00190.50095 40144.816069 06809.350314 3 37370000000100",
        "00193373700000001000500940144816060680935031",
        date(2007, 12, 31),
        100,
    ),
]


@pytest.mark.parametrize(("source", "linha", "barcode", "due", "amount"), PUBLISHED)
def test_published_examples_parse_and_regenerate(
    source: str, linha: str, barcode: str, due: date, amount: int
) -> None:
    parsed = parse_linha_digitavel(linha)
    assert parsed.digits == barcode, source
    assert parsed.amount_minor == amount
    assert parsed.due_date(near=due) == due
    assert parsed.formatted_linha_digitavel == linha
    assert parse_barcode(barcode) == parsed
    assert parse_linha_digitavel(linha.replace(".", "").replace(" ", "")) == parsed

    generated = make_barcode(
        bank_code=barcode[:3], due=due, amount_minor=amount, free_field=barcode[19:]
    )
    assert generated.digits == barcode, source
    assert generated.formatted_linha_digitavel == linha


def test_check_digit_functions_on_published_fields() -> None:
    # MoisesMsa/boleto test/boleto_test.exs: the three field digits of the BB R$ 1,00 example.
    assert mod10("001905009") == 5
    assert mod10("4014481606") == 9
    assert mod10("0680935031") == 4
    # General digit: 0, 10 and 11 all become 1.
    assert mod11_barcode("0" * 43) == 1  # remainder 0 -> 11
    assert mod11_barcode("0" * 42 + "6") == 1  # 6 x 2 = 12, remainder 1 -> 10
    assert mod11_barcode("0" * 42 + "5") == 1  # 5 x 2 = 10, remainder 10 -> 1


# brcobranca (kivanio/brcobranca) spec/brcobranca/calculo_data_spec.rb, "Calcula o fator de
# vencimento", including FEBRABAN's reset: 9999 on 2025-02-21, 1000 again on 2025-02-22.
FACTORS = [
    (date(2000, 7, 3), 1000),
    (date(2000, 7, 5), 1002),
    (date(2002, 5, 1), 1667),
    (date(2008, 2, 1), 3769),
    (date(2010, 11, 17), 4789),
    (date(2025, 2, 21), 9999),
    (date(2025, 2, 22), 1000),
    (date(2025, 2, 23), 1001),
]


@pytest.mark.parametrize(("due", "factor"), FACTORS)
def test_due_date_factor_both_sides_of_the_reset(due: date, factor: int) -> None:
    assert due_date_factor(due) == factor
    assert due_date_from_factor(factor, near=due) == due


def test_factor_back_to_a_date_picks_the_nearest_cycle() -> None:
    # 1000 meant 2000-07-03 and means 2025-02-22 again; the reference date decides.
    assert due_date_from_factor(1000, near=date(2001, 1, 1)) == date(2000, 7, 3)
    assert due_date_from_factor(1000, near=date(2025, 3, 1)) == date(2025, 2, 22)
    assert due_date_from_factor(1500, near=date(2026, 5, 1)) == date(2026, 7, 7)
    assert due_date_from_factor(9999, near=date(2025, 3, 1)) == date(2025, 2, 21)
    # The next wrap: 9999 on 2049-10-13, 1000 on 2049-10-14.
    assert due_date_factor(date(2049, 10, 13)) == 9999
    assert due_date_factor(date(2049, 10, 14)) == 1000
    assert due_date_from_factor(1000, near=date(2049, 10, 1)) == date(2049, 10, 14)
    assert due_date_from_factor(0, near=date(2026, 1, 1)) is None  # no due date


def test_factor_refuses_dates_before_factor_1000() -> None:
    with pytest.raises(ValidationFailed) as info:
        due_date_factor(date(2000, 7, 2))
    assert info.value.code == "invalid_due_date"


def test_after_the_reset_barcode_round_trips() -> None:
    barcode = make_barcode(
        bank_code="341", due=date(2026, 3, 10), amount_minor=123456, free_field="1" * 25
    )
    assert barcode.due_factor == 1381  # 2025-02-22 + 381 days
    digits = barcode.digits
    assert len(digits) == 44
    assert digits[5:9] == "1381"
    assert digits[9:19] == "0000123456"
    assert len(barcode.linha_digitavel) == 47
    assert re.fullmatch(
        r"\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}", barcode.formatted_linha_digitavel
    )
    again = parse_linha_digitavel(barcode.formatted_linha_digitavel)
    assert again == barcode
    assert again.due_date(near=date(2026, 3, 1)) == date(2026, 3, 10)


def _code(fn: Callable[..., object], **kwargs: object) -> str:
    with pytest.raises(ValidationFailed) as info:
        fn(**kwargs)
    return str(info.value.code)


GOOD = {"bank_code": "001", "due": date(2026, 3, 10), "amount_minor": 100, "free_field": "0" * 25}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount_minor": 0}, "invalid_amount"),
        ({"amount_minor": -100}, "invalid_amount"),
        ({"amount_minor": MAX_AMOUNT_MINOR + 1}, "amount_too_large"),
        ({"bank_code": "01"}, "invalid_bank_code"),
        ({"bank_code": "0011"}, "invalid_bank_code"),
        ({"bank_code": "ab1"}, "invalid_bank_code"),
        ({"bank_code": "000"}, "invalid_bank_code"),
        ({"free_field": "0" * 24}, "invalid_free_field"),
        ({"free_field": "0" * 26}, "invalid_free_field"),
        ({"free_field": "0" * 24 + "x"}, "invalid_free_field"),
        ({"due": date(1999, 1, 1)}, "invalid_due_date"),
    ],
)
def test_bad_barcode_input_is_refused(change: dict[str, Any], code: str) -> None:
    assert _code(make_barcode, **{**GOOD, **change}) == code


def test_largest_amount_fits() -> None:
    barcode = make_barcode(**{**GOOD, "amount_minor": MAX_AMOUNT_MINOR})
    assert barcode.digits[9:19] == "9999999999"
    with pytest.raises(TypeError):
        make_barcode(**{**GOOD, "amount_minor": Decimal("1.00")})


LINHA = PUBLISHED[0][1]


def _with_digit(linha: str, index: int, delta: int = 1) -> str:
    digits = re.sub(r"\D", "", linha)
    changed = str((int(digits[index]) + delta) % 10)
    return digits[:index] + changed + digits[index + 1 :]


@pytest.mark.parametrize(
    ("index", "fragment"),
    [
        (2, "Field 1"),  # bank code digit
        (9, "Field 1"),  # field 1's own check digit
        (14, "Field 2"),
        (31, "Field 3"),
        (32, "general check digit"),  # field 4
        (40, "general check digit"),  # amount, in field 5: only the general digit sees it
        (36, "general check digit"),  # due-date factor, in field 5
    ],
)
def test_a_typo_anywhere_in_the_linha_is_caught(index: int, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_linha_digitavel(_with_digit(LINHA, index))
    assert info.value.code == "invalid_linha_digitavel"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    "raw", ["", "0019000009", LINHA + "1", LINHA.replace("0", "O", 1), "8" * 48]
)
def test_linha_of_wrong_shape_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_linha_digitavel(raw)
    assert info.value.code == "invalid_linha_digitavel"


def test_barcode_with_wrong_general_digit_is_refused() -> None:
    barcode = PUBLISHED[0][2]
    with pytest.raises(ValidationFailed) as info:
        parse_barcode(barcode[:4] + "7" + barcode[5:])
    assert info.value.code == "invalid_barcode"


def test_sandbox_free_field_layout() -> None:
    free = sandbox_free_field(agreement="1234567", our_number="42")
    assert free[:7] == "1234567"
    assert free[7:24] == "00000000000000042"
    assert free[24] == str(mod10(free[:24]))
    assert parse_sandbox_free_field(free) == ("1234567", "00000000000000042")
    with pytest.raises(ValidationFailed):
        parse_sandbox_free_field(free[:24] + str((int(free[24]) + 1) % 10))
    with pytest.raises(ValidationFailed) as info:
        sandbox_free_field(agreement="12345678", our_number="1")
    assert info.value.code == "invalid_agreement"
    with pytest.raises(ValidationFailed) as info:
        sandbox_free_field(agreement="1", our_number="1" * 18)
    assert info.value.code == "invalid_our_number"


# --- segunda via ---------------------------------------------------------------


def test_late_charges_worked_example() -> None:
    # R$ 1.000,00 paid 10 days late, multa 2 %, juros 1 % a month:
    # multa 20,00; juros 1000 x 1 % / 30 x 10 = 3,333... -> 3,33; total 1.023,33.
    charges = late_charges(
        amount_minor=100000,
        original_due=date(2026, 3, 10),
        new_due=date(2026, 3, 20),
        fine_percent=Decimal("2"),
        monthly_interest_percent=Decimal("1"),
    )
    assert (charges.days_late, charges.fine_minor, charges.interest_minor) == (10, 2000, 333)
    assert charges.total_minor == 102333


def test_late_charges_round_half_up_once() -> None:
    # 75,00 x 1 % / 30 x 1 day = 2.5 centavos -> 3 (half-even would say 2);
    # 1,25 x 2 % = 2.5 centavos -> 3.
    interest = late_charges(
        amount_minor=7500,
        original_due=date(2026, 1, 1),
        new_due=date(2026, 1, 2),
        fine_percent=Decimal("0"),
        monthly_interest_percent=Decimal("1"),
    )
    assert interest.interest_minor == 3
    fine = late_charges(
        amount_minor=125,
        original_due=date(2026, 1, 1),
        new_due=date(2026, 1, 2),
        fine_percent=Decimal("2"),
        monthly_interest_percent=Decimal("0"),
    )
    assert fine.fine_minor == 3
    # Rounded once, not per day: 30 days of 0.0333... centavos is 1 centavo, not 0.
    month = late_charges(
        amount_minor=100,
        original_due=date(2026, 1, 1),
        new_due=date(2026, 1, 31),
        fine_percent=Decimal("0"),
        monthly_interest_percent=Decimal("1"),
    )
    assert month.interest_minor == 1


def test_late_charges_count_calendar_days_and_nothing_on_time() -> None:
    across_february = late_charges(
        amount_minor=300000,
        original_due=date(2026, 1, 30),
        new_due=date(2026, 3, 2),
        fine_percent=Decimal("2"),
        monthly_interest_percent=Decimal("1"),
    )
    assert across_february.days_late == 31
    assert across_february.interest_minor == 3100  # 3000,00 x 1 % / 30 x 31
    on_time = late_charges(
        amount_minor=300000,
        original_due=date(2026, 1, 30),
        new_due=date(2026, 1, 30),
        fine_percent=Decimal("2"),
        monthly_interest_percent=Decimal("1"),
    )
    assert (on_time.fine_minor, on_time.interest_minor, on_time.total_minor) == (0, 0, 300000)
    with pytest.raises(ValidationFailed) as info:
        late_charges(
            amount_minor=100,
            original_due=date(2026, 1, 1),
            new_due=date(2026, 2, 1),
            fine_percent=Decimal("-1"),
            monthly_interest_percent=Decimal("1"),
        )
    assert info.value.code == "invalid_rate"


def _sample(**kwargs: Any) -> BoletoData:
    values = {
        "bank_code": "341",
        "agreement": "1234567",
        "our_number": "42",
        "due": date(2026, 3, 10),
        "amount_minor": 123456,
        "document_number": "INV-2026-0001",
        "issued_on": date(2026, 3, 1),
        "instructions": ("Após o vencimento, multa de 2% e juros de 1% ao mês.",),
    }
    return sandbox_boleto(**{**values, **kwargs})


def test_segunda_via_keeps_our_number_and_prices_the_delay() -> None:
    original = _sample()
    reissued, charges = segunda_via(
        original,
        new_due=date(2026, 3, 25),
        fine_percent=Decimal("2"),
        monthly_interest_percent=Decimal("1"),
    )
    # 1.234,56: multa 24,69 (24.6912); juros 1234.56 x 1 % / 30 x 15 = 6.1728 -> 6,17.
    assert (charges.fine_minor, charges.interest_minor) == (2469, 617)
    assert reissued.amount_minor == charges.total_minor == 123456 + 2469 + 617
    assert reissued.our_number == original.our_number
    assert reissued.barcode.free_field == original.barcode.free_field
    assert reissued.barcode.due_factor == due_date_factor(date(2026, 3, 25))
    assert parse_linha_digitavel(reissued.barcode.formatted_linha_digitavel) == reissued.barcode
    with pytest.raises(ValidationFailed):
        segunda_via(
            original,
            new_due=date(2026, 3, 1),
            fine_percent=Decimal("2"),
            monthly_interest_percent=Decimal("1"),
        )


# --- the printable slip --------------------------------------------------------

# Interleaved 2 of 5, written out here independently of the encoder the slip uses.
ITF_DIGITS = {
    "NNWWN": "0", "WNNNW": "1", "NWNNW": "2", "WWNNN": "3", "NNWNW": "4",
    "WNWNN": "5", "NWWNN": "6", "NNNWW": "7", "WNNWN": "8", "NWNWN": "9",
}  # fmt: skip


def decode_itf(runs: list[float]) -> str:
    """Digits from alternating bar/space widths, starting and ending with a bar."""
    threshold = (min(runs) + max(runs)) / 2
    widths = "".join("W" if run > threshold else "N" for run in runs)
    assert widths[:4] == "NNNN", "start pattern"
    assert widths[-3:] == "WNN", "stop pattern"
    body = widths[4:-3]
    assert len(body) % 10 == 0
    digits = ""
    for i in range(0, len(body), 10):
        chunk = body[i : i + 10]
        digits += ITF_DIGITS[chunk[0::2]] + ITF_DIGITS[chunk[1::2]]
    return digits


def _svg_runs(svg: str) -> list[float]:
    rects = [
        (float(x), float(w))
        for x, w in re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)"', svg)
    ]
    runs: list[float] = []
    for i, (x, width) in enumerate(rects):
        if i:
            previous_x, previous_width = rects[i - 1]
            runs.append(x - (previous_x + previous_width))
        runs.append(width)
    return runs


def test_itf_svg_encodes_exactly_the_44_digits() -> None:
    for _, _, barcode, _, _ in PUBLISHED:
        svg = itf_svg(barcode)
        assert 'width="103mm"' in svg
        assert 'height="13mm"' in svg
        assert decode_itf(_svg_runs(svg)) == barcode
        widths = set(_svg_runs(svg))
        assert widths == {1.0, 3.0}  # narrow 1, wide 3 modules


def test_bank_code_digit() -> None:
    # As printed on real slips: Banco do Brasil 001-9, Itaú 341-7, Bradesco 237-2, Caixa 104-0.
    assert [bank_code_with_digit(c) for c in ("001", "341", "237", "104", "033")] == [
        "001-9",
        "341-7",
        "237-2",
        "104-0",
        "033-7",
    ]


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def _dump(name: str, pdf: bytes) -> Path | None:
    """CICLO_ARTIFACTS_DIR=test-artifacts keeps the PDF to look at."""
    if target := os.environ.get("CICLO_ARTIFACTS_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(pdf)
        return Path(target) / name
    return None


@pytest.mark.parametrize(
    ("tax_id", "printed"),
    [("52998224725", "CPF 529.982.247-25"), ("12abc34501de35", "CNPJ 12.ABC.345/01DE-35")],
)
def test_pdf_shows_what_the_payer_needs(tax_id: str, printed: str) -> None:
    boleto = _sample()
    pdf = render_boleto_pdf(
        boleto=boleto,
        tenant_name="Academia Movimento Ltda",
        payer_name="Ana Souza",
        payer_tax_id=tax_id,
    )
    assert pdf.startswith(b"%PDF")
    _dump(f"boleto-{tax_id[:3]}.pdf", pdf)
    text = _text(pdf)
    assert boleto.barcode.formatted_linha_digitavel in text
    assert "R$ 1.234,56" in text
    assert printed in text
    for expected in (
        "Academia Movimento Ltda",
        "Ana Souza",
        "10/03/2026",
        "00000000000000042",
        "341-7",
        "Ficha de Compensação",
        "Recibo do Pagador",
    ):
        assert expected in text


def test_pdf_embeds_the_barcode_of_the_44_digits() -> None:
    boleto = _sample()
    html = render_boleto_html(
        boleto=boleto, tenant_name="T", payer_name="P", payer_tax_id="111.444.777-35"
    )
    [uri] = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    svg = base64.b64decode(uri).decode()
    assert decode_itf(_svg_runs(svg)) == boleto.barcode.digits


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm)")
def test_printed_barcode_scans_back_to_the_44_digits(tmp_path: Path) -> None:
    """Rasterize the PDF at 300 dpi and read the bars like a scanner would."""
    from PIL import Image

    boleto = _sample(amount_minor=9876543)
    pdf = render_boleto_pdf(
        boleto=boleto, tenant_name="T", payer_name="P", payer_tax_id="111.444.777-35"
    )
    source = tmp_path / "boleto.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "300", "-f", "1", "-l", "1", str(source), str(tmp_path / "p")],
        check=True,
    )
    [png] = tmp_path.glob("p*.png")
    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.load()
    best: list[int] = []
    for y in range(height - 1, height // 2, -3):
        row = [pixels[x, y] < 128 for x in range(width)]
        runs: list[int] = []
        current, length = row[0], 0
        for dark in row:
            if dark == current:
                length += 1
            else:
                runs.append(length if current else -length)
                current, length = dark, 1
        bars = sum(1 for run in runs if run > 0)
        if bars > sum(1 for run in best if run > 0):
            best = runs
    # Trim the white margins: keep from the first bar to the last.
    first = next(i for i, run in enumerate(best) if run > 0)
    last = max(i for i, run in enumerate(best) if run > 0)
    runs = [abs(run) for run in best[first : last + 1]]
    assert decode_itf([float(run) for run in runs]) == boleto.barcode.digits


def test_pdf_refuses_a_bad_payer_tax_id() -> None:
    with pytest.raises(ValidationFailed) as info:
        render_boleto_pdf(
            boleto=_sample(), tenant_name="T", payer_name="P", payer_tax_id="111.444.777-36"
        )
    assert info.value.code == "invalid_tax_id"
