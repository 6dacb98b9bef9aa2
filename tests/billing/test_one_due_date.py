"""One due date for a boleto invoice: the slip, the invoice (PDF and email) and the
dunning case show the same day (issue 13, "fix what a newcomer hit")."""

from datetime import date

import pytest
from django.utils import translation

from billing.models import Invoice, PaymentAttempt, SandboxCharge
from billing.payments import payment_method_attach_offline
from billing.pdf import render_invoice_html
from core.localtime import local_date
from dunning.models import DunningCase
from notifications.message_context import _Formatter
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)  # 12:00 in São Paulo


def _boleto_invoice(w):  # type: ignore[no-untyped-def]
    customer = w.customer()
    customer.tax_id = "52998224725"
    customer.locale = "pt-br"
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=2_990), customer)
    attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
    charge = SandboxCharge.objects.get(ref=attempt.gateway_ref)
    return Invoice.objects.get(pk=attempt.invoice_id), charge


def test_with_no_net_terms_the_invoice_takes_the_boleto_due_date() -> None:
    with world(NOW) as w:
        invoice, charge = _boleto_invoice(w)
        slip_due = date.fromisoformat(charge.details["due_date"])
        html = render_invoice_html(invoice=invoice)

        assert slip_due == date(2026, 6, 4)  # the tenant's 3 days to pay a boleto
        assert local_date(invoice.due_at, w.tenant.time_zone) == slip_due
        assert "4 de jun. de 2026" in html
        cases = list(DunningCase.objects.filter(invoice=invoice))
        assert cases
        for case in cases:
            assert local_date(case.due_at, w.tenant.time_zone) == slip_due


def test_with_longer_net_terms_the_boleto_takes_the_invoice_due_date() -> None:
    with world(NOW, net_terms_days=10) as w:
        invoice, charge = _boleto_invoice(w)

        assert local_date(invoice.due_at, w.tenant.time_zone) == date(2026, 6, 11)
        assert charge.details["due_date"] == "2026-06-11"


def test_the_invoice_email_shows_the_same_due_date() -> None:
    with world(NOW) as w:
        invoice, charge = _boleto_invoice(w)
        with translation.override("pt-br"):
            shown = _Formatter(w.tenant, "pt-br").date(invoice.due_at)

        assert shown == "4 de Junho de 2026"
        assert charge.details["due_date"] == "2026-06-04"
