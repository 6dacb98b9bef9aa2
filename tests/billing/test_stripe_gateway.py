"""The Stripe gateway, through the official SDK, against a local fake of Stripe's API.

Nothing of ours and nothing of the SDK is patched: the gateway talks HTTP to
``tests.support.fake_stripe``, which answers like Stripe (test cards by id,
idempotency keys, 402 card errors, search) and can fail on demand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest
import stripe

from billing.gateways.base import ChargeStatus, GatewayUnavailable, InvalidWebhook
from billing.gateways.stripe import METADATA_KEY, StripeGateway
from core.errors import ValidationFailed
from tests.support.fake_stripe import FakeStripe, running

WEBHOOK_SECRET = "whsec_test_ciclo"
API_KEY = "sk_test_ciclo"
INTENTS = "/v1/payment_intents"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running() as server:
        yield server


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(API_KEY, WEBHOOK_SECRET, fake.api_base, timeout=5)


def _charge(gateway: StripeGateway, token: str, key: str = "inv_1:attempt:1", amount: int = 9_990):
    return gateway.charge(
        token=token,
        amount_minor=amount,
        currency="BRL",
        idempotency_key=key,
        description="Invoice 2026-0001",
    )


def _signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return body.encode(), {"Stripe-Signature": header}


# --- charging -----------------------------------------------------------------------


def test_a_charge_is_a_confirmed_off_session_payment_intent_carrying_our_key(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    result = _charge(gateway, "pm_card_visa")

    assert result.status == ChargeStatus.SUCCEEDED
    assert result.gateway_ref.startswith("pi_")
    intent = fake.payment_intents[result.gateway_ref]
    assert (intent["amount"], intent["currency"], intent["amount_received"]) == (
        9_990,
        "brl",
        9_990,
    )
    assert intent["metadata"] == {METADATA_KEY: "inv_1:attempt:1"}
    assert intent["description"] == "Invoice 2026-0001"
    method, path, headers = fake.requests[-1]
    assert (method, path) == ("POST", INTENTS)
    assert headers["idempotency-key"] == "inv_1:attempt:1"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert fake.payment_intents_created == 1


@pytest.mark.parametrize(
    ("card", "code", "message"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "insufficient funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired"),
    ],
)
def test_a_decline_is_a_failed_charge_with_stripes_decline_code(
    gateway: StripeGateway, card: str, code: str, message: str
) -> None:
    result = _charge(gateway, card)

    assert result.status == ChargeStatus.FAILED
    assert result.failure_code == code
    assert message in result.failure_message
    assert result.gateway_ref.startswith("pi_")  # the declined intent, for the record
    # Asked again later, Stripe's record says the same.
    assert gateway.fetch_charge(idempotency_key="inv_1:attempt:1") == result


def test_a_card_needing_3ds_off_session_asks_for_the_customer_then_settles_by_webhook(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    result = _charge(gateway, "pm_card_authenticationRequired")

    assert result.status == ChargeStatus.REQUIRES_ACTION
    assert result.failure_code == "authentication_required"
    assert "requires authentication" in result.failure_message

    # The customer comes back on-session; Stripe.js shows the 3-D Secure page.
    fake.begin_authentication(result.gateway_ref, return_url="https://ciclo.test/back")
    pending = gateway.fetch_charge(
        idempotency_key="inv_1:attempt:1", gateway_ref=result.gateway_ref
    )
    assert pending is not None
    assert pending.status == ChargeStatus.REQUIRES_ACTION
    assert pending.action_url.startswith("https://hooks.stripe.com/3d_secure_2/")

    intent = fake.complete_authentication(result.gateway_ref)
    body, headers = _signed(FakeStripe.event("payment_intent.succeeded", intent))
    event = gateway.parse_webhook(body=body, headers=headers)

    assert event.type == "charge.succeeded"
    assert event.data == {"idempotency_key": "inv_1:attempt:1", "charge": result.gateway_ref}
    settled = gateway.fetch_charge(idempotency_key=event.data["idempotency_key"])
    assert settled is not None
    assert (settled.status, settled.gateway_ref) == (ChargeStatus.SUCCEEDED, result.gateway_ref)


def test_asking_again_under_the_same_key_replays_the_charge(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    first = _charge(gateway, "pm_card_visa")
    again = _charge(gateway, "pm_card_visa")

    assert again == first
    assert fake.payment_intents_created == 1
    with pytest.raises(ValidationFailed) as exc:
        _charge(gateway, "pm_card_visa", amount=1)
    assert exc.value.code == "idempotency_mismatch"
    assert fake.payment_intents_created == 1


def test_a_500_then_a_retry_under_the_same_key_makes_one_payment_intent(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.fail_next(500, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")
    assert gateway.fetch_charge(idempotency_key="inv_1:attempt:1") is None

    result = _charge(gateway, "pm_card_visa")

    assert result.status == ChargeStatus.SUCCEEDED
    assert fake.payment_intents_created == 1


def test_a_500_after_the_work_is_replayed_and_the_charge_found_by_our_key(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    # Stripe stores whatever the first request answered, a 500 included.
    fake.fail_next(500, after_processing=True, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")

    found = gateway.fetch_charge(idempotency_key="inv_1:attempt:1")

    assert found is not None
    assert found.status == ChargeStatus.SUCCEEDED
    assert fake.payment_intents_created == 1


def test_rate_limiting_is_transient(fake: FakeStripe, gateway: StripeGateway) -> None:
    fake.fail_next(429, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")
    assert fake.payment_intents_created == 0


def test_a_dropped_connection_is_transient_and_the_charge_is_found_by_our_key(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.drop_next(after_processing=True, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")

    found = gateway.fetch_charge(idempotency_key="inv_1:attempt:1")

    assert found is not None
    assert found.status == ChargeStatus.SUCCEEDED
    assert fake.payment_intents_created == 1
    # Reconciliation would now settle; another key finds nothing.
    assert gateway.fetch_charge(idempotency_key="inv_1:attempt:2") is None
    (_m, path, _h) = fake.requests[-1]
    assert path == "/v1/payment_intents/search"


def test_while_search_lags_charging_again_under_the_key_still_charges_once(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.drop_next(after_processing=True, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")
    fake.search_hides_everything = True
    assert gateway.fetch_charge(idempotency_key="inv_1:attempt:1") is None

    # What payment_attempt_reconcile does next: send it again under the same key.
    result = _charge(gateway, "pm_card_visa")

    assert result.status == ChargeStatus.SUCCEEDED
    assert fake.payment_intents_created == 1


def test_a_connection_dropped_before_stripe_saw_it_charged_nothing(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.drop_next(after_processing=False, path=INTENTS)
    with pytest.raises(GatewayUnavailable):
        _charge(gateway, "pm_card_visa")
    assert gateway.fetch_charge(idempotency_key="inv_1:attempt:1") is None
    assert fake.payment_intents_created == 0


def test_an_unknown_payment_method_fails_the_charge(gateway: StripeGateway) -> None:
    result = _charge(gateway, "pm_does_not_exist")

    assert result.status == ChargeStatus.FAILED
    assert result.failure_code == "resource_missing"


def test_a_token_that_is_not_stripes_is_refused(gateway: StripeGateway) -> None:
    with pytest.raises(ValidationFailed):
        _charge(gateway, "tok_sandbox_ok_123:x")


# --- refunds --------------------------------------------------------------------------


def test_refunds_partial_then_full_and_never_more(fake: FakeStripe, gateway: StripeGateway) -> None:
    ref = _charge(gateway, "pm_card_visa").gateway_ref

    partial = gateway.refund(gateway_ref=ref, amount_minor=4_000, idempotency_key="pay_1:refund:1")
    replay = gateway.refund(gateway_ref=ref, amount_minor=4_000, idempotency_key="pay_1:refund:1")
    rest = gateway.refund(gateway_ref=ref, amount_minor=5_990, idempotency_key="pay_1:refund:2")
    too_much = gateway.refund(gateway_ref=ref, amount_minor=1, idempotency_key="pay_1:refund:3")

    assert partial.succeeded
    assert partial.gateway_ref.startswith("re_")
    assert replay == partial
    assert rest.succeeded
    assert rest.gateway_ref != partial.gateway_ref
    assert not too_much.succeeded
    assert "already been refunded" in too_much.failure_message
    assert fake.refunded(ref) == 9_990
    refund = fake.refunds[partial.gateway_ref]
    assert (refund["amount"], refund["payment_intent"]) == (4_000, ref)


def test_a_refund_larger_than_the_charge_is_refused(gateway: StripeGateway) -> None:
    ref = _charge(gateway, "pm_card_visa").gateway_ref

    result = gateway.refund(gateway_ref=ref, amount_minor=10_000, idempotency_key="pay_1:refund:1")

    assert not result.succeeded
    assert "greater than unrefunded amount" in result.failure_message


def test_a_refund_that_gets_no_answer_is_transient(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    ref = _charge(gateway, "pm_card_visa").gateway_ref
    fake.drop_next(path="/v1/refunds")
    with pytest.raises(GatewayUnavailable):
        gateway.refund(gateway_ref=ref, amount_minor=9_990, idempotency_key="pay_1:refund:1")

    again = gateway.refund(gateway_ref=ref, amount_minor=9_990, idempotency_key="pay_1:refund:1")

    assert again.succeeded
    assert len(fake.refunds) == 1


# --- webhooks -------------------------------------------------------------------------


def _intent_event(fake: FakeStripe, gateway: StripeGateway, card: str, type: str) -> dict:
    ref = _charge(gateway, card).gateway_ref
    return FakeStripe.event(type, dict(fake.payment_intents[ref]))


def test_a_webhook_signed_as_stripe_documents_is_parsed(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    event = _intent_event(fake, gateway, "pm_card_visa", "payment_intent.succeeded")
    body = json.dumps(event).encode()
    ts = int(time.time())
    # HMAC-SHA256 of "<t>.<payload>" with the endpoint's secret, by hand.
    sig = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()

    parsed = gateway.parse_webhook(body=body, headers={"stripe-signature": f"t={ts},v1={sig}"})

    assert parsed.id == event["id"]
    assert parsed.type == "charge.succeeded"
    assert parsed.data == {
        "idempotency_key": "inv_1:attempt:1",
        "charge": event["data"]["object"]["id"],
    }


def test_a_failed_payment_webhook_is_a_failed_charge(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    event = _intent_event(
        fake, gateway, "pm_card_chargeDeclinedInsufficientFunds", "payment_intent.payment_failed"
    )
    body, headers = _signed(event)

    parsed = gateway.parse_webhook(body=body, headers=headers)

    assert parsed.type == "charge.failed"
    assert parsed.data["idempotency_key"] == "inv_1:attempt:1"


def test_other_stripe_events_are_namespaced_so_they_are_ignored(gateway: StripeGateway) -> None:
    body, headers = _signed(
        FakeStripe.event("charge.succeeded", {"id": "ch_1", "object": "charge"})
    )

    parsed = gateway.parse_webhook(body=body, headers=headers)

    assert parsed.type == "stripe.charge.succeeded"
    assert parsed.data == {}


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "stale", "body_changed", "no_header", "not_json"],
)
def test_a_forged_or_stale_webhook_is_refused(gateway: StripeGateway, tamper: str) -> None:
    event = FakeStripe.event("payment_intent.succeeded", {"id": "pi_1", "metadata": {}})
    if tamper == "wrong_secret":
        body, headers = _signed(event, secret="whsec_someone_else")
    elif tamper == "stale":
        body, headers = _signed(event, timestamp=int(time.time()) - 3_600)
    elif tamper == "body_changed":
        body, headers = _signed(event)
        body = body.replace(b"pi_1", b"pi_2")
    elif tamper == "no_header":
        body, headers = json.dumps(event).encode(), {}
    else:
        payload = "not json"
        body = payload.encode()
        headers = {
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                payload, WEBHOOK_SECRET
            )
        }

    with pytest.raises(InvalidWebhook):
        gateway.parse_webhook(body=body, headers=headers)


# --- setting up a card ------------------------------------------------------------------


def _confirm_in_browser(fake: FakeStripe, client_secret: str, card: str) -> str:
    """What Stripe Elements does with the client secret: confirm with the card."""
    setup_intent_id = client_secret.split("_secret_")[0]
    browser = stripe.StripeClient(
        "sk_test_elements", base_addresses={"api": fake.api_base}, max_network_retries=0
    )
    browser.v1.setup_intents.confirm(setup_intent_id, {"payment_method": card})
    return setup_intent_id


def test_a_card_set_up_with_elements_is_saved_and_charged_off_session(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = gateway.ensure_customer(email="ana@example.com", name="Ana", ciclo_customer_id="c1")
    assert customer.startswith("cus_")
    assert (
        gateway.ensure_customer(email="ana@example.com", name="Ana", ciclo_customer_id="c1")
        == customer
    )
    assert len(fake.customers) == 1
    assert fake.customers[customer]["metadata"] == {"ciclo_customer_id": "c1"}

    client_secret = gateway.create_setup_intent(customer)
    assert "_secret_" in client_secret
    setup_intent_id = _confirm_in_browser(fake, client_secret, "pm_card_mastercard")
    saved = gateway.saved_method_from_setup_intent(setup_intent_id)

    cus, pm = saved.token.split(":")
    assert cus == customer
    assert fake.payment_methods[pm]["customer"] == customer
    assert (saved.kind, saved.brand, saved.last4, saved.exp_month, saved.exp_year) == (
        "card",
        "mastercard",
        "4444",
        12,
        2034,
    )
    result = _charge(gateway, saved.token)
    assert result.status == ChargeStatus.SUCCEEDED
    intent = fake.payment_intents[result.gateway_ref]
    assert (intent["customer"], intent["payment_method"]) == (customer, pm)
    # Without its customer, Stripe refuses a saved method: the token keeps both.
    assert _charge(gateway, pm, key="other").status == ChargeStatus.FAILED


def test_a_setup_not_yet_confirmed_saves_nothing(gateway: StripeGateway) -> None:
    customer = gateway.ensure_customer(email="bia@example.com", name="Bia", ciclo_customer_id="c2")
    client_secret = gateway.create_setup_intent(customer)

    with pytest.raises(ValidationFailed) as exc:
        gateway.saved_method_from_setup_intent(client_secret.split("_secret_")[0])
    assert exc.value.code == "setup_incomplete"


def test_each_gateway_has_its_own_client_and_no_sdk_globals(fake: FakeStripe) -> None:
    before = (stripe.api_key, stripe.api_base)
    one = StripeGateway("sk_test_tenant_one", WEBHOOK_SECRET, fake.api_base)
    two = StripeGateway("sk_test_tenant_two", WEBHOOK_SECRET, fake.api_base)

    _charge(one, "pm_card_visa", key="k1")
    _charge(two, "pm_card_visa", key="k2")

    keys = [h["authorization"] for (_m, p, h) in fake.requests if p == INTENTS]
    assert keys == ["Bearer sk_test_tenant_one", "Bearer sk_test_tenant_two"]
    assert (stripe.api_key, stripe.api_base) == before


def test_from_settings_needs_both_keys_and_is_otherwise_an_unknown_gateway(
    settings, fake: FakeStripe
) -> None:
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(LookupError):
        StripeGateway.from_settings()

    settings.STRIPE_API_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.api_base
    assert _charge(StripeGateway.from_settings(), "pm_card_visa").status == ChargeStatus.SUCCEEDED


# --- with the database -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_saved_stripe_card_is_attached_as_a_token(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    from billing.payments import payment_method_attach
    from tests.support.billing import ACTOR, utc, world

    now = utc(2026, 6, 1, 15)
    with world(now) as w:
        customer = w.customer()
        ref = gateway.ensure_customer(
            email="ana@example.com", name=customer.name, ciclo_customer_id=customer.public_id
        )
        seti = _confirm_in_browser(fake, gateway.create_setup_intent(ref), "pm_card_visa")
        saved = gateway.saved_method_from_setup_intent(seti)
        method = payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="stripe", actor=ACTOR, now=now
        )

    assert (method.gateway, method.token, method.brand, method.last4) == (
        "stripe",
        saved.token,
        "visa",
        "4242",
    )
    assert _charge(gateway, method.token).status == ChargeStatus.SUCCEEDED
