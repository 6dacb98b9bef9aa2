"""Saving a card over the API: the integrator's page gives the card to the
gateway (the sandbox tokenizer, or Stripe Elements on a SetupIntent from
``payment_methods/setup``) and attaches what the gateway returns."""

from __future__ import annotations

import json

import pytest
import stripe
from django.test import Client

from billing.payments import gateway_account_set
from core.actors import Actor
from customers.models import PaymentMethod
from tenants.context import tenant_context
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup
from tests.support.fake_stripe import running

pytestmark = pytest.mark.django_db(transaction=True)


def _customer(setup: TenantSetup) -> str:
    return setup.client().post("/api/v1/customers", {"name": "Ana"}).json()["id"]


def _sandbox_token(number: str = "4242424242424242") -> str:
    response = Client().post(
        "/sandbox/tokens",
        json.dumps({"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
        content_type="application/json",
    )
    return response.json()["id"]


def test_a_card_from_the_sandbox_tokenizer_is_attached_once(acme: TenantSetup) -> None:
    customer = _customer(acme)
    setup = acme.client().post(f"/api/v1/customers/{customer}/payment_methods/setup", {})
    assert setup.status_code == 200
    assert setup.json() == {
        "object": "card_setup",
        "gateway": "sandbox",
        "publishable_key": "",
        "client_secret": "",
    }
    token = _sandbox_token("5555555555554444")
    path = f"/api/v1/customers/{customer}/payment_methods"
    attached = acme.client().post(path, {"type": "card", "token": token})
    assert attached.status_code == 201
    assert attached.json()["card"] == {
        "brand": "mastercard",
        "last4": "4444",
        "exp_month": 12,
        "exp_year": 2031,
    }
    again = acme.client().post(path, {"type": "card", "token": token})
    assert again.status_code == 409
    assert error(again)["code"] == "already_saved"
    for bad in ("tok_sandbox_ok_0000000000000000", "tok_nope", "4242424242424242"):
        response = acme.client().post(path, {"type": "card", "token": bad})
        assert response.status_code in (400, 404), bad
    assert counts(acme, PaymentMethod) == {"PaymentMethod": 1}


def test_stripe_elements_through_the_api_saves_only_the_customers_own_setup(
    acme: TenantSetup, settings
) -> None:  # type: ignore[no-untyped-def]
    with running() as fake:
        settings.STRIPE_API_BASE = fake.api_base
        with tenant_context(acme.tenant):
            gateway_account_set(
                tenant=acme.tenant,
                gateway="stripe",
                credentials={
                    "api_key": "sk_test_apisetup1234",
                    "webhook_secret": "whsec_apisetup1234",
                    "publishable_key": "pk_test_apisetup1234",
                },
                actor=Actor.system(),
                now=acme.tenant.created_at,
            )
        ana, bia = _customer(acme), _customer(acme)
        started = acme.client().post(f"/api/v1/customers/{ana}/payment_methods/setup", {}).json()
        assert (started["gateway"], started["publishable_key"]) == (
            "stripe",
            "pk_test_apisetup1234",
        )
        seti = started["client_secret"].split("_secret_")[0]
        browser = stripe.StripeClient(
            "sk_test_elements", base_addresses={"api": fake.api_base}, max_network_retries=0
        )
        browser.v1.setup_intents.confirm(seti, {"payment_method": "pm_card_visa"})

        acme.client().post(f"/api/v1/customers/{bia}/payment_methods/setup", {})
        stolen = acme.client().post(
            f"/api/v1/customers/{bia}/payment_methods", {"type": "card", "setup_intent": seti}
        )
        assert stolen.status_code == 404
        saved = acme.client().post(
            f"/api/v1/customers/{ana}/payment_methods", {"type": "card", "setup_intent": seti}
        )
        assert saved.status_code == 201
        assert saved.json()["gateway"] == "stripe"
        assert saved.json()["card"]["last4"] == "4242"
    assert counts(acme, PaymentMethod) == {"PaymentMethod": 1}
