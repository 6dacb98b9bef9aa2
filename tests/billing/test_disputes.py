"""Chargebacks reported by signed webhooks (the sandbox's, and Stripe's through
the official SDK's signature against the local fake): recorded once, closed
once, and a lost one takes back its share of the seller's commission."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import stripe
from django.test import Client

from billing import commissions
from billing.gateways.base import SavedMethod
from billing.gateways.sandbox import SandboxGateway
from billing.models import Commission, Dispute, PaymentAttempt
from billing.payments import gateway_account_set, payment_method_attach, payment_refund
from billing.sellers import seller_create
from tenants.models import Event
from tests.support.billing import ACTOR, World, utc, world
from tests.support.fake_stripe import FakeStripe, running

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 1, 10, 15)


def _sandbox_paid(w: World, amount: int = 10_000) -> PaymentAttempt:
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=w.now
    )
    sub = w.subscribe(w.plan(amount=amount), customer)
    return PaymentAttempt.objects.get(invoice__subscription=sub)


def _with_seller(w: World, attempt: PaymentAttempt, percent: str = "10"):  # type: ignore[no-untyped-def]
    seller = seller_create(tenant=w.tenant, name="Bia", actor=ACTOR, now=w.now)
    commissions.seller_commission_set(
        tenant=w.tenant,
        seller_id=seller.pk,
        rule=commissions.commission_rule_clean(kind="recurring", percent=percent, months=12),
        actor=ACTOR,
        now=w.now,
    )
    commissions.sale_attribute(
        tenant=w.tenant,
        subscription_id=attempt.invoice.subscription_id,
        seller_id=seller.pk,
        actor=ACTOR,
        now=w.now,
    )
    return seller


def _sandbox_webhook(type: str, data: dict[str, Any]) -> Any:
    body, headers = SandboxGateway.signed_event(type, data)
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post("/webhooks/sandbox/", body, content_type="application/json", **http)


def _dispute(attempt: PaymentAttempt, status: str, amount: int, ref: str = "dp_sbx_1") -> dict:
    return {
        "dispute": ref,
        "payment_ref": attempt.gateway_ref,
        "amount": amount,
        "currency": "brl",
        "status": status,
        "reason": "fraudulent",
    }


def _ledger(seller) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    rows = Commission.objects.filter(seller=seller).order_by("occurred_at", "pk")
    return [(c.kind, c.base_minor, c.amount_minor) for c in rows]


def test_a_quarter_with_a_refund_and_a_lost_chargeback_to_the_centavo() -> None:
    with world(NOW) as w:
        january = _sandbox_paid(w, amount=12_345)
        seller = _with_seller(w, january, percent="7.5")
        w.advance(utc(2026, 2, 10, 15))
        w.advance(utc(2026, 3, 10, 15))
        february, march = (
            PaymentAttempt.objects.filter(invoice__subscription=january.invoice.subscription)
            .exclude(pk=january.pk)
            .order_by("created_at")
        )
        # February's payment: a partial refund of R$ 40,00.
        payment_refund(
            tenant=w.tenant,
            attempt_id=february.pk,
            amount_minor=4_000,
            reason="Goodwill",
            actor=ACTOR,
            now=w.now,
        )
        # March's payment: a chargeback, opened then lost, for the whole payment.
        opened = _sandbox_webhook("dispute.opened", _dispute(march, "needs_response", 12_345))
        lost = _sandbox_webhook("dispute.closed", _dispute(march, "lost", 12_345))
        replay = _sandbox_webhook("dispute.closed", _dispute(march, "lost", 12_345))

        assert (opened.status_code, lost.status_code, replay.status_code) == (200, 200, 200)
        dispute = Dispute.objects.get()
        assert (dispute.status, dispute.amount_minor, dispute.reason) == (
            "lost",
            12_345,
            "fraudulent",
        )
        # Each month earns 7,5 % × 12 345 = 925,875 → 926.
        # February: round(926 × 4 000 / 12 345) = round(300,04) = 300 reversed.
        # March: the whole payment went back: 926 reversed.
        # (The refund and the chargeback both happen on 10/03, after March's payment.)
        assert _ledger(seller) == [
            ("earned", 12_345, 926),
            ("earned", 12_345, 926),
            ("earned", 12_345, 926),
            ("reversed", -4_000, -300),
            ("reversed", -12_345, -926),
        ]
        quarter = commissions.commission_statement(
            tenant=w.tenant, seller_id=seller.pk, start=date(2026, 1, 1), end=date(2026, 3, 31)
        )
        totals = quarter.totals["BRL"]
        assert (totals.earned_minor, totals.reversed_minor, totals.net_minor) == (
            2_778,
            -1_226,
            1_552,
        )
        events = list(Event.objects.filter(type__startswith="payment.dispute").values_list("type"))
        assert events == [("payment.dispute_opened",), ("payment.dispute_closed",)]


def test_an_open_or_won_chargeback_reverses_nothing_and_a_closed_one_never_reopens() -> None:
    with world(NOW) as w:
        attempt = _sandbox_paid(w)
        seller = _with_seller(w, attempt)
        _sandbox_webhook("dispute.opened", _dispute(attempt, "needs_response", 10_000))
        assert _ledger(seller) == [("earned", 10_000, 1_000)]
        _sandbox_webhook("dispute.closed", _dispute(attempt, "won", 10_000))
        late = _sandbox_webhook("dispute.updated", _dispute(attempt, "under_review", 10_000))
        lost_after_won = _sandbox_webhook("dispute.closed", _dispute(attempt, "lost", 10_000))

        assert late.status_code == 200
        assert lost_after_won.status_code == 200
        assert Dispute.objects.get().status == "won"
        assert _ledger(seller) == [("earned", 10_000, 1_000)]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        pytest.param({"amount": -5}, 400, id="negative-amount"),
        pytest.param({"amount": "100"}, 400, id="amount-as-text"),
        pytest.param({"amount": True}, 400, id="amount-bool"),
        pytest.param({"status": "maybe"}, 400, id="unknown-status"),
        pytest.param({"dispute": ""}, 400, id="no-dispute-id"),
        pytest.param({"payment_ref": "ch_nobody"}, 200, id="unknown-payment"),
    ],
)
def test_bad_dispute_reports_change_nothing(change, status) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        attempt = _sandbox_paid(w)
        seller = _with_seller(w, attempt)
        response = _sandbox_webhook(
            "dispute.closed", {**_dispute(attempt, "lost", 10_000), **change}
        )

        assert response.status_code == status, response.content
        assert not Dispute.objects.exists()
        assert _ledger(seller) == [("earned", 10_000, 1_000)]


# --- Stripe ---------------------------------------------------------------------------------

CREDENTIALS = {"api_key": "sk_test_51TenantOwnKey0002", "webhook_secret": "whsec_tenant_0002"}


@pytest.fixture
def fake(settings) -> Iterator[FakeStripe]:  # type: ignore[no-untyped-def]
    with running() as server:
        settings.STRIPE_API_BASE = server.api_base
        yield server


def _stripe_post(slug: str, event: dict[str, Any]) -> Any:
    body = json.dumps(event)
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(
        f"{timestamp}.{body}", CREDENTIALS["webhook_secret"]
    )
    return Client().post(
        f"/webhooks/stripe/{slug}/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
    )


def test_stripes_dispute_events_record_and_close_a_chargeback(fake: FakeStripe) -> None:
    with world(NOW) as w:
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
            saved=SavedMethod(token="pm_card_visa", kind="card", brand="visa", last4="4242"),
        )
        sub = w.subscribe(w.plan(amount=4_990), customer)
        attempt = PaymentAttempt.objects.select_related("invoice").get(invoice__subscription=sub)
        seller = _with_seller(w, attempt, percent="20")
        dispute = {
            "id": "dp_1Stripe",
            "object": "dispute",
            "amount": 4_990,
            "currency": "brl",
            "charge": "ch_1Stripe",
            "payment_intent": attempt.gateway_ref,
            "reason": "product_not_received",
            "status": "needs_response",
        }

        created = _stripe_post(w.tenant.slug, FakeStripe.event("charge.dispute.created", dispute))
        wrong_tenant = _stripe_post("nobody", FakeStripe.event("charge.dispute.created", dispute))
        closed = _stripe_post(
            w.tenant.slug, FakeStripe.event("charge.dispute.closed", {**dispute, "status": "lost"})
        )

        assert attempt.gateway_ref.startswith("pi_")
        assert (created.status_code, wrong_tenant.status_code, closed.status_code) == (
            200,
            404,
            200,
        )
        found = Dispute.objects.get()
        assert (found.gateway, found.gateway_ref, found.status) == ("stripe", "dp_1Stripe", "lost")
        assert (found.amount_minor, found.reason) == (4_990, "product_not_received")
        # 20 % × 4 990 = 998, all of it reversed by the lost chargeback.
        assert _ledger(seller) == [("earned", 4_990, 998), ("reversed", -4_990, -998)]


def test_the_invoice_page_shows_the_chargeback() -> None:
    with world(NOW) as w:
        attempt = _sandbox_paid(w, amount=12_345)
        _sandbox_webhook("dispute.opened", _dispute(attempt, "needs_response", 12_345))
        client = Client(HTTP_ACCEPT_LANGUAGE="pt-br")
        login = {"login": "owner@acme.example", "password": "s3cret-Pass!"}
        assert client.post("/accounts/login/", login).status_code == 302
        client.cookies["django_language"] = "pt-br"
        page = client.get(f"/dashboard/invoices/{attempt.invoice.public_id}/").content.decode()
        assert 'data-testid="dispute"' in page
        assert "R$\xa0123,45" in page
