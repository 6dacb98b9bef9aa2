"""Outbound webhooks end to end: outbox → dispatcher → signed HTTP to a real receiver
that verifies every request with the official ``standardwebhooks`` library.

Time in retries is driven by passing ``now`` to the services, as the tasks do
with the clock; the signature's timestamp is the real sending time, so the
library's five-minute tolerance holds whatever ``now`` a test uses.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.core import mail
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.outbox import dispatch_pending
from notifications.webhooks import delivery as webhook_delivery
from tenants.context import tenant_context
from tenants.models import Event
from tenants.outbox import emit
from tests.conftest import TenantSetup
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def in_acme(acme: TenantSetup) -> Iterator[TenantSetup]:
    with tenant_context(acme.tenant):
        yield acme


def endpoint_for(
    setup: TenantSetup, receiver: Receiver, events: list[str] | None = None
) -> WebhookEndpoint:
    created = webhooks.webhook_endpoint_create(
        tenant=setup.tenant,
        actor=ACTOR,
        now=T0,
        url=receiver.url,
        enabled_events=events or ["*"],
        description="test receiver",
    )
    receiver.secret = created.secret
    # The endpoint's own "webhook_endpoint.created" event is not what these tests send.
    Event.objects.filter(type__startswith="webhook_endpoint.").update(dispatched_at=T0)
    return created.endpoint


def event(setup: TenantSetup, type: str, subject: str = "in_abc", at: datetime = T0) -> str:
    return emit(
        tenant_id=setup.tenant.pk,
        type=type,
        at=at,
        subject_type=type.split(".")[0],
        subject_id=subject,
        data={type.split(".")[0]: subject, "amount_minor": 4990},
    )


def send_all(setup: TenantSetup, now: datetime) -> webhooks.SendStats:
    total = webhooks.SendStats()
    while True:
        stats = webhooks.deliveries_send(tenant=setup.tenant, now=now)
        if not stats.attempted:
            return total
        total.attempted += stats.attempted
        total.delivered += stats.delivered
        total.failed += stats.failed
        total.disabled_endpoints += stats.disabled_endpoints


def next_due(setup: TenantSetup) -> datetime | None:
    return (
        WebhookDelivery.objects.filter(
            tenant=setup.tenant,
            status__in=["pending", "sending"],
            endpoint__status="enabled",
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def test_every_event_is_delivered_signed_and_verified(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver)
    ids = [
        event(in_acme, "invoice.paid"),
        event(in_acme, "customer.created", "cus_1"),
        event(in_acme, "subscription.renewed", "sub_1"),
    ]

    stats = dispatch_pending(tenant=in_acme.tenant, now=T0)
    sent = send_all(in_acme, T0)

    assert (stats.events, stats.deliveries) == (3, 3)
    assert (sent.attempted, sent.delivered) == (3, 3)
    assert receiver.accepted_ids() == Counter(ids)
    assert all(r.verified for r in receiver.received)
    first = next(r for r in receiver.received if r.id == ids[0])
    assert first.headers["content-type"] == "application/json"
    assert first.headers["webhook-signature"].startswith("v1,")
    assert first.payload == {
        "id": ids[0],
        "type": "invoice.paid",
        "created": "2026-03-02T12:00:00Z",
        "data": {"object": "invoice", "id": "in_abc", "invoice": "in_abc", "amount_minor": 4990},
    }
    assert not Event.objects.filter(tenant=in_acme.tenant, dispatched_at=None).exists()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__public_id=ids[0])
    assert (delivery.status, delivery.attempt_count, delivery.last_response_status) == (
        "delivered",
        1,
        200,
    )
    [attempt] = delivery.attempts.all()
    assert (attempt.outcome, attempt.response_status, attempt.number, attempt.manual) == (
        "succeeded",
        200,
        1,
        False,
    )
    assert json.loads(attempt.response_body) == {"ok": True, "error": ""}
    assert attempt.duration_ms is not None


def test_the_payload_never_carries_database_ids(in_acme: TenantSetup, receiver: Receiver) -> None:
    endpoint_for(in_acme, receiver)
    evt = event(in_acme, "invoice.paid")
    row = Event.objects.get(public_id=evt)

    payload = webhooks.event_payload(row)

    assert payload["id"] == row.public_id
    assert "tenant" not in json.dumps(payload)
    ints = [v for v in payload["data"].values() if isinstance(v, int)]
    assert ints == [4990]  # the event's own amount; no row id anywhere


def test_the_signature_is_really_checked_by_the_library(in_acme: TenantSetup) -> None:
    secret = webhooks.new_secret()
    body = '{"id":"evt_x","type":"invoice.paid"}'
    now = datetime.now(tz=UTC)
    good = {
        "webhook-id": "evt_x",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhooks.sign(
            secrets_=[secret], msg_id="evt_x", timestamp=now, body=body
        ),
    }
    assert Webhook(secret).verify(body, good) == {"id": "evt_x", "type": "invoice.paid"}

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(body.replace("paid", "void"), good)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(webhooks.new_secret()).verify(body, good)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(body, {**good, "webhook-id": "evt_other"})
    old = now - timedelta(minutes=10)
    stale = {
        **good,
        "webhook-timestamp": str(int(old.timestamp())),
        "webhook-signature": webhooks.sign(
            secrets_=[secret], msg_id="evt_x", timestamp=old, body=body
        ),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


def test_a_receiver_with_the_wrong_secret_rejects_every_delivery(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint_for(in_acme, receiver)
    receiver.secret = webhooks.new_secret()  # not the endpoint's
    event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)

    sent = send_all(in_acme, T0)

    assert (sent.attempted, sent.delivered, sent.failed) == (1, 0, 1)
    [got] = receiver.received
    assert (got.verified, got.answered, got.error) == (False, 400, "No matching signature found")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_response_status, delivery.last_error) == (
        "pending",
        400,
        "HTTP 400",
    )
    assert T0 + timedelta(seconds=5) <= delivery.next_attempt_at <= T0 + timedelta(seconds=5.5)


def test_filters_pick_exact_types_prefixes_and_everything(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    invoices = endpoint_for(in_acme, receiver, ["invoice.*"])
    created = endpoint_for(in_acme, receiver, ["customer.created", "payment.succeeded"])
    everything = endpoint_for(in_acme, receiver, ["*"])
    paid = event(in_acme, "invoice.paid")
    customer = event(in_acme, "customer.created", "cus_1")
    updated = event(in_acme, "customer.updated", "cus_1")
    invoice_like = event(in_acme, "invoices_report.ready", "rep_1")

    dispatch_pending(tenant=in_acme.tenant, now=T0)

    pairs = set(WebhookDelivery.objects.values_list("endpoint__public_id", "event__public_id"))
    assert pairs == {
        (invoices.public_id, paid),
        (created.public_id, customer),
        (everything.public_id, paid),
        (everything.public_id, customer),
        (everything.public_id, updated),
        (everything.public_id, invoice_like),
    }


def test_dispatching_twice_plans_each_delivery_once(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint_for(in_acme, receiver)
    event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    Event.objects.filter(type="invoice.paid").update(dispatched_at=None)  # as if never marked

    again = dispatch_pending(tenant=in_acme.tenant, now=T0)

    assert (again.events, again.deliveries) == (1, 0)
    assert WebhookDelivery.objects.count() == 1


def test_a_receiver_down_for_a_day_still_gets_every_event_once(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.*", "subscription.*"])
    ids = [event(in_acme, "invoice.paid", f"in_{i}") for i in range(5)]
    ids += [event(in_acme, "subscription.renewed", f"sub_{i}") for i in range(5)]
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    receiver.stop()  # down: connection refused
    back_up = T0 + timedelta(days=1)

    now, steps = T0, 0
    while (due := next_due(in_acme)) is not None:
        now = max(now, due)
        if now >= back_up and receiver._server is None:
            receiver.start()
        send_all(in_acme, now)
        steps += 1
        assert steps < 200

    assert receiver.accepted_ids() == Counter(ids)  # every event, once each by id
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert {d.status for d in deliveries} == {"delivered"}
    assert all(back_up <= d.delivered_at < back_up + timedelta(hours=11) for d in deliveries)
    first = deliveries.first()
    assert first is not None
    log = list(first.attempts.order_by("number"))
    assert [a.outcome for a in log] == ["failed"] * (len(log) - 1) + ["succeeded"]
    assert all("ConnectError" in a.error for a in log[:-1])
    # The schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h … with up to 10 % jitter.
    gaps = [b.started_at - a.started_at for a, b in itertools.pairwise(log)]
    for gap, planned in zip(gaps, webhooks.RETRY_DELAYS, strict=False):
        assert planned <= gap <= planned * 1.1 + timedelta(seconds=1)
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.consecutive_failures, endpoint.failing_since) == (
        "enabled",
        0,
        None,
    )


def test_sending_again_after_a_completed_send_sends_nothing(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint_for(in_acme, receiver, ["invoice.paid"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    send_all(in_acme, T0)
    delivery = WebhookDelivery.objects.get(event__public_id=evt)

    later = T0 + timedelta(days=5)
    again = webhooks.deliveries_send(tenant=in_acme.tenant, now=later, delivery_ids=[delivery.pk])
    swept = send_all(in_acme, later)

    assert (again.attempted, swept.attempted) == (0, 0)
    assert receiver.accepted_ids() == Counter([evt])
    assert delivery.attempts.count() == 1


def test_a_sender_that_died_mid_request_is_followed_by_a_new_attempt(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint_for(in_acme, receiver, ["invoice.paid"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    # The claim is recorded and committed; then the process dies before the request ends.
    [claim] = webhook_delivery._claim(tenant=in_acme.tenant, now=T0, delivery_ids=None, limit=10)
    delivery = WebhookDelivery.objects.get(pk=claim.delivery_id)
    assert (delivery.status, delivery.attempt_count) == ("sending", 1)

    too_soon = send_all(in_acme, T0 + timedelta(seconds=30))
    after_lease = send_all(in_acme, T0 + webhook_delivery._lease() + timedelta(seconds=1))

    assert (too_soon.attempted, after_lease.delivered) == (0, 1)
    assert receiver.accepted_ids() == Counter([evt])
    outcomes = list(delivery.attempts.order_by("number").values_list("number", "outcome"))
    assert outcomes == [(1, "interrupted"), (2, "succeeded")]


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_merchant_told(
    in_acme: TenantSetup, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    in_acme.tenant.support_email = "help@acme.example"
    in_acme.tenant.save()
    endpoint = endpoint_for(in_acme, receiver, ["invoice.*"])
    receiver.answer = 500
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)

    now, disabled = T0, []
    with django_capture_on_commit_callbacks(execute=True):  # the notice goes after commit
        while (due := next_due(in_acme)) is not None:
            now = max(now, due)
            disabled += send_all(in_acme, now).disabled_endpoints

    delivery = WebhookDelivery.objects.get(event__public_id=evt)
    assert (delivery.status, delivery.attempt_count) == ("failed", len(webhooks.RETRY_DELAYS) + 1)
    assert len(receiver.received) == 11
    assert all(r.verified for r in receiver.received)
    assert timedelta(hours=71) < now - T0 < timedelta(hours=79)
    endpoint.refresh_from_db()
    assert disabled == [endpoint.public_id]
    assert (endpoint.status, endpoint.disabled_reason, endpoint.disabled_at) == (
        "disabled",
        "failing",
        now,
    )
    assert Event.objects.filter(
        type="webhook_endpoint.disabled", subject_id=endpoint.public_id, data__reason="failing"
    ).exists()
    [notice] = mail.outbox
    assert sorted(notice.to) == ["help@acme.example", "owner@acme.example"]
    assert endpoint.url in notice.subject
    assert endpoint.public_id in notice.body

    # While disabled, new events are not planned for it; enabled again, it gets new ones.
    receiver.answer = 200
    event(in_acme, "invoice.voided")
    dispatch_pending(tenant=in_acme.tenant, now=now)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    webhooks.webhook_endpoint_enable(
        tenant=in_acme.tenant, actor=ACTOR, now=now, endpoint_id=endpoint.public_id
    )
    voided = event(in_acme, "invoice.voided")
    dispatch_pending(tenant=in_acme.tenant, now=now)
    send_all(in_acme, now)
    assert receiver.accepted_ids() == Counter([voided])


def test_a_few_failures_do_not_disable_an_endpoint_that_recovers(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.*"])
    receiver.answer = 503
    event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    for _ in range(3):
        send_all(in_acme, next_due(in_acme))  # type: ignore[arg-type]
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (3, T0)

    receiver.answer = 200
    send_all(in_acme, next_due(in_acme))  # type: ignore[arg-type]

    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.consecutive_failures, endpoint.failing_since) == (
        "enabled",
        0,
        None,
    )


def test_replay_of_a_delivery_sends_it_again_with_the_same_webhook_id(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.paid"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    send_all(in_acme, T0)
    delivery = WebhookDelivery.objects.get(event__public_id=evt)

    later = T0 + timedelta(days=10)
    webhooks.webhook_delivery_replay(
        tenant=in_acme.tenant,
        actor=ACTOR,
        now=later,
        endpoint_id=endpoint.public_id,
        delivery_id=delivery.public_id,
    )
    send_all(in_acme, later)

    assert receiver.accepted_ids() == Counter({evt: 2})
    attempts = list(delivery.attempts.order_by("number").values_list("number", "manual", "outcome"))
    assert attempts == [(1, False, "succeeded"), (2, True, "succeeded")]


def test_replay_of_an_event_to_an_endpoint_that_never_had_it(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["customer.*"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()

    delivery = webhooks.webhook_event_replay(
        tenant=in_acme.tenant, actor=ACTOR, now=T0, endpoint_id=endpoint.public_id, event_id=evt
    )
    send_all(in_acme, T0)

    assert receiver.accepted_ids() == Counter([evt])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 1)


def test_replay_refuses_a_disabled_endpoint_and_unknown_ids(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.paid"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    webhooks.webhook_endpoint_disable(
        tenant=in_acme.tenant, actor=ACTOR, now=T0, endpoint_id=endpoint.public_id
    )

    with pytest.raises(StateConflict):
        webhooks.webhook_event_replay(
            tenant=in_acme.tenant, actor=ACTOR, now=T0, endpoint_id=endpoint.public_id, event_id=evt
        )
    with pytest.raises(NotFound):
        webhooks.webhook_event_replay(
            tenant=in_acme.tenant,
            actor=ACTOR,
            now=T0,
            endpoint_id=endpoint.public_id,
            event_id="evt_nope",
        )
    with pytest.raises(NotFound):
        webhooks.webhook_delivery_replay(
            tenant=in_acme.tenant,
            actor=ACTOR,
            now=T0,
            endpoint_id=endpoint.public_id,
            delivery_id="wd_nope",
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.replay_requested) == (
        "pending",
        0,
        False,
    )
    assert send_all(in_acme, T0).attempted == 0  # disabled: nothing goes out
    assert receiver.received == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "insecure_url"),
        ("ftp://hooks.example.com/x", "invalid_url"),
        ("https://127.0.0.1/x", "url_not_public"),
        ("https://localhost:8000/x", "url_not_public"),
        ("https://api.localhost/x", "url_not_public"),
        ("https://10.1.2.3/x", "url_not_public"),
        ("https://192.168.0.10/x", "url_not_public"),
        ("https://172.16.5.4/x", "url_not_public"),
        ("https://169.254.169.254/latest/meta-data", "url_not_public"),
        ("https://[::1]/x", "url_not_public"),
        ("https://[::ffff:10.0.0.1]/x", "url_not_public"),
        ("https://100.64.0.1/x", "url_not_public"),
        ("https://0.0.0.0/x", "url_not_public"),
        ("https:///nohost", "invalid_url"),
        ("https://exa mple.com/", "invalid_url"),
        ("", "invalid_url"),
    ],
)
def test_private_internal_and_insecure_urls_are_refused(
    in_acme: TenantSetup, settings, url: str, code: str
) -> None:
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False

    with pytest.raises(ValidationFailed) as caught:
        webhooks.webhook_endpoint_create(
            tenant=in_acme.tenant, actor=ACTOR, now=T0, url=url, enabled_events=["*"]
        )

    assert (caught.value.code, caught.value.param) == (code, "url")
    assert not WebhookEndpoint.objects.exists()
    assert not Event.objects.filter(type__startswith="webhook_endpoint.").exists()


def test_a_public_https_url_is_accepted(in_acme: TenantSetup, settings) -> None:
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False

    created = webhooks.webhook_endpoint_create(
        tenant=in_acme.tenant,
        actor=ACTOR,
        now=T0,
        url="https://93.184.215.14/hooks",
        enabled_events=["invoice.*"],
    )

    assert created.endpoint.url == "https://93.184.215.14/hooks"
    assert created.secret.startswith("whsec_")


def test_the_sender_refuses_a_name_that_resolves_to_an_internal_address(
    in_acme: TenantSetup, receiver: Receiver, settings
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.paid"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        url=receiver.url.replace("127.0.0.1", "localhost")
    )
    event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False  # production: loopback is internal

    sent = send_all(in_acme, T0)

    assert (sent.attempted, sent.failed) == (1, 1)
    assert receiver.received == []  # no connection was made
    attempt = WebhookAttempt.objects.get()
    assert attempt.error.startswith("Refused: localhost resolves to a private")
    assert attempt.response_status is None


@pytest.mark.parametrize(
    "filters",
    [[], "invoice.*", ["invoice."], ["Invoice.paid"], ["invoice.*.x"], [".*"], [5], ["a" * 65]],
)
def test_bad_event_filters_are_refused(in_acme: TenantSetup, receiver: Receiver, filters) -> None:
    with pytest.raises(ValidationFailed) as caught:
        webhooks.webhook_endpoint_create(
            tenant=in_acme.tenant, actor=ACTOR, now=T0, url=receiver.url, enabled_events=filters
        )

    assert (caught.value.code, caught.value.param) == ("invalid_event_filter", "enabled_events")
    assert not WebhookEndpoint.objects.exists()


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_day(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.paid"])
    old_secret = receiver.secret
    rotated = webhooks.webhook_endpoint_rotate_secret(
        tenant=in_acme.tenant, actor=ACTOR, now=T0, endpoint_id=endpoint.public_id
    )
    assert rotated.secret != old_secret

    first = event(in_acme, "invoice.paid", "in_1")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    send_all(in_acme, T0)  # the receiver still has the old secret
    assert receiver.accepted_ids() == Counter([first])
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 2

    receiver.secret = rotated.secret
    later = T0 + timedelta(hours=25)
    second = event(in_acme, "invoice.paid", "in_2")
    dispatch_pending(tenant=in_acme.tenant, now=later)
    send_all(in_acme, later)
    assert receiver.accepted_ids() == Counter([first, second])
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 1
    last = receiver.received[-1]
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(last.body, last.headers)


def test_the_secret_is_stored_encrypted(in_acme: TenantSetup, receiver: Receiver) -> None:
    endpoint_for(in_acme, receiver)
    raw = WebhookEndpoint.objects.values_list("secrets_encrypted", flat=True).get()
    assert receiver.secret not in raw
    assert receiver.secret[6:] not in raw


def test_replay_waits_for_a_live_claim_and_takes_over_a_lapsed_one(
    in_acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = endpoint_for(in_acme, receiver, ["invoice.paid"])
    evt = event(in_acme, "invoice.paid")
    dispatch_pending(tenant=in_acme.tenant, now=T0)
    [claim] = webhook_delivery._claim(tenant=in_acme.tenant, now=T0, delivery_ids=None, limit=10)
    delivery = WebhookDelivery.objects.get(pk=claim.delivery_id)
    replay = partial(
        webhooks.webhook_delivery_replay,
        tenant=in_acme.tenant,
        actor=ACTOR,
        endpoint_id=endpoint.public_id,
        delivery_id=delivery.public_id,
    )

    with pytest.raises(StateConflict):
        replay(now=T0 + timedelta(seconds=10))
    lapsed = T0 + webhook_delivery._lease() + timedelta(seconds=1)
    replay(now=lapsed)
    send_all(in_acme, lapsed)

    log = list(delivery.attempts.order_by("number").values_list("number", "manual", "outcome"))
    assert log == [(1, False, "interrupted"), (2, True, "succeeded")]
    assert receiver.accepted_ids() == Counter([evt])
