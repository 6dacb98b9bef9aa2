"""The dunning pages show step times in the account's time zone (a policy's "09:00" in
America/Sao_Paulo is 9 a.m. on screen, not noon UTC) and say which zone that is."""

from __future__ import annotations

import re

import pytest

from billing.models import PaymentAttempt
from billing.payments import payment_method_attach_offline
from dunning.models import DunningCase
from tenants.context import tenant_context
from tests.dashboard.helpers import signed_in
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def test_step_times_and_the_due_date_are_local_on_the_case_and_list_pages() -> None:
    with world(NOW) as w:
        customer = w.customer()
        customer.tax_id = "52998224725"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=2_990), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        case = DunningCase.objects.get(invoice_id=attempt.invoice_id)
        with tenant_context(w.tenant):
            runs = list(case.runs.all())
            invoice_id = case.invoice.public_id
        slug = w.tenant.slug

    assert runs
    assert {r.scheduled_at.hour for r in runs} == {12}  # 09:00 in São Paulo, in UTC
    client = signed_in(f"owner@{slug}.example")
    page = client.get(
        f"/dashboard/dunning/cases/{case.public_id}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    listing = client.get("/dashboard/dunning/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    times = re.findall(r"<td>(\d\d/\d\d/\d{4} [^<]+)</td>", page)
    assert len(times) == len(runs)
    assert all(t.endswith(" 9 a.m.") for t in times), times
    assert "06/04/2026" in page  # the due date, the boleto's (tests/billing/test_one_due_date.py)
    assert "America/Sao_Paulo" in page
    assert "America/Sao_Paulo" in listing
    assert f'href="/dashboard/invoices/{invoice_id}/"' in page
