"""Parcelamento: an annual invoice paid in monthly parts, by card or by boleto."""

import io

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.models import Installment, Invoice, PaymentAttempt, SandboxCharge
from billing.payments import invoice_charge, payment_method_attach, payment_method_attach_offline
from core.errors import StateConflict, ValidationFailed
from subscriptions.models import Subscription
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 1, 31, 15)


def _annual(w, max_installments: int = 12):  # type: ignore[no-untyped-def]
    return w.plan("annual", amount=100_000, interval="year", max_installments=max_installments)


def _card_customer(w):  # type: ignore[no-untyped-def]
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="123"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )
    return customer


def test_three_card_installments_add_up_and_pay_the_invoice_when_all_are_paid() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_annual(w), _card_customer(w), installments=3)
        invoice = Invoice.objects.get(subscription=sub)
        parts = list(
            Installment.objects.filter(invoice=invoice).values_list(
                "number", "amount_minor", "due_at", "status"
            )
        )
        after_first = (invoice.status, Subscription.objects.get(pk=sub.pk).status)

        for number in (2, 3):
            part = Installment.objects.get(invoice=invoice, number=number)
            invoice_charge(
                tenant=w.tenant, invoice_id=invoice.pk, now=part.due_at, installment_id=part.pk
            )

        invoice.refresh_from_db()
        attempts = list(
            PaymentAttempt.objects.filter(invoice=invoice)
            .order_by("number")
            .values_list("amount_minor", "idempotency_key", "status")
        )
    # 100000 / 3: the odd centavo goes to the first part; monthly on the local 31st, clamped.
    assert parts == [
        (1, 33_334, utc(2026, 1, 31, 15), "paid"),
        (2, 33_333, utc(2026, 2, 28, 15), "scheduled"),
        (3, 33_333, utc(2026, 3, 31, 15), "scheduled"),
    ]
    assert after_first == ("open", "incomplete")
    assert [a[0] for a in attempts] == [33_334, 33_333, 33_333]
    assert attempts[1][1] == f"{invoice.public_id}:installment:2:attempt:2"
    assert (invoice.status, invoice.amount_paid_minor) == ("paid", 100_000)


def test_boleto_installments_are_one_slip_each() -> None:
    with world(NOW) as w:
        customer = w.customer()
        customer.tax_id = "11.222.333/0001-81"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(_annual(w), customer, installments=2)
        invoice = Invoice.objects.get(subscription=sub)
        slips = list(SandboxCharge.objects.values_list("kind", "amount_minor"))
        parts = Installment.objects.filter(invoice=invoice).count()
    assert slips == [("boleto", 50_000)]
    assert parts == 2


@pytest.mark.parametrize(
    ("max_installments", "count"),
    [
        pytest.param(12, 13, id="beyond-the-plan"),
        pytest.param(1, 2, id="plan-without-installments"),
        pytest.param(12, 1, id="one-is-not-installments"),
        pytest.param(12, 2.5, id="float"),
    ],
)
def test_installments_beyond_the_plan_are_refused_and_nothing_is_created(
    max_installments: int, count: int
) -> None:
    with world(NOW) as w:
        plan = _annual(w, max_installments)
        customer = _card_customer(w)
        with pytest.raises(ValidationFailed) as caught:
            w.subscribe(plan, customer, installments=count)
        assert caught.value.code == "installments_not_allowed"
        assert not Subscription.objects.exists()
        assert not Installment.objects.exists()
        assert not PaymentAttempt.objects.exists()


def test_an_invoice_in_installments_is_not_charged_whole() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_annual(w), w.customer(), installments=4)
        invoice = Invoice.objects.get(subscription=sub)
        with pytest.raises(StateConflict) as caught:
            invoice_charge(tenant=w.tenant, invoice_id=invoice.pk, now=NOW)
        assert caught.value.code == "invoice_in_installments"


def test_the_schedule_is_printed_on_the_invoice() -> None:
    from pypdf import PdfReader

    from billing.pdf import render_invoice_pdf

    with world(NOW) as w:
        customer = _card_customer(w)
        customer.locale = "en"
        customer.save()
        sub = w.subscribe(_annual(w), customer, installments=3)
        invoice = Invoice.objects.get(subscription=sub)
        pdf = render_invoice_pdf(invoice=invoice)

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Installments" in text
    assert "1/3" in text
    assert "3/3" in text
    assert "R$333.34" in text
    assert "R$333.33" in text


def test_a_test_clock_charges_each_installment_once_on_its_date() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_annual(w), _card_customer(w), installments=12)
        invoice = Invoice.objects.get(subscription=sub)
        w.advance(utc(2026, 6, 1, 12))
        by_june = list(
            PaymentAttempt.objects.filter(invoice=invoice)
            .order_by("number")
            .values_list("installment__number", "amount_minor", "created_at", "status")
        )
        w.advance(utc(2027, 1, 15, 12))  # past the 12th part, before the renewal
        w.advance(utc(2027, 1, 20, 12))  # a second advance charges nothing again
        attempts = list(
            PaymentAttempt.objects.filter(invoice=invoice)
            .order_by("number")
            .values_list("installment__number", "amount_minor", "status")
        )
        invoice.refresh_from_db()
    # 100000 / 12 = 8333 rest 4: parts 1-4 are 8334, parts 5-12 are 8333.
    # Due monthly on the local 31st (12:00 in São Paulo = 15:00 UTC), clamped to month end.
    assert [(n, a, s) for n, a, _, s in by_june] == [
        (1, 8334, "succeeded"),
        (2, 8334, "succeeded"),
        (3, 8334, "succeeded"),
        (4, 8334, "succeeded"),
        (5, 8333, "succeeded"),
    ]
    assert [at for *_, at, _ in by_june][1:] == [
        utc(2026, 2, 28, 15),
        utc(2026, 3, 31, 15),
        utc(2026, 4, 30, 15),
        utc(2026, 5, 31, 15),
    ]
    assert [n for n, _, _ in attempts] == list(range(1, 13))
    assert {s for *_, s in attempts} == {"succeeded"}
    assert sum(a for _, a, _ in attempts) == 100_000
    assert (invoice.status, invoice.amount_paid_minor) == ("paid", 100_000)


def test_an_annual_renewal_is_split_as_chosen_at_signup_and_its_first_part_charged() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_annual(w), _card_customer(w), installments=12)
        chosen = Subscription.objects.get(pk=sub.pk).installments
        w.advance(utc(2027, 3, 1, 12))
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        parts = list(
            Installment.objects.filter(invoice=renewal).values_list("number", "amount_minor")
        )
        attempts = list(
            PaymentAttempt.objects.filter(invoice=renewal)
            .order_by("number")
            .values_list("installment__number", "amount_minor", "status")
        )
        first_year = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
    assert chosen == 12
    assert first_year.status == "paid"
    # The renewal (2027-01-31) is split in 12 like the signup: 8334 ×4 + 8333 ×8.
    assert parts == [(n, 8334 if n <= 4 else 8333) for n in range(1, 13)]
    # Part 1 charged at renewal, part 2 on 2027-02-28, each exactly once.
    assert attempts == [(1, 8334, "succeeded"), (2, 8334, "succeeded")]
    assert renewal.status == "open"
