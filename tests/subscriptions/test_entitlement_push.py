"""``customer.entitlements.updated``: pushed once per change of what a customer
may use (activation, plan change, suspension, reactivation, pause, resume,
cancellation), never for a change that changes nothing, and delivered once
each to the merchant's Standard Webhooks receiver."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from billing import subscriptions as billing_subs
from billing.gateways.sandbox import SandboxGateway
from billing.payments import payment_method_attach
from notifications import webhooks
from notifications.outbox import dispatch_pending
from subscriptions.entitlement_push import EVENT
from subscriptions.services import access
from subscriptions.services.lifecycle import subscription_pause
from tenants.models import Event
from tests.support.billing import ACTOR, World, utc, world
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 2, 2, 15)


def _pushed(w: World) -> list[dict[str, Any]]:
    return [e.data for e in Event.objects.filter(tenant=w.tenant, type=EVENT).order_by("at", "id")]


def _customer(w: World):  # type: ignore[no-untyped-def]
    customer = w.customer()
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=w.now
    )
    return customer


def test_each_change_of_access_is_pushed_once_and_delivered_once() -> None:
    with Receiver() as receiver, world(NOW) as w:
        created = webhooks.webhook_endpoint_create(
            tenant=w.tenant, actor=ACTOR, now=NOW, url=receiver.url, enabled_events=[EVENT]
        )
        receiver.secret = created.secret
        basic = w.plan("basic", amount=5_000, entitlements={"seats": 3, "api": False})
        pro = w.plan(
            "pro",
            amount=9_000,
            entitlements={"seats": 10, "api": True},
            max_pauses=1,
            max_pause_cycles=1,
        )
        customer = _customer(w)
        sub = w.subscribe(basic, customer)
        assert [p["features"] for p in _pushed(w)] == [{"seats": 3, "api": False}]

        w.advance(utc(2026, 3, 2, 15))  # a renewal: nothing changes, nothing is pushed
        assert len(_pushed(w)) == 1

        billing_subs.subscription_change(
            tenant=w.tenant, subscription_id=sub.pk, plan=pro, actor=ACTOR, now=w.now
        )
        access.subscription_mark_past_due(tenant=w.tenant, subscription_id=sub.pk, now=w.now)
        # Past due keeps access (the grace period): nothing to push.
        assert len(_pushed(w)) == 2
        access.subscription_suspend(tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now)
        access.subscription_reactivate(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
        )
        subscription_pause(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, cycles=1
        )
        w.advance(utc(2026, 4, 2, 15))  # the pause starts at the period end
        w.advance(utc(2026, 5, 2, 15))  # and ends a period later
        billing_subs.subscription_cancel(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
        )

        pushed = _pushed(w)
        assert [(p["has_access"], p["features"]) for p in pushed] == [
            (True, {"seats": 3, "api": False}),  # activated
            (True, {"seats": 10, "api": True}),  # upgraded
            (False, {}),  # suspended by dunning
            (True, {"seats": 10, "api": True}),  # reactivated
            (False, {}),  # paused
            (True, {"seats": 10, "api": True}),  # resumed
            (False, {}),  # canceled
        ]
        assert {p["customer"] for p in pushed} == {customer.public_id}

        stats = dispatch_pending(tenant=w.tenant, now=w.now)
        ids = list(
            Event.objects.filter(tenant=w.tenant, type=EVENT).values_list("public_id", flat=True)
        )
        deadline = time.monotonic() + 30
        while sum(receiver.accepted_ids().values()) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stats.deliveries == 7
        assert receiver.accepted_ids() == Counter(ids)
        assert all(r.verified for r in receiver.received)


def test_two_subscriptions_merge_and_other_customers_are_not_pushed() -> None:
    with world(NOW) as w:
        one = w.plan("one", amount=1_000, entitlements={"seats": 2, "reports": True})
        two = w.plan("two", amount=2_000, entitlements={"seats": 5})
        ana, bia = _customer(w), _customer(w)
        first = w.subscribe(one, ana)
        w.subscribe(two, ana)
        w.subscribe(one, bia)
        billing_subs.subscription_cancel(
            tenant=w.tenant, subscription_id=first.pk, actor=ACTOR, now=w.now
        )

        by_customer: dict[str, list[dict[str, Any]]] = {}
        for data in _pushed(w):
            by_customer.setdefault(data["customer"], []).append(data["features"])
        assert by_customer == {
            ana.public_id: [
                {"seats": 2, "reports": True},
                {"seats": 5, "reports": True},  # the highest limit wins, flags add up
                {"seats": 5},  # the first subscription ended
            ],
            bia.public_id: [{"seats": 2, "reports": True}],
        }


def test_the_subscription_api_says_whether_it_gives_access() -> None:
    from rest_framework.test import APIClient

    from tenants.services import api_key_create

    with world(NOW) as w:
        key = api_key_create(tenant=w.tenant, name="k", actor=ACTOR, now=NOW)
        sub = w.subscribe(w.plan(amount=5_000), _customer(w))
        access.subscription_suspend(tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
        body = api.get(f"/api/v1/subscriptions/{sub.public_id}").json()
        assert (body["status"], body["has_access"]) == ("past_due", False)
        assert body["access_suspended_at"].startswith("2026-02-02T15:00:00")
