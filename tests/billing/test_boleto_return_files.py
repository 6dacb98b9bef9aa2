"""Boleto confirmation by CNAB 240 return file: parser and settlement."""

import pytest

from billing.domain.cnab240 import ReturnFileError, parse_return_file
from billing.models import BoletoReturnFile, BoletoReturnLine, Invoice, PaymentAttempt
from billing.payments import payment_method_attach_offline
from billing.return_files import MAX_RETURN_FILE_BYTES, boleto_return_file_process
from billing.segunda_via import boleto_segunda_via_issue
from core.errors import ValidationFailed
from tenants.context import tenant_context
from tenants.models import Event
from tests.billing.cnab import Titulo, return_file, return_file_lines
from tests.support.billing import ACTOR, utc, world

NOW = utc(2026, 6, 1, 15)
LATER = utc(2026, 6, 5, 15)


# --- the parser (no database) ----------------------------------------------------------------


def test_the_parser_reads_segments_t_and_u_at_the_layouts_positions() -> None:
    content = return_file(
        [
            Titulo("00000000000000000123", 12_345, 12_345),
            Titulo("456", 5_000, 5_100, movement="17"),
            Titulo("789", 1_000, 0, movement="02"),
        ],
        nsa=42,
    )

    parsed = parse_return_file(content)

    assert (parsed.bank_code, parsed.sequence, str(parsed.generated_on)) == (
        "999",
        42,
        "2026-06-05",
    )
    assert [
        (e.line, e.our_number, e.movement_code, e.face_value_minor, e.paid_minor, e.is_payment)
        for e in parsed.entries
    ] == [
        (3, "123", "06", 12_345, 12_345, True),
        (5, "456", "17", 5_000, 5_100, True),
        (7, "789", "02", 1_000, 0, False),
    ]
    assert str(parsed.entries[0].due_date) == "2026-06-04"
    assert str(parsed.entries[0].credited_on) == "2026-06-06"


def _broken(index: int, start: int, end: int, value: str) -> bytes:
    lines = return_file_lines([Titulo("123", 100, 100), Titulo("456", 200, 200)])
    line = lines[index]
    lines[index] = line[: start - 1] + value + line[end:]
    return "\n".join(lines).encode("latin-1")


@pytest.mark.parametrize(
    ("_case", "content", "line", "field"),
    [
        ("short line", _broken(3, 240, 240, ""), 4, "record"),
        ("unknown record type", _broken(2, 8, 8, "7"), 3, "tipo de registro (008)"),
        ("amount not numeric", _broken(3, 78, 92, "00000000001X000"), 4, "valor pago (078-092)"),
        (
            "lote count wrong",
            _broken(6, 18, 23, "000009"),
            7,
            "quantidade de registros do lote (018-023)",
        ),
        ("file count wrong", _broken(7, 24, 29, "000004"), 8, "quantidade de registros (024-029)"),
        ("not a return", _broken(0, 143, 143, "1"), 1, "código remessa/retorno (143)"),
        ("bad date", _broken(3, 138, 145, "31022026"), 4, "data da ocorrência (138-145)"),
    ],
)
def test_a_malformed_file_names_the_line_and_the_field(
    _case: str, content: bytes, line: int, field: str
) -> None:
    with pytest.raises(ReturnFileError) as caught:
        parse_return_file(content)

    assert (caught.value.line, caught.value.field) == (line, field)


def test_binary_junk_is_refused_at_line_one() -> None:
    with pytest.raises(ReturnFileError) as caught:
        parse_return_file(bytes(range(256)) * 4)
    assert caught.value.line == 1


# --- settling --------------------------------------------------------------------------------


def _boleto_invoice(w, amount: int = 12_345):  # type: ignore[no-untyped-def]
    customer = w.customer()
    customer.tax_id = "529.982.247-25"
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(code=f"p{amount}", amount=amount, currency="BRL"), customer)
    attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
    from billing.gateways.sandbox import SandboxBoletoGateway

    our_number = SandboxBoletoGateway().slip(gateway_ref=attempt.gateway_ref)["our_number"]
    return attempt, our_number


