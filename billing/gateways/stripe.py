"""The Stripe gateway, through the official ``stripe`` SDK.

Cards are collected by Stripe Elements against a SetupIntent (the number never
reaches Ciclo); we keep the resulting ``cus_…:pm_…`` pair as the token and
charge it off-session with a confirmed PaymentIntent.

Idempotency (DESIGN.md invariant 5): our key is sent as Stripe's
``Idempotency-Key`` *and* stored in the PaymentIntent's metadata, because
Stripe cannot look a request up by its idempotency key. ``fetch_charge`` finds
the intent through the Search API. Search is eventually consistent (normally
under a minute), so a ``None`` right after a lost answer is possible; the caller
then charges again under the same key, which Stripe answers by replaying the
first result (keys live for 24 hours) — never by charging twice.

Every instance owns its ``StripeClient``: nothing goes through the SDK's
module-level globals (``stripe.api_key``/``stripe.api_base``), so two tenants'
gateways can never share a key.

Every request to an account waits for its turn in that account's token bucket
(``throttle.py``, shared by all workers), so a billing run stays under Stripe's
rate limit; a 429 or a lost answer is ``GatewayRateLimited`` or
``GatewayTimeout``, which the charge protocol retries under the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import stripe
from django.core.exceptions import ImproperlyConfigured

from billing.gateways.base import (
    ChargeResult,
    ChargeStatus,
    GatewayRateLimited,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidWebhook,
    RefundResult,
    SavedMethod,
    WebhookEvent,
)
from billing.gateways.throttle import TokenBucket
from core import safejson
from core.errors import ValidationFailed

METADATA_KEY = "ciclo_idempotency_key"
SIGNATURE_HEADER = "Stripe-Signature"
WEBHOOK_TYPES = {
    "payment_intent.succeeded": "charge.succeeded",
    "payment_intent.payment_failed": "charge.failed",
    "charge.dispute.created": "dispute.opened",
    "charge.dispute.updated": "dispute.updated",
    "charge.dispute.closed": "dispute.closed",
}
# Transient: ask again later under the same idempotency key.
_TRANSIENT = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


class StripeNotConfigured(ImproperlyConfigured, LookupError):
    """No Stripe keys on this install: to ``get_gateway`` callers, an unknown gateway."""


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        *,
        timeout: float = 30.0,
        bucket: TokenBucket | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("A Stripe secret key is required.")
        self._webhook_secret = webhook_secret
        self.bucket = bucket or account_bucket(api_key)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            # Retrying is the charge protocol's job (backoff, then reconciliation,
            # under the same key); the SDK must not hide a failure behind its own.
            max_network_retries=0,
            http_client=_PacedClient(self.bucket, timeout=timeout),
        )

    @classmethod
    def from_settings(cls) -> StripeGateway:
        from django.conf import settings

        api_key = getattr(settings, "STRIPE_API_KEY", "")
        secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
        if not api_key or not secret:
            raise StripeNotConfigured("STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET must be set.")
        return cls(
            api_key,
            secret,
            getattr(settings, "STRIPE_API_BASE", None) or None,
            timeout=settings.STRIPE_TIMEOUT,
        )

    # -- setting up a payment method --------------------------------------------

    def ensure_customer(self, *, email: str, name: str, ciclo_customer_id: str) -> str:
        """The Stripe customer mirroring ours (created once per Ciclo customer:
        within Stripe's 24-hour key window, asking again returns the same one)."""
        with _errors():
            customer = self._client.v1.customers.create(
                {
                    "email": email,
                    "name": name,
                    "metadata": {"ciclo_customer_id": ciclo_customer_id},
                },
                {"idempotency_key": f"customer:{ciclo_customer_id}"},
            )
        return str(customer.id)

    def create_setup_intent(self, customer_ref: str) -> str:
        """A SetupIntent for saving a card off-session; its client secret goes to
        Stripe Elements in the browser, which collects and confirms the card."""
        with _errors():
            intent = self._client.v1.setup_intents.create(
                {
                    "customer": customer_ref,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                }
            )
        return str(intent.client_secret)

    def saved_method_from_setup_intent(self, setup_intent_id: str) -> SavedMethod:
        with _errors():
            intent = self._client.v1.setup_intents.retrieve(
                setup_intent_id, {"expand": ["payment_method"]}
            ).to_dict()
            if intent.get("status") != "succeeded":
                raise ValidationFailed(
                    "The card has not been confirmed yet.",
                    param="setup_intent",
                    code="setup_incomplete",
                )
            method = intent.get("payment_method")
            if isinstance(method, str):  # not expanded: ask for it
                method = self._client.v1.payment_methods.retrieve(method).to_dict()
        if not method:
            raise ValidationFailed("The setup has no payment method.", param="setup_intent")
        customer = intent.get("customer") or method.get("customer")
        if isinstance(customer, dict):
            customer = customer.get("id")
        card = method.get("card") or {}
        return SavedMethod(
            token=f"{customer}:{method['id']}" if customer else str(method["id"]),
            kind=str(method.get("type") or "card"),
            brand=str(card.get("brand") or ""),
            last4=str(card.get("last4") or ""),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )

    # -- the interface ------------------------------------------------------------

    def charge(
        self,
        *,
        token: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str = "",
        now: datetime | None = None,  # Stripe keeps its own time
    ) -> ChargeResult:
        customer, method = _split_token(token)
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "payment_method": method,
            "payment_method_types": ["card"],
            "confirm": True,
            "off_session": True,
            "metadata": {METADATA_KEY: idempotency_key},
        }
        if customer:
            params["customer"] = customer
        if description:
            params["description"] = description
        try:
            with _errors():
                intent = self._client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key}
                )
        except stripe.CardError as exc:
            # A decline (or "authentication required", off-session) is a 402
            # whose error object carries the PaymentIntent as it now stands.
            return _declined(exc)
        except stripe.InvalidRequestError as exc:
            # Not transient: e.g. the payment method was detached or never existed.
            err = exc.error.to_dict() if exc.error is not None else {}
            return ChargeResult(
                status=ChargeStatus.FAILED,
                failure_code=str(err.get("code") or "invalid_request"),
                failure_message=str(err.get("message") or exc.user_message or ""),
            )
        return _result(intent.to_dict())

    def fetch_charge(self, *, idempotency_key: str, gateway_ref: str = "") -> ChargeResult | None:
        """The charge made under our key, or None if Stripe has none (yet: search
        lags writes a little). With ``gateway_ref`` the intent is read directly,
        which is strongly consistent."""
        with _errors():
            if gateway_ref:
                try:
                    intent = self._client.v1.payment_intents.retrieve(gateway_ref).to_dict()
                except stripe.InvalidRequestError:
                    intent = None
                if intent and (intent.get("metadata") or {}).get(METADATA_KEY) == idempotency_key:
                    return _result(intent)
            found = self._client.v1.payment_intents.search(
                {"query": f"metadata['{METADATA_KEY}']:'{_quote(idempotency_key)}'", "limit": 10}
            )
            intents = [i.to_dict() for i in found.data]
        if not intents:
            return None
        # One intent per key; should there ever be more, the most advanced wins.
        rank = {"succeeded": 0, "processing": 1, "requires_action": 2}
        intents.sort(key=lambda i: (rank.get(i.get("status", ""), 3), -int(i.get("created") or 0)))
        return _result(intents[0])

    def refund(self, *, gateway_ref: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        try:
            with _errors():
                refund = self._client.v1.refunds.create(
                    {"payment_intent": gateway_ref, "amount": amount_minor},
                    {"idempotency_key": idempotency_key},
                ).to_dict()
        except stripe.InvalidRequestError as exc:  # e.g. amount_too_large, already refunded
            return RefundResult(False, failure_message=str(exc.user_message or exc))
        if refund.get("status") in ("failed", "canceled"):
            return RefundResult(
                False,
                gateway_ref=str(refund.get("id", "")),
                failure_message=str(refund.get("failure_reason") or "The refund failed."),
            )
        return RefundResult(True, gateway_ref=str(refund.get("id", "")))

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        signature = next(
            (v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        if safejson.exceeds_depth(body):  # the SDK's json.loads would recurse
            raise InvalidWebhook("Malformed webhook body.")
        try:
            event = self._client.construct_event(body, signature, self._webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook(f"Bad Stripe signature: {exc.user_message}") from None
        except ValueError:  # not JSON, not UTF-8, or not an event
            raise InvalidWebhook("Malformed webhook body.") from None
        payload = event.to_dict()
        kind = str(payload.get("type", ""))
        if kind not in WEBHOOK_TYPES:
            # Namespaced so that Stripe's own "charge.*" events are never taken
            # for ours (they are ignored by the processing step).
            return WebhookEvent(id=str(payload.get("id", "")), type=f"stripe.{kind}")
        obj = (payload.get("data") or {}).get("object") or {}
        if kind.startswith("charge.dispute."):
            # A Dispute object names the PaymentIntent, which is our attempt's ref.
            return WebhookEvent(
                id=str(payload.get("id", "")),
                type=WEBHOOK_TYPES[kind],
                data={
                    "dispute": str(obj.get("id", "")),
                    "payment_ref": str(obj.get("payment_intent") or ""),
                    "amount": obj.get("amount"),
                    "currency": str(obj.get("currency", "")),
                    "status": str(obj.get("status", "")),
                    "reason": str(obj.get("reason", "")),
                },
            )
        return WebhookEvent(
            id=str(payload.get("id", "")),
            type=WEBHOOK_TYPES[kind],
            data={
                "idempotency_key": str((obj.get("metadata") or {}).get(METADATA_KEY, "")),
                "charge": str(obj.get("id", "")),
            },
        )


# -- pacing -----------------------------------------------------------------------


def account_bucket(api_key: str) -> TokenBucket:
    """The account's bucket, named by a digest of its key (the key itself never
    leaves this process), at the rate its mode allows."""
    from django.conf import settings

    live = "_live_" in api_key
    rate = settings.STRIPE_RATE_LIMIT_LIVE if live else settings.STRIPE_RATE_LIMIT_TEST
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:24]
    return TokenBucket(
        f"stripe:{digest}",
        rate=rate,
        # A quarter second's worth at once: in any one second we send at most
        # 1.25 × rate: at most Stripe's own limit with the default rates.
        burst=max(1, int(rate // 4)),
        max_wait=settings.GATEWAY_THROTTLE_MAX_WAIT,
    )


class _PacedClient(stripe.RequestsClient):
    """The SDK's HTTP client, taking a turn in the account's bucket before each
    request (searches and reads count against Stripe's limit too)."""

    def __init__(self, bucket: TokenBucket, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bucket = bucket

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        self._bucket.take()
        return super().request(method, url, headers, post_data)

    def request_stream(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        self._bucket.take()
        return super().request_stream(method, url, headers, post_data)


# -- helpers ----------------------------------------------------------------------


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except stripe.RateLimitError as exc:
        raise GatewayRateLimited(f"Stripe is rate limiting: {exc.user_message or exc}") from exc
    except stripe.APIConnectionError as exc:
        raise GatewayTimeout(f"Stripe did not answer: {exc.user_message or exc}") from exc
    except _TRANSIENT as exc:
        raise GatewayUnavailable(f"Stripe did not answer: {exc.user_message or exc}") from exc
    except stripe.IdempotencyError as exc:
        raise ValidationFailed(
            "Idempotency key reused with other parameters.", code="idempotency_mismatch"
        ) from exc


def _split_token(token: str) -> tuple[str, str]:
    """``cus_…:pm_…`` (a method saved on a customer) or a bare ``pm_…``."""
    customer, sep, method = token.partition(":")
    if sep and customer.startswith("cus_") and method:
        return customer, method
    if sep or not token:
        raise ValidationFailed("Not a Stripe payment method token.", param="token")
    return "", token


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _declined(exc: stripe.CardError) -> ChargeResult:
    err = exc.error.to_dict() if exc.error is not None else {}
    code = str(err.get("decline_code") or err.get("code") or "")
    message = str(err.get("message") or exc.user_message or "")
    intent = err.get("payment_intent")
    if isinstance(intent, dict):
        result = _result(intent)
        if result.status not in (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION):
            return result
        return ChargeResult(
            status=result.status,
            gateway_ref=result.gateway_ref,
            failure_code=code or result.failure_code,
            failure_message=message or result.failure_message,
            action_url=result.action_url,
        )
    return ChargeResult(
        status=ChargeStatus.REQUIRES_ACTION
        if err.get("code") == "authentication_required"
        else ChargeStatus.FAILED,
        failure_code=code or "card_declined",
        failure_message=message,
    )


def _result(intent: Mapping[str, Any]) -> ChargeResult:
    status = intent.get("status")
    ref = str(intent.get("id", ""))
    error = intent.get("last_payment_error") or {}
    code = str(error.get("decline_code") or error.get("code") or "")
    message = str(error.get("message") or "")
    if status == "succeeded":
        return ChargeResult(ChargeStatus.SUCCEEDED, gateway_ref=ref)
    if status == "requires_action":
        next_action = intent.get("next_action") or {}
        url = (next_action.get("redirect_to_url") or {}).get("url") or ""
        return ChargeResult(ChargeStatus.REQUIRES_ACTION, gateway_ref=ref, action_url=str(url))
    if status == "requires_payment_method" and error:
        # Off-session, a card that needs 3-D Secure is declined with
        # authentication_required: the customer must come back and confirm.
        needs_customer = error.get("code") == "authentication_required"
        return ChargeResult(
            ChargeStatus.REQUIRES_ACTION if needs_customer else ChargeStatus.FAILED,
            gateway_ref=ref,
            failure_code=code or "card_declined",
            failure_message=message,
        )
    if status == "canceled":
        return ChargeResult(
            ChargeStatus.FAILED,
            gateway_ref=ref,
            failure_code=str(intent.get("cancellation_reason") or "canceled"),
            failure_message="The payment was canceled.",
        )
    # processing, requires_confirmation, requires_capture, or not yet attempted.
    return ChargeResult(ChargeStatus.PENDING, gateway_ref=ref)
