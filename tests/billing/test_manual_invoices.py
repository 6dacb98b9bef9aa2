"""One-off invoices: a draft is edited freely, finalizing numbers and freezes it."""

import pytest

from billing.models import Invoice, InvoiceLine
from billing.services import (
    ManualLine,
    invoice_draft_add_line,
    invoice_draft_create,
    invoice_draft_delete,
    invoice_finalize,
)
from core.errors import StateConflict, ValidationFailed
from core.transitions import IllegalTransition
from subscriptions.models import Subscription
from tenants.models import Event
from tests.support.billing import ACTOR, utc, world

NOW = utc(2026, 5, 4, 15)


def test_a_draft_has_no_number_until_it_is_finalized(db: None) -> None:
    with world(NOW) as w:
        iss = w.tax("5")
        customer = w.customer()
        draft = invoice_draft_create(
            tenant=w.tenant,
            customer=customer,
            currency="BRL",
            actor=ACTOR,
            now=NOW,
            lines=[ManualLine("Consulting", 15_000, 2, tax_rate_id=iss.pk)],
        )
        invoice_draft_add_line(
            tenant=w.tenant,
            invoice_id=draft.pk,
            line=ManualLine("Goodwill", -5_000),
            actor=ACTOR,
            now=NOW,
        )
        assert (draft.status, draft.number) == ("draft", None)

        final = invoice_finalize(tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=NOW)

        lines = list(final.lines.values_list("amount_minor", "tax_minor", "total_minor"))
        events = list(
            Event.objects.filter(subject_id=final.public_id).values_list("type", flat=True)
        )
    assert final.number == "ACME-2026-000001"
    assert final.status == "open"
    assert lines == [(30_000, 1_500, 31_500), (-5_000, 0, -5_000)]
    assert (final.subtotal_minor, final.tax_minor, final.total_minor) == (25_000, 1_500, 26_500)
    assert final.amount_due_minor == 26_500
    assert events == ["invoice.created", "invoice.finalized"]


def test_a_finalized_invoice_cannot_be_edited_finalized_again_or_deleted(db: None) -> None:
    with world(NOW) as w:
        draft = invoice_draft_create(
            tenant=w.tenant,
            customer=w.customer(),
            currency="BRL",
            actor=ACTOR,
            now=NOW,
            lines=[ManualLine("Setup", 10_000)],
        )
        invoice_finalize(tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=NOW)

        for call in (
            lambda: invoice_draft_add_line(
                tenant=w.tenant,
                invoice_id=draft.pk,
                line=ManualLine("More", 1),
                actor=ACTOR,
                now=NOW,
            ),
            lambda: invoice_finalize(tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=NOW),
            lambda: invoice_draft_delete(
                tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=NOW
            ),
        ):
            with pytest.raises(StateConflict) as caught:
                call()
            assert caught.value.code == "invoice_not_draft"
        assert InvoiceLine.objects.filter(invoice=draft).count() == 1


def test_a_negative_draft_becomes_customer_credit_not_a_negative_invoice(db: None) -> None:
    with world(NOW) as w:
        customer = w.customer()
        refund = invoice_draft_create(
            tenant=w.tenant,
            customer=customer,
            currency="BRL",
            actor=ACTOR,
            now=NOW,
            lines=[ManualLine("Service credit", -3_000)],
        )
        refund = invoice_finalize(tenant=w.tenant, invoice_id=refund.pk, actor=ACTOR, now=NOW)
        bill = invoice_draft_create(
            tenant=w.tenant,
            customer=customer,
            currency="BRL",
            actor=ACTOR,
            now=NOW,
            lines=[ManualLine("Extra seats", 5_000)],
        )
        bill = invoice_finalize(tenant=w.tenant, invoice_id=bill.pk, actor=ACTOR, now=NOW)

    assert (refund.total_minor, refund.status) == (0, "paid")
    assert (bill.total_minor, bill.credit_applied_minor, bill.amount_due_minor) == (
        5_000,
        3_000,
        2_000,
    )


@pytest.mark.parametrize(
    ("line", "param"),
    [
        pytest.param(ManualLine("", 100), "description", id="no-description"),
        pytest.param(ManualLine("x", 1.5), "unit_amount_minor", id="float"),  # type: ignore[arg-type]
        pytest.param(ManualLine("x", "100"), "unit_amount_minor", id="string"),  # type: ignore[arg-type]
        pytest.param(ManualLine("x", 10**14), "unit_amount_minor", id="huge"),
        pytest.param(ManualLine("x", 100, 0), "quantity", id="zero-quantity"),
        pytest.param(ManualLine("x", 10**13, 10), "quantity", id="overflowing-product"),
    ],
)
def test_bad_lines_are_refused_and_create_nothing(db: None, line: ManualLine, param: str) -> None:
    with world(NOW) as w:
        customer = w.customer()
        with pytest.raises(ValidationFailed) as caught:
            invoice_draft_create(
                tenant=w.tenant,
                customer=customer,
                currency="BRL",
                actor=ACTOR,
                now=NOW,
                lines=[line],
            )
        assert caught.value.param == param
        assert not Invoice.objects.exists()


def test_an_empty_draft_cannot_be_finalized(db: None) -> None:
    with world(NOW) as w:
        draft = invoice_draft_create(
            tenant=w.tenant, customer=w.customer(), currency="BRL", actor=ACTOR, now=NOW
        )
        with pytest.raises(ValidationFailed, match="at least one line"):
            invoice_finalize(tenant=w.tenant, invoice_id=draft.pk, actor=ACTOR, now=NOW)
        assert Invoice.objects.get(pk=draft.pk).number is None


def test_illegal_subscription_transitions_are_domain_errors(db: None) -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan(amount=1_000))
        sub.status = Subscription.Status.CANCELED
        with pytest.raises(IllegalTransition, match="A canceled subscription cannot become active"):
            sub.move_to(Subscription.Status.ACTIVE)
