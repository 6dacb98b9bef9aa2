"""Segunda via: an overdue boleto re-issued with a new due date, multa and juros;
paying it pays the invoice and bills the late charges on a paid invoice of their own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.boleto import due_date_from_factor, parse_barcode
from billing.gateways.sandbox import SandboxBoletoGateway, SandboxGateway
from billing.models import CollectionSettings, Invoice, PaymentAttempt, SandboxCharge
from billing.payments import payment_method_attach, payment_method_attach_offline, webhook_receive
from billing.segunda_via import boleto_segunda_via_issue, segunda_via_quote
from core.errors import NotFound, StateConflict, ValidationFailed
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)  # 12:00 in São Paulo; the sandbox slip falls due on June 4
LATE = utc(2026, 6, 15, 15)  # eleven days after it


def _boleto_invoice(w, amount: int = 10_000) -> Invoice:  # type: ignore[no-untyped-def]
    customer = w.customer()
    customer.tax_id = "529.982.247-25"
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan("monthly", amount=amount), customer)
    return Invoice.objects.get(subscription=sub)


def _pay(attempt: PaymentAttempt) -> None:
    body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=attempt.gateway_ref)
    webhook_receive(gateway_name="sandbox_boleto", body=body, headers=headers, now=LATE)


def test_a_segunda_via_adds_multa_and_juros_and_its_payment_bills_them() -> None:
    with world(NOW) as w:
        invoice = _boleto_invoice(w)
        [old] = invoice.attempts.all()
        assert SandboxCharge.objects.get(ref=old.gateway_ref).details["due_date"] == "2026-06-04"

        new = boleto_segunda_via_issue(
            tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=LATE
        )

        # Due June 18 (today + 3 days to pay), 14 days after June 4:
        # multa 2% of R$ 100,00 = R$ 2,00; juros 1%/month × 14/30 = R$ 0,4666… → R$ 0,47.
        assert (new.late_fee_minor, new.late_interest_minor, new.amount_minor) == (200, 47, 10_247)
        assert new.status == "pending"
        assert new.number == 2
        barcode = parse_barcode(SandboxCharge.objects.get(ref=new.gateway_ref).details["barcode"])
        assert barcode.amount_minor == 10_247
        assert due_date_from_factor(barcode.due_factor, near=date(2026, 6, 15)) == date(2026, 6, 18)
        old.refresh_from_db()
        assert (old.status, old.failure_code) == ("failed", "boleto_replaced")
        assert SandboxCharge.objects.get(ref=old.gateway_ref).status == "canceled"
        with pytest.raises(SandboxCharge.DoesNotExist):
            _pay(old)  # the withdrawn slip cannot be paid any more

        _pay(new)
        invoice.refresh_from_db()
        assert (invoice.status, invoice.amount_paid_minor) == ("paid", 10_000)
        late = Invoice.objects.get(billing_reason="late_charges")
        assert (late.status, late.total_minor, late.amount_paid_minor) == ("paid", 247, 247)
        assert [
            (x.kind, x.amount_minor, x.description) for x in late.lines.order_by("position")
        ] == [
            ("late_fee", 200, invoice.number),
            ("late_interest", 47, invoice.number),
        ]
        assert late.customer_id == invoice.customer_id
        # Numbered right after the invoice, in the same gapless sequence.
        assert int(late.number.rsplit("-", 1)[1]) == int(invoice.number.rsplit("-", 1)[1]) + 1


def test_the_tenants_own_rates_apply() -> None:
    with world(NOW) as w:
        CollectionSettings.objects.create(
            tenant=w.tenant,
            boleto_fine_percent=Decimal("0"),
            boleto_monthly_interest_percent=Decimal("3.00"),
            boleto_days_to_pay=1,
        )
        invoice = _boleto_invoice(w, amount=33_333)
        quote = segunda_via_quote(tenant=w.tenant, invoice_id=invoice.pk, now=LATE)
        # The tenant's 1 day to pay: the first slip fell due June 2 (and the new one June 16);
        # 14 days of interest: 33 333 × 3% × 14/30 = 466,66 → 467 centavos; no multa.
        assert quote.original_due == date(2026, 6, 2)
        assert quote.new_due == date(2026, 6, 16)
        assert (quote.charges.fine_minor, quote.charges.interest_minor) == (0, 467)
        assert quote.charges.total_minor == 33_800


def _unchanged(invoice: Invoice) -> None:
    assert [(a.status, a.amount_minor) for a in invoice.attempts.order_by("number")] == [
        ("pending", invoice.amount_due_minor)
    ]
    assert not Invoice.objects.filter(billing_reason="late_charges").exists()


@pytest.mark.parametrize(
    ("now", "new_due", "error", "code"),
    [
        pytest.param(
            utc(2026, 6, 3, 15), None, StateConflict, "boleto_not_overdue", id="not-overdue"
        ),
        pytest.param(
            LATE, date(2026, 6, 14), ValidationFailed, "validation_failed", id="due-in-past"
        ),
        pytest.param(LATE, date(2026, 7, 16), ValidationFailed, "validation_failed", id="too-far"),
        pytest.param(LATE, "2026-06-18", ValidationFailed, "validation_failed", id="not-a-date"),
    ],
)
def test_bad_requests_change_nothing(now, new_due, error, code) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        invoice = _boleto_invoice(w)
        with pytest.raises(error) as exc:
            boleto_segunda_via_issue(
                tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=now, new_due=new_due
            )
        assert exc.value.code == code
        _unchanged(invoice)
        assert SandboxCharge.objects.get().status == "pending"


def test_a_card_invoice_another_tenants_or_a_paid_one_has_no_segunda_via() -> None:
    with world(NOW, slug="other") as other:
        foreign = _boleto_invoice(other)
    with world(NOW) as w:
        with pytest.raises(NotFound):
            boleto_segunda_via_issue(tenant=w.tenant, invoice_id=foreign.pk, actor=ACTOR, now=LATE)
        customer = w.customer("Card")
        saved = SandboxGateway().tokenize_card(
            number="4000000000000341", exp_month=1, exp_year=2031, cvc="123"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        card_invoice = Invoice.objects.get(subscription=w.subscribe(w.plan("card"), customer))
        with pytest.raises(StateConflict) as exc:
            boleto_segunda_via_issue(
                tenant=w.tenant, invoice_id=card_invoice.pk, actor=ACTOR, now=LATE
            )
        assert exc.value.code == "no_boleto"

        invoice = _boleto_invoice(w)
        _pay(invoice.attempts.get())
        with pytest.raises(StateConflict) as exc:
            boleto_segunda_via_issue(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=LATE)
        assert exc.value.code == "invoice_not_open"


def test_a_slip_paid_just_before_the_reissue_is_not_replaced() -> None:
    """The payer paid the old slip; the bank's confirmation has not arrived yet."""
    with world(NOW) as w:
        invoice = _boleto_invoice(w)
        old = invoice.attempts.get()
        body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=old.gateway_ref)
        with pytest.raises(StateConflict) as exc:
            boleto_segunda_via_issue(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=LATE)
        assert exc.value.code == "boleto_not_replaceable"
        _unchanged(invoice)
        webhook_receive(gateway_name="sandbox_boleto", body=body, headers=headers, now=LATE)
        invoice.refresh_from_db()
        assert invoice.status == "paid"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fine_percent", 2.5),  # a float, never
        ("fine_percent", Decimal("10.01")),
        ("monthly_interest_percent", Decimal("-0.01")),
        ("monthly_interest_percent", Decimal("NaN")),
        ("days_to_pay", 0),
        ("days_to_pay", True),
    ],
)
def test_late_charge_settings_refuse_bad_values(field, value) -> None:  # type: ignore[no-untyped-def]
    from billing.segunda_via import collection_settings_update

    good = {
        "fine_percent": Decimal("2"),
        "monthly_interest_percent": Decimal("1"),
        "days_to_pay": 3,
    }
    with world(NOW) as w:
        with pytest.raises(ValidationFailed) as exc:
            collection_settings_update(
                tenant=w.tenant, actor=ACTOR, now=NOW, **{**good, field: value}
            )
        assert exc.value.param == field
        assert not CollectionSettings.objects.exists()


def test_two_first_saves_at_once_make_one_row_and_both_succeed() -> None:
    import threading

    from django.db import connections

    from billing.segunda_via import collection_settings_update
    from tenants.context import tenant_context

    with world(NOW) as w:
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def save(**change: object) -> None:
            try:
                with tenant_context(w.tenant):
                    barrier.wait(timeout=30)
                    collection_settings_update(tenant=w.tenant, actor=ACTOR, now=NOW, **change)
            except BaseException as exc:  # reported by the test's thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=save, kwargs={"pix_automatico": True}),
            threading.Thread(target=save, kwargs={"days_to_pay": 5}),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

        assert errors == []
        [row] = CollectionSettings.objects.filter(tenant=w.tenant)
        # Each save read the row under its lock: neither undid the other.
        assert (row.pix_automatico, row.boleto_days_to_pay) == (True, 5)
