"""Pix BR Codes, checked against payloads other people published, not only our own.

Sources of the published payloads (each CRC was recomputed independently when
these tests were written; two published ones turned out wrong, see the end):

- BCB, "Manual de Padrões para Iniciação do Pix": the static example with key
  123e4567-e12b-12d1-a456-426655440000, "Fulano de Tal", "BRASILIA" (CRC 1D3D),
  reproduced verbatim in many independent projects' tests.
- BCB "Manual do BR Code" dynamic example (bx.com.br/pix/…, txid
  RP12345678-2019, CRC 45C8) and a generator example (CRC 7A12), both as
  quoted in the README of rprata/pixcode.
- thalesog/pix-utils, tests/emvCodes.ts: the current fixtures (mixed-case
  name) and those at commit 5011ff80 (upper-case names).
- Stark Infra API documentation (static and dynamic brcode responses for
  "Jamie Lannister", "Sao Paulo").
- matheusb-comp's gist "Exemplos de formato PIX" (static, CRC 170E; its field
  62 length is wrong, so it is a negative example).
- guilhermeasn/php-class-pix-payload README (postal code field 61, CRC 1DC8).
- A Mercado Pago sandbox response kept in M-Robot35/Boilerplate-Node.js-Start
  (backend/exemplos-in-out/pix.ts, CRC 2B7C).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from billing.domain import pix
from core.errors import ValidationFailed

BCB_EVP = "123e4567-e12b-12d1-a456-426655440000"
BCB_STATIC = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
BCB_DYNAMIC = (
    "00020101021226720014br.gov.bcb.pix2550bx.com.br/pix/8b3da2f3-9a41-40d1-a91a-bd93113bd441"
    "5204000053039865406123.455802BR5913Fulano de Tal6008BRASILIA62190515RP12345678-2019"
    "630445C8"
)
PIXCODE_GENERATED = (
    "00020101021226720014br.gov.bcb.pix2550bx.com.br/pix/8b3da2f3-9a41-40d1-a91a-bd93113bd441"
    "520400005303986540599.995802BR5914Ciclano de Tal6014RIO DE JANEIRO"
    "62190515RP12345678-201963047A12"
)
PIX_UTILS_STATIC = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123520400005303986540510.00"
    "5802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044367"
)
PIX_UTILS_STATIC_NO_AMOUNT = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 1235204000053039865802BR"
    "5914Thales Ogliari6015SAO MIGUEL DO O62070503***63042C6B"
)
PIX_UTILS_STATIC_ZERO_AMOUNT = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 12352040000530398654040.00"
    "5802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044406"
)
PIX_UTILS_DYNAMIC = (
    "00020126740014br.gov.bcb.pix2552payload.psp.com/3ec9d2f9-5f03-4e0e-820d-63a81e769e87"
    "5204000053039865802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63040C64"
)
# thalesog/pix-utils at commit 5011ff80, when names were upper-cased.
PIX_UTILS_OLD_STATIC = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123520400005303986540510.00"
    "5802BR5914THALES OGLIARI6015SAO MIGUEL DO O62070503***63040DC6"
)
PIX_UTILS_OLD_STATIC_NO_AMOUNT = (
    "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 1235204000053039865802BR"
    "5914THALES OGLIARI6015SAO MIGUEL DO O62070503***630462CA"
)
PIX_UTILS_OLD_DYNAMIC = (
    "00020126740014br.gov.bcb.pix2552payload.psp.com/3ec9d2f9-5f03-4e0e-820d-63a81e769e87"
    "5204000053039865802BR5914THALES OGLIARI6015SAO MIGUEL DO O62070503***630442C5"
)
PIX_UTILS_OLD_NORMALIZED_NAME = (
    "00020126740014br.gov.bcb.pix2552payload.psp.com/3ec9d2f9-5f03-4e0e-820d-63a81e769e87"
    "5204000053039865802BR5912BARBARA PELE6015SAO MIGUEL DO O62070503***63040433"
)
STARK_STATIC = (
    "00020126360014br.gov.bcb.pix0114+554199999999952040000530398654041.005802BR"
    "5915Jamie Lannister6009Sao Paulo621005061234566304A63E"
)
STARK_DYNAMIC = (
    "00020101021226980014br.gov.bcb.pix2576brcode-h.development.starkinfra.com/v2/cobv/"
    "c1c7915805b4426e807a1672ee650a1e5204000053039865802BR5915Jamie Lannister6009Sao Paulo"
    "62070503***6304A4BE"
)
GIST_STATIC_PHONE = (
    "00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.665802BR"
    "5907EMPRESA6008BRASILIA62080503***6304170E"
)
PHP_CLASS_POSTAL = (
    "00020126470014BR.GOV.BCB.PIX0125guilhermeasn@yahoo.com.br5204000053039865406100.00"
    "5802BR5915Guilherme Neves6014Paraiba do Sul61082585000062110507TEST00163041DC8"
)
MERCADO_PAGO_SANDBOX = (
    "00020126580014br.gov.bcb.pix0136b76aa9c2-2ec4-4110-954e-ebfe34f05b61"
    "520400005303986540512.345802BR5911TE35069Wi056014Begz kGOBJEUte"
    "62230519mpqrinter132741051963042B7C"
)

PUBLISHED = [
    BCB_STATIC,
    BCB_DYNAMIC,
    PIXCODE_GENERATED,
    PIX_UTILS_STATIC,
    PIX_UTILS_STATIC_NO_AMOUNT,
    PIX_UTILS_STATIC_ZERO_AMOUNT,
    PIX_UTILS_DYNAMIC,
    PIX_UTILS_OLD_STATIC,
    PIX_UTILS_OLD_STATIC_NO_AMOUNT,
    PIX_UTILS_OLD_DYNAMIC,
    PIX_UTILS_OLD_NORMALIZED_NAME,
    STARK_STATIC,
    STARK_DYNAMIC,
    PHP_CLASS_POSTAL,
    MERCADO_PAGO_SANDBOX,
]


def _code(fn, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        fn(**kwargs)
    return caught.value.code


# --- CRC -------------------------------------------------------------------


def test_crc_matches_the_catalogued_check_value() -> None:
    assert pix.crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("payload", PUBLISHED)
def test_our_crc_matches_every_published_payload(payload: str) -> None:
    assert pix.br_code_crc(payload[:-4]) == payload[-4:]


# --- generator reproduces published payloads from the same inputs -----------


def test_reproduces_the_central_bank_static_example() -> None:
    assert (
        pix.static_br_code(
            key=BCB_EVP, merchant_name="Fulano de Tal", merchant_city="BRASILIA", uppercase=False
        )
        == BCB_STATIC
    )


def test_reproduces_pix_utils_static_with_description_amount_and_accented_city() -> None:
    common = {
        "key": "thalesog@me.com",
        "merchant_name": "Thales Ogliari",
        "merchant_city": "SÃO MIGUÉL DO O",
        "description": "Pedido 123",
    }
    assert pix.static_br_code(**common, amount_minor=1000, uppercase=False) == PIX_UTILS_STATIC
    assert pix.static_br_code(**common, uppercase=False) == PIX_UTILS_STATIC_NO_AMOUNT
    assert pix.static_br_code(**common, amount_minor=1000) == PIX_UTILS_OLD_STATIC
    assert pix.static_br_code(**common) == PIX_UTILS_OLD_STATIC_NO_AMOUNT


def test_reproduces_pix_utils_dynamic_codes() -> None:
    url = "payload.psp.com/3ec9d2f9-5f03-4e0e-820d-63a81e769e87"
    city = "SÃO MIGUÉL DO O"
    # pix-utils leaves field 01 out unless asked for a one-time code.
    kwargs = {"url": url, "merchant_city": city, "initiation": None}
    assert (
        pix.dynamic_br_code(**kwargs, merchant_name="Thales Ogliari", uppercase=False)
        == PIX_UTILS_DYNAMIC
    )
    assert pix.dynamic_br_code(**kwargs, merchant_name="Thales Ogliari") == PIX_UTILS_OLD_DYNAMIC
    assert (
        pix.dynamic_br_code(**kwargs, merchant_name="Bárbara Pelé") == PIX_UTILS_OLD_NORMALIZED_NAME
    )
    # An https:// prefix is dropped, as field 25 never carries the scheme.
    assert (
        pix.dynamic_br_code(**{**kwargs, "url": f"https://{url}"}, merchant_name="Thales Ogliari")
        == PIX_UTILS_OLD_DYNAMIC
    )


def test_reproduces_stark_infra_static_and_dynamic() -> None:
    assert (
        pix.static_br_code(
            key="+5541999999999",
            merchant_name="Jamie Lannister",
            merchant_city="Sao Paulo",
            amount_minor=100,
            txid="123456",
            uppercase=False,
        )
        == STARK_STATIC
    )
    assert (
        pix.dynamic_br_code(
            url="brcode-h.development.starkinfra.com/v2/cobv/c1c7915805b4426e807a1672ee650a1e",
            merchant_name="Jamie Lannister",
            merchant_city="Sao Paulo",
            uppercase=False,
        )
        == STARK_DYNAMIC
    )


# --- parser --------------------------------------------------------------------


@pytest.mark.parametrize("payload", PUBLISHED)
def test_parser_accepts_every_published_payload(payload: str) -> None:
    code = pix.parse_br_code(payload)
    assert code.fields["00"] == "01"
    assert code.crc == payload[-4:]
    assert (code.key is None) != (code.url is None)
    assert pix.pix_copy_paste(payload) == payload


def test_parser_reads_the_manuals_dynamic_example_field_by_field() -> None:
    code = pix.parse_br_code(BCB_DYNAMIC)
    assert code.is_dynamic
    assert code.single_use
    assert code.url == "bx.com.br/pix/8b3da2f3-9a41-40d1-a91a-bd93113bd441"
    assert code.amount_minor == 12345
    assert (code.merchant_name, code.merchant_city) == ("Fulano de Tal", "BRASILIA")
    assert code.txid == "RP12345678-2019"
    assert code.fields["52"] == "0000"
    assert code.fields["53"] == "986"
    assert code.fields["58"] == "BR"


def test_parser_reads_static_key_description_and_postal_code() -> None:
    code = pix.parse_br_code(PIX_UTILS_STATIC)
    assert not code.is_dynamic
    assert code.initiation is None
    assert code.key == "thalesog@me.com"
    assert code.description == "Pedido 123"
    assert code.amount_minor == 1000
    assert code.txid == "***"
    assert pix.parse_br_code(PHP_CLASS_POSTAL).postal_code == "25850000"
    assert pix.parse_br_code(PIX_UTILS_STATIC_ZERO_AMOUNT).amount_minor == 0
    assert pix.parse_br_code(PIX_UTILS_STATIC_NO_AMOUNT).amount_minor is None


def test_parser_rejects_a_published_payload_whose_crc_is_wrong() -> None:
    # From a payment provider's API reference: the example's own CRC does not
    # match its content (it reads 45C8, the content gives 02A4). Our parser says so.
    documented = (
        "00020126580014br.gov.bcb.Pix0136123e4567-e12b-12d1-a456-426655440000"
        "520400005303986540510.005802BR5913TESTE ACCOUNT6008BRASILIA62070503***630445C8"
    )
    with pytest.raises(ValidationFailed) as caught:
        pix.parse_br_code(documented)
    assert caught.value.code == "pix_crc_mismatch"
    assert "02A4" in caught.value.message


def test_parser_rejects_a_published_payload_with_a_wrong_field_length() -> None:
    # The gist's static example annotates field 62 as "62 08" around a 7-character
    # value and computed its CRC over that: the CRC agrees, the structure does not.
    assert pix.br_code_crc(GIST_STATIC_PHONE[:-4]) == "170E"
    with pytest.raises(ValidationFailed) as caught:
        pix.parse_br_code(GIST_STATIC_PHONE)
    assert caught.value.code == "pix_truncated"
    fixed = GIST_STATIC_PHONE[:-19] + "62070503***6304"
    assert pix.parse_br_code(fixed + pix.br_code_crc(fixed)).amount_minor == 6666


def test_parser_reports_a_damaged_payload() -> None:
    tampered = BCB_STATIC.replace("Fulano", "Fulana")
    assert _code(pix.parse_br_code, payload=tampered) == "pix_crc_mismatch"


def test_parser_reports_truncation() -> None:
    assert _code(pix.parse_br_code, payload=BCB_STATIC[:-2]) == "pix_truncated"
    assert _code(pix.parse_br_code, payload=BCB_STATIC[:3]) == "pix_truncated"
    assert _code(pix.parse_br_code, payload="000201265800") == "pix_truncated"


def test_parser_reports_junk_and_repeated_fields() -> None:
    assert _code(pix.parse_br_code, payload=BCB_STATIC[:6] + "2X" + BCB_STATIC[8:]) == (
        "pix_malformed"
    )
    body = BCB_STATIC[:-8] + "5802BR6304"
    assert _code(pix.parse_br_code, payload=body + pix.br_code_crc(body)) == "pix_malformed"


def _resealed(without: str) -> str:
    body = BCB_STATIC[:-8].replace(without, "") + "6304"
    return body + pix.br_code_crc(body)


@pytest.mark.parametrize(
    ("field", "tag"),
    [("6008BRASILIA", "60"), ("5913Fulano de Tal", "59"), ("62070503***", "62"), ("5303986", "53")],
)
def test_parser_reports_a_missing_mandatory_field(field: str, tag: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        pix.parse_br_code(_resealed(field))
    assert caught.value.code == "pix_missing_field"
    assert caught.value.param == tag


def test_parser_reports_a_missing_crc_and_a_crc_not_at_the_end() -> None:
    assert _code(pix.parse_br_code, payload=BCB_STATIC[:-8]) == "pix_missing_field"
    moved = BCB_STATIC[:-8]
    moved = moved[:6] + "63041D3D" + moved[6:]
    assert _code(pix.parse_br_code, payload=moved) == "pix_malformed"


def test_parser_refuses_a_code_that_is_not_pix() -> None:
    body = BCB_STATIC[:-8].replace("0014br.gov.bcb.pix", "0014br.gov.bcb.xyz") + "6304"
    assert _code(pix.parse_br_code, payload=body + pix.br_code_crc(body)) == "pix_not_pix"


# --- round trip and validation ---------------------------------------------------


def test_round_trip_of_a_dynamic_code_with_a_charge_txid() -> None:
    txid = "Ciclo0123456789abcdefghijKL"  # 27 alphanumerics
    payload = pix.dynamic_br_code(
        url="https://pix.psp.example/qr/v2/cobv/9d36b84f",
        merchant_name="Academia São José de Ginástica e Dança Ltda",
        merchant_city="São José dos Campos",
        amount_minor=999_999_999_999,
        txid=txid,
        postal_code="12.245-000",
    )
    code = pix.parse_br_code(payload)
    assert payload.startswith("000201010212")
    assert code.amount_minor == 999_999_999_999
    assert code.fields["54"] == "9999999999.99"
    assert code.merchant_name == "ACADEMIA SAO JOSE DE GINA"  # 25 characters
    assert code.merchant_city == "SAO JOSE DOS CA"  # 15 characters
    assert code.postal_code == "12245000"
    assert code.txid == txid
    assert payload.isascii()


@pytest.mark.parametrize(
    ("amount_minor", "text"), [(1, "0.01"), (1050, "10.50"), (100, "1.00"), (12345, "123.45")]
)
def test_amounts_are_written_from_integer_centavos(amount_minor: int, text: str) -> None:
    assert pix.format_amount(amount_minor) == text
    assert pix.parse_amount(text) == amount_minor


@pytest.mark.parametrize("bad", [0, -1, 1_000_000_000_000, 10.5, True])
def test_amounts_out_of_range_or_not_integers_are_refused(bad: object) -> None:
    assert _code(pix.format_amount, amount_minor=bad) == "pix_invalid_amount"


@pytest.mark.parametrize(
    ("key", "kind", "registered"),
    [
        ("52998224725", pix.PixKeyType.CPF, "52998224725"),
        ("529.982.247-25", pix.PixKeyType.CPF, "52998224725"),
        ("11222333000181", pix.PixKeyType.CNPJ, "11222333000181"),
        ("11.222.333/0001-81", pix.PixKeyType.CNPJ, "11222333000181"),
        ("fulano@example.com.br", pix.PixKeyType.EMAIL, "fulano@example.com.br"),
        ("+5561912345678", pix.PixKeyType.PHONE, "+5561912345678"),
        ("+556132345678", pix.PixKeyType.PHONE, "+556132345678"),
        (BCB_EVP, pix.PixKeyType.EVP, BCB_EVP),
    ],
)
def test_pix_keys_are_recognised(key: str, kind: pix.PixKeyType, registered: str) -> None:
    assert pix.normalize_pix_key(key) == (kind, registered)


@pytest.mark.parametrize(
    "key",
    [
        "52998224724",  # CPF with a wrong check digit
        "11111111111",  # CPF of repeated digits
        "11222333000182",  # CNPJ with a wrong check digit
        "123456789",  # neither CPF nor CNPJ
        "61912345678",  # a phone without +55 reads as a bad CPF
        "+15551234567",  # not a Brazilian phone
        "+55619123456789",  # too many digits
        "fulano@",  # not an e-mail
        "a" * 70 + "@example.com",  # longer than 77
        "123e4567-e12b-12d1-a456-42665544000",  # short UUID
        "",
    ],
)
def test_bad_pix_keys_are_refused(key: str) -> None:
    assert _code(pix.normalize_pix_key, key=key) == "pix_invalid_key"


def _static(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "key": BCB_EVP,
        "merchant_name": "Ciclo",
        "merchant_city": "Brasilia",
        **overrides,
    }
    return pix.static_br_code(**kwargs)  # type: ignore[arg-type]


def _dynamic(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "url": "pix.psp.example/qr/v2/abc",
        "merchant_name": "Ciclo",
        "merchant_city": "Brasilia",
        **overrides,
    }
    return pix.dynamic_br_code(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("txid", ["ABC-123", "pedido 1", "çedilha", "A" * 26])
def test_bad_static_txids_are_refused(txid: str) -> None:
    assert _code(_static, txid=txid) == "pix_invalid_txid"


@pytest.mark.parametrize("txid", ["A" * 25, "A" * 36, "RP12345678-2019-ABCDEFGHIJKLMN"])
def test_bad_dynamic_txids_are_refused(txid: str) -> None:
    assert _code(_dynamic, txid=txid) == "pix_invalid_txid"


def test_txids_that_are_accepted() -> None:
    assert pix.parse_br_code(_static(txid="A" * 25)).txid == "A" * 25
    assert pix.parse_br_code(_static(txid="")).txid == "***"
    assert pix.parse_br_code(_dynamic(txid="a1" * 13)).txid == "a1" * 13
    assert pix.parse_br_code(_dynamic(txid="Z" * 35)).txid == "Z" * 35


def test_other_inputs_are_validated() -> None:
    assert _code(_static, description="x" * 60) == "pix_field_too_long"
    assert _code(_static, merchant_name="☕ ✓") == "pix_invalid_text"
    assert _code(_static, merchant_city="   ") == "pix_invalid_text"
    assert _code(_static, postal_code="7000") == "pix_invalid_postal_code"
    assert _code(_static, initiation="13") == "pix_invalid_initiation"
    assert _code(_dynamic, url="http://pix.psp.example/qr") == "pix_invalid_url"
    assert _code(_dynamic, url="pix.psp.example/a b") == "pix_invalid_url"
    assert _code(_dynamic, url="") == "pix_invalid_url"
    assert _code(_dynamic, url="p.example/" + "x" * 70) == "pix_field_too_long"


def test_static_initiation_is_optional_and_explicit_when_asked() -> None:
    assert pix.parse_br_code(_static()).initiation is None
    assert pix.parse_br_code(_static(initiation="11")).initiation == "11"
    assert pix.parse_br_code(_static(initiation="12")).single_use


def test_description_is_ascii_and_keeps_its_case() -> None:
    code = pix.parse_br_code(_static(description="Mensalidade de março"))
    assert code.description == "Mensalidade de marco"


# --- QR image ----------------------------------------------------------------------


def _png_modules(png: bytes, *, scale: int, border: int) -> list[list[bool]]:
    """Read back, from the PNG pixels, which modules are dark (sampled at each centre)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // scale - 2 * border
    assert image.width == image.height == (size + 2 * border) * scale
    pixels = image.load()
    assert pixels is not None
    return [
        [
            pixels[(border + col) * scale + scale // 2, (border + row) * scale + scale // 2] < 128
            for col in range(size)
        ]
        for row in range(size)
    ]


@pytest.mark.parametrize("payload", [BCB_STATIC, STARK_DYNAMIC])
def test_png_draws_exactly_the_qr_matrix_of_the_payload(payload: str) -> None:
    png = pix.pix_qr_png(payload, scale=8, border=4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    qr = pix.pix_qr(payload)
    assert qr.error == "M"
    assert not qr.is_micro
    expected = [[bool(module) for module in row] for row in qr.matrix]
    assert _png_modules(png, scale=8, border=4) == expected
    # and the same matrix comes out of encoding the payload afresh
    import segno

    again = segno.make(payload, error="m", boost_error=False, micro=False)
    assert [[bool(m) for m in row] for row in again.matrix] == expected


def test_svg_is_a_standalone_svg_document() -> None:
    svg = pix.pix_qr_svg(BCB_STATIC)
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<path" in svg


def test_qr_refuses_a_payload_that_is_not_a_valid_br_code() -> None:
    assert _code(pix.pix_qr_png, payload=BCB_STATIC[:-1] + "0") == "pix_crc_mismatch"
    assert _code(pix.pix_qr_svg, payload="hello") == "pix_malformed"


# --- expiry ---------------------------------------------------------------------------


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def test_expiry_window() -> None:
    expiry = pix.PixExpiry.starting(NOW, timedelta(hours=1))
    assert expiry.seconds == 3600
    assert not expiry.is_expired(NOW)
    assert not expiry.is_expired(NOW + timedelta(minutes=59, seconds=59))
    assert expiry.is_expired(NOW + timedelta(hours=1))
    assert expiry.remaining(NOW + timedelta(minutes=15)) == timedelta(minutes=45)
    assert expiry.remaining(NOW + timedelta(days=1)) == timedelta(0)
    assert pix.PixExpiry.starting(NOW).seconds == 86400


def test_expiry_must_be_aware_and_after_creation() -> None:
    naive = datetime(2025, 3, 10, 12, 0)  # noqa: DTZ001
    assert _code(pix.PixExpiry, created_at=naive, expires_at=NOW) == "pix_invalid_expiry"
    assert _code(pix.PixExpiry, created_at=NOW, expires_at=NOW) == "pix_invalid_expiry"
