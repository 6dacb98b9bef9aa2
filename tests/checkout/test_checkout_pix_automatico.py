"""Hosted checkout where the merchant offers Pix Automático: Pix for a recurring
plan is journey 3 — the thank-you page shows one QR that pays the first invoice
(setup fee included) and authorises the next cycles; no one-off Pix charge is
made; without a CPF/CNPJ nothing is created."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from billing.domain.pix_automatico import parse_recurrence_br_code
from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp
from billing.models import Invoice, PaymentAttempt, PixMandate
from billing.segunda_via import collection_settings_update
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tests.checkout.test_hosted_checkout import _counts, _form, _shop
from tests.support.billing import ACTOR, utc

pytestmark = pytest.mark.django_db(transaction=True)


def _offering():  # type: ignore[no-untyped-def]
    tenant, plan, _other = _shop()
    with tenant_context(tenant):
        collection_settings_update(
            tenant=tenant,
            fine_percent=Decimal("2.00"),
            monthly_interest_percent=Decimal("1.00"),
            days_to_pay=3,
            pix_automatico=True,
            actor=ACTOR,
            now=utc(2026, 6, 1),
        )
    return tenant, plan


def test_pix_for_a_recurring_plan_is_journey_3_and_authorising_pays_the_first_invoice() -> None:
    tenant, plan = _offering()
    client = Client()
    page = client.get(f"/t/{tenant.slug}/checkout/{plan.public_id}/").content.decode()

    response = client.post(
        f"/t/{tenant.slug}/checkout/{plan.public_id}/", _form(client, method="pix", reference="")
    )
    assert response.status_code == 302, response.content.decode()
    done = client.get(response["Location"]).content.decode()
    with tenant_context(tenant):
        sub = Subscription.objects.get(tenant=tenant)
        mandate = PixMandate.objects.get(subscription=sub)
        first = Invoice.objects.get(subscription=sub)
        attempts_before = PaymentAttempt.objects.filter(invoice=first).count()
        body, headers = SandboxPixAutomaticoPsp().simulate_authorisation(
            recurrence_id=mandate.recurrence_id
        )
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    Client().post("/webhooks/sandbox_pixauto/", body, content_type="application/json", **http)

    assert "Pix Automático" in page
    assert 'data-testid="pix-automatico-qr"' in done
    assert mandate.payload in done
    assert 'data-testid="pix-link"' not in done
    assert attempts_before == 0
    assert (mandate.journey, mandate.first_amount_minor, mandate.max_amount_minor) == (
        "3",
        7_000,
        5_000,
    )
    assert parse_recurrence_br_code(mandate.payload).amount_minor == 7_000
    with tenant_context(tenant):
        first.refresh_from_db()
        sub.refresh_from_db()
        assert first.status == "paid"
        assert sub.status == "active"
        assert sub.payment_method is not None
        assert sub.payment_method.kind == "pix_automatico"


def test_pix_automatico_needs_a_tax_id_and_nothing_is_created() -> None:
    tenant, plan = _offering()
    client = Client()

    response = client.post(
        f"/t/{tenant.slug}/checkout/{plan.public_id}/",
        _form(client, method="pix", reference="", tax_id=""),
    )

    assert response.status_code == 400
    assert 'data-error="tax_id">' in response.content.decode()
    assert _counts(tenant) == (0, 0, 0, 0)
    with tenant_context(tenant):
        assert not PixMandate.objects.exists()