def _outcomes(stored: BoletoReturnFile) -> list[tuple[str, str, int]]:
    return [
        (r.our_number, r.outcome, r.refund_due_minor)
        for r in BoletoReturnLine.objects.filter(file=stored).order_by("line")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_file_uploaded_twice_pays_each_boleto_once() -> None:
    with world(NOW) as w:
        first, first_number = _boleto_invoice(w, 12_345)
        second, second_number = _boleto_invoice(w, 5_000)
        content = return_file(
            [
                Titulo(first_number, 12_345, 12_345),  # exact: settled
                Titulo(second_number, 5_000, 5_250),  # 2.50 more: settled, to refund
                Titulo("99999", 1_000, 1_000),  # not ours: reported, never guessed
            ]
        )

        once = boleto_return_file_process(
            tenant=w.tenant, content=content, filename="ret.txt", actor=ACTOR, now=LATER
        )
        twice = boleto_return_file_process(
            tenant=w.tenant, content=content, filename="ret.txt", actor=ACTOR, now=LATER
        )

        assert _outcomes(once) == [
            (first_number.lstrip("0"), "settled", 0),
            (second_number.lstrip("0"), "overpaid", 250),
            ("99999", "unknown", 0),
        ]
        assert _outcomes(twice) == [
            (first_number.lstrip("0"), "already_paid", 0),
            (second_number.lstrip("0"), "already_paid", 0),
            ("99999", "unknown", 0),
        ]
        for attempt in (first, second):
            attempt.refresh_from_db()
            assert attempt.status == "succeeded"
            assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
        paid_events = Event.objects.filter(tenant=w.tenant, type="invoice.paid").count()
        assert paid_events == 2
        assert Event.objects.filter(type="boleto_return_file.processed").count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_underpayment_is_reported_and_not_settled() -> None:
    with world(NOW) as w:
        attempt, number = _boleto_invoice(w, 12_345)

        stored = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(number, 12_345, 12_300)]),
            filename="r.ret",
            actor=ACTOR,
            now=LATER,
        )

        attempt.refresh_from_db()
        line = BoletoReturnLine.objects.get(file=stored)
        assert (line.outcome, line.paid_minor, line.expected_minor) == (
            "underpaid",
            12_300,
            12_345,
        )
        assert attempt.status == "pending"
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "open"


@pytest.mark.django_db(transaction=True)
def test_a_withdrawn_slip_paid_late_is_money_to_refund_not_a_second_settlement() -> None:
    with world(NOW) as w:
        old, old_number = _boleto_invoice(w, 12_345)
        w.advance(utc(2026, 6, 10, 15))
        boleto_segunda_via_issue(
            tenant=w.tenant, invoice_id=old.invoice_id, actor=ACTOR, now=utc(2026, 6, 10, 15)
        )
        old.refresh_from_db()

        stored = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(old_number, 12_345, 12_345)]),
            filename="r.ret",
            actor=ACTOR,
            now=utc(2026, 6, 11, 15),
        )

        assert old.status == "failed"
        assert _outcomes(stored) == [(old_number.lstrip("0"), "withdrawn", 12_345)]
        assert Invoice.objects.get(pk=old.invoice_id).status == "open"


@pytest.mark.django_db(transaction=True)
def test_a_malformed_file_settles_nothing_and_writes_nothing() -> None:
    with world(NOW) as w:
        attempt, number = _boleto_invoice(w)
        lines = return_file_lines([Titulo(number, 12_345, 12_345)])
        lines[-1] = lines[-1][:23] + "000007" + lines[-1][29:]  # the trailer miscounts

        with pytest.raises(ValidationFailed) as caught:
            boleto_return_file_process(
                tenant=w.tenant,
                content="\n".join(lines).encode(),
                filename="bad.ret",
                actor=ACTOR,
                now=LATER,
            )

        attempt.refresh_from_db()
        assert caught.value.code == "malformed_return_file"
        assert str(caught.value).startswith("Line 6, quantidade de registros (024-029)")
        assert attempt.status == "pending"
        assert not BoletoReturnFile.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("_case", "content", "code"),
    [
        ("empty", b"", "empty_file"),
        ("too large", b"0" * (MAX_RETURN_FILE_BYTES + 1), "file_too_large"),
        ("binary junk", bytes(range(256)) * 8, "malformed_return_file"),
    ],
)
def test_bad_files_are_refused(_case: str, content: bytes, code: str) -> None:
    with world(NOW) as w:
        with pytest.raises(ValidationFailed) as caught:
            boleto_return_file_process(
                tenant=w.tenant, content=content, filename="x", actor=ACTOR, now=LATER
            )
        assert caught.value.code == code
        assert not BoletoReturnFile.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_another_tenants_boleto_is_never_matched() -> None:
    with world(NOW, slug="other") as other:
        theirs, their_number = _boleto_invoice(other)
    with world(NOW) as w:
        stored = boleto_return_file_process(
            tenant=w.tenant,
            content=return_file([Titulo(their_number, 12_345, 12_345)]),
            filename="r.ret",
            actor=ACTOR,
            now=LATER,
        )
        assert _outcomes(stored) == [(their_number.lstrip("0"), "unknown", 0)]
    with tenant_context(other.tenant):
        theirs.refresh_from_db()
        assert theirs.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_files_processed_at_once_pay_each_boleto_once() -> None:
    import threading

    from django.db import connections

    with world(NOW) as w:
        boletos = [_boleto_invoice(w, 1_000 + i) for i in range(4)]
        titulos = [Titulo(number, a.amount_minor, a.amount_minor) for a, number in boletos]
        # Same boletos, listed in opposite orders: the service sorts before locking.
        contents = [return_file(titulos), return_file(list(reversed(titulos[1:])))]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(content: bytes) -> None:
            try:
                with tenant_context(w.tenant):
                    barrier.wait(timeout=30)
                    boleto_return_file_process(
                        tenant=w.tenant, content=content, filename="r", actor=ACTOR, now=LATER
                    )
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(c,)) for c in contents]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

        assert errors == []
        outcomes = list(
            BoletoReturnLine.objects.filter(tenant=w.tenant).values_list("outcome", flat=True)
        )
        assert sorted(outcomes) == ["already_paid"] * 3 + ["settled"] * 4
        assert Event.objects.filter(tenant=w.tenant, type="invoice.paid").count() == 4
