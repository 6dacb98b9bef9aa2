"""Stripe end to end: a tenant's own account, charged through the official SDK
against the local fake of Stripe's API, confirmed by a signed webhook."""

import json
import time
from collections.abc import Iterator

import pytest
import stripe
from django.test import Client

from billing.gateways.base import SavedMethod
from billing.models import Invoice, PaymentAttempt
from billing.payments import gateway_account_set, payment_method_attach
from tests.support.billing import ACTOR, utc, world
from tests.support.fake_stripe import FakeStripe, running

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
CREDENTIALS = {"api_key": "sk_test_51TenantOwnKey0001", "webhook_secret": "whsec_tenant_0001"}


@pytest.fixture
def fake(settings) -> Iterator[FakeStripe]:  # type: ignore[no-untyped-def]
    with running() as server:
        settings.STRIPE_API_BASE = server.api_base
        yield server


def _subscribe_with(w, pm: str):  # type: ignore[no-untyped-def]
    gateway_account_set(
        tenant=w.tenant, gateway="stripe", credentials=CREDENTIALS, actor=ACTOR, now=NOW
    )
    customer = w.customer()
    payment_method_attach(
        tenant=w.tenant,
        customer=customer,
        gateway="stripe",
        actor=ACTOR,
        now=NOW,
        saved=SavedMethod(token=pm, kind="card", brand="visa", last4="4242"),
    )
    sub = w.subscribe(w.plan(amount=4_990), customer)
    return PaymentAttempt.objects.select_related("invoice").get(invoice__subscription=sub)


def test_a_tenants_stripe_account_is_charged_once_per_attempt(fake: FakeStripe) -> None:
    with world(NOW) as w:
        attempt = _subscribe_with(w, "pm_card_visa")

        assert attempt.status == "succeeded"
        assert attempt.gateway_ref.startswith("pi_")
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
        assert fake.payment_intents_created == 1


def test_a_stripe_decline_is_recorded_with_stripes_code(fake: FakeStripe) -> None:
    with world(NOW) as w:
        attempt = _subscribe_with(w, "pm_card_chargeDeclinedInsufficientFunds")

        assert (attempt.status, attempt.failure_code) == ("failed", "insufficient_funds")
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "open"


def test_a_webhook_signed_with_the_tenants_secret_settles_an_authentication(
    fake: FakeStripe,
) -> None:
    with world(NOW) as w:
        attempt = _subscribe_with(w, "pm_card_authenticationRequired")
        assert attempt.status == "requires_action"
        intent = fake.complete_authentication(attempt.gateway_ref)
        event = FakeStripe.event("payment_intent.succeeded", intent)
        body = json.dumps(event)
        timestamp = int(time.time())
        signature = stripe.WebhookSignature._compute_signature(
            f"{timestamp}.{body}", CREDENTIALS["webhook_secret"]
        )

        wrong_tenant = Client().post(
            "/webhooks/stripe/nobody/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
        )
        response = Client().post(
            f"/webhooks/stripe/{w.tenant.slug}/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
        )

        attempt.refresh_from_db()
        assert wrong_tenant.status_code == 404
        assert response.status_code == 200, response.content
        assert attempt.status == "succeeded"
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
