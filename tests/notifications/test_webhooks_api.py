"""The webhook_endpoints API: CRUD, deliveries, replay; bad input changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from core import clock
from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.outbox import dispatch_pending
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.outbox import emit
from tests.conftest import TenantSetup
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
BASE = "/api/v1/webhook_endpoints"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def create(setup: TenantSetup, receiver: Receiver, **body: object) -> dict:
    response = setup.client().post(
        BASE,
        {"url": receiver.url, "enabled_events": ["invoice.*"], **body},
        format="json",
    )
    assert response.status_code == 201, response.json()
    receiver.secret = response.json()["secret"]
    return response.json()


def state(setup: TenantSetup) -> list[tuple]:
    with tenant_context(setup.tenant):
        return list(
            WebhookEndpoint.objects.order_by("pk").values_list(
                "public_id", "url", "description", "enabled_events", "status", "secrets_encrypted"
            )
        )


def test_create_returns_the_secret_once(acme: TenantSetup, receiver: Receiver) -> None:
    body = create(acme, receiver, description="orders")

    assert body["id"].startswith("we_")
    assert body["object"] == "webhook_endpoint"
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["enabled_events"], body["status"], body["description"]) == (
        receiver.url,
        ["invoice.*"],
        "enabled",
        "orders",
    )
    assert body["disabled_reason"] is None
    fetched = acme.client().get(f"{BASE}/{body['id']}").json()
    listed = acme.client().get(BASE).json()
    assert "secret" not in fetched
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]
    with tenant_context(acme.tenant):
        assert AuditEntry.objects.filter(action="webhook_endpoint.created").count() == 1


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"enabled_events": ["*"]}, "url", "required"),
        ({"url": "https://example.com/h"}, "enabled_events", "required"),
        ({"url": 5, "enabled_events": ["*"]}, "url", "invalid_type"),
        ({"url": {"a": 1}, "enabled_events": ["*"]}, "url", "invalid_type"),
        ({"url": "https://example.com/h", "enabled_events": "*"}, "enabled_events", "invalid_type"),
        ({"url": "https://example.com/h", "enabled_events": []}, "enabled_events", "min_length"),
        ({"url": "https://example.com/h", "enabled_events": ["Bad Type"]}, "enabled_events", None),
        ({"url": "http://example.com/h", "enabled_events": ["*"]}, "url", "insecure_url"),
        ({"url": "https://10.0.0.8/h", "enabled_events": ["*"]}, "url", "url_not_public"),
        ({"url": "https://169.254.169.254/", "enabled_events": ["*"]}, "url", "url_not_public"),
        (
            {"url": "https://example.com/h", "enabled_events": ["*"], "secret": "whsec_x"},
            "secret",
            "unknown_parameter",
        ),
        (
            {"url": "https://example.com/h", "enabled_events": ["*"], "description": "x" * 501},
            "description",
            "max_length",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(
    acme: TenantSetup, settings, body: dict, param: str, code: str | None
) -> None:
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False

    response = acme.client().post(BASE, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    if code:
        assert error["code"] == code
    assert state(acme) == []


def test_update_disable_and_enable(acme: TenantSetup, receiver: Receiver) -> None:
    endpoint = create(acme, receiver)
    url = f"{BASE}/{endpoint['id']}"

    updated = acme.client().patch(
        url, {"enabled_events": ["customer.created"], "description": "crm"}, format="json"
    )
    disabled = acme.client().patch(url, {"status": "disabled"}, format="json")
    enabled = acme.client().patch(url, {"status": "enabled"}, format="json")

    assert updated.status_code == 200
    assert (updated.json()["enabled_events"], updated.json()["description"]) == (
        ["customer.created"],
        "crm",
    )
    assert (disabled.json()["status"], disabled.json()["disabled_reason"]) == (
        "disabled",
        "manual",
    )
    assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("enabled", None)


def test_a_bad_update_changes_nothing_not_even_the_status(
    acme: TenantSetup, receiver: Receiver
) -> None:
    endpoint = create(acme, receiver)
    before = state(acme)

    response = acme.client().patch(
        f"{BASE}/{endpoint['id']}",
        {"status": "disabled", "url": "https://192.168.1.1/"},
        format="json",
    )
    wrong_status = acme.client().patch(
        f"{BASE}/{endpoint['id']}", {"status": "paused"}, format="json"
    )

    assert (response.status_code, response.json()["error"]["param"]) == (400, "url")
    assert (wrong_status.status_code, wrong_status.json()["error"]["param"]) == (400, "status")
    assert state(acme) == before


def test_rotate_secret_returns_a_new_one(acme: TenantSetup, receiver: Receiver) -> None:
    endpoint = create(acme, receiver)

    rotated = acme.client().post(f"{BASE}/{endpoint['id']}/rotate_secret")

    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != endpoint["secret"]


def test_delete(acme: TenantSetup, receiver: Receiver) -> None:
    endpoint = create(acme, receiver)

    deleted = acme.client().delete(f"{BASE}/{endpoint['id']}")
    again = acme.client().get(f"{BASE}/{endpoint['id']}")

    assert deleted.json() == {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
    assert again.status_code == 404
    assert state(acme) == []


def test_deliveries_and_replay(acme: TenantSetup, receiver: Receiver) -> None:
    endpoint = create(acme, receiver)
    with tenant_context(acme.tenant):
        evt = emit(
            tenant_id=acme.tenant.pk,
            type="invoice.paid",
            at=clock.now(),
            subject_type="invoice",
            subject_id="in_1",
        )
        dispatch_pending(tenant=acme.tenant, now=clock.now())
        webhooks.deliveries_send(tenant=acme.tenant, now=clock.now())

    listed = acme.client().get(f"{BASE}/{endpoint['id']}/deliveries").json()
    [delivery] = listed["data"]
    assert (delivery["event"], delivery["event_type"], delivery["status"]) == (
        evt,
        "invoice.paid",
        "delivered",
    )
    assert delivery["webhook_endpoint"] == endpoint["id"]
    assert [(a["number"], a["outcome"], a["response_status"]) for a in delivery["attempts"]] == [
        (1, "succeeded", 200)
    ]
    failed_only = acme.client().get(f"{BASE}/{endpoint['id']}/deliveries?status=failed").json()
    assert failed_only["data"] == []

    replay = acme.client().post(
        f"{BASE}/{endpoint['id']}/replay", {"delivery": delivery["id"]}, format="json"
    )
    assert replay.status_code == 200
    assert (replay.json()["status"], replay.json()["next_attempt_at"] is not None) == (
        "pending",
        True,
    )
    with tenant_context(acme.tenant):
        webhooks.deliveries_send(tenant=acme.tenant, now=clock.now())
    assert receiver.accepted_ids() == Counter({evt: 2})
    last = receiver.received[-1]
    assert Webhook(receiver.secret).verify(last.body, last.headers)["id"] == evt


def test_replay_input_is_checked(acme: TenantSetup, receiver: Receiver) -> None:
    endpoint = create(acme, receiver)
    url = f"{BASE}/{endpoint['id']}/replay"

    neither = acme.client().post(url, {}, format="json")
    both = acme.client().post(url, {"delivery": "wd_a", "event": "evt_b"}, format="json")
    unknown = acme.client().post(url, {"event": "evt_nope"}, format="json")
    wrong_type = acme.client().post(url, {"event": ["evt_x"]}, format="json")

    assert [r.status_code for r in (neither, both, unknown, wrong_type)] == [400, 400, 404, 400]
    assert unknown.json()["error"]["param"] == "event"
    with tenant_context(acme.tenant):
        assert not WebhookDelivery.objects.exists()


def test_another_tenants_endpoints_and_events_are_404_and_untouched(
    acme: TenantSetup, globex: TenantSetup, receiver: Receiver
) -> None:
    endpoint = create(acme, receiver)
    with tenant_context(acme.tenant):
        evt = emit(tenant_id=acme.tenant.pk, type="invoice.paid", at=clock.now())
        dispatch_pending(tenant=acme.tenant, now=clock.now())
        delivery = WebhookDelivery.objects.get(event__public_id=evt).public_id
    before = state(acme)
    other = globex.client()
    url = f"{BASE}/{endpoint['id']}"

    responses = [
        other.get(url),
        other.patch(url, {"description": "mine"}, format="json"),
        other.delete(url),
        other.post(f"{url}/rotate_secret"),
        other.get(f"{url}/deliveries"),
        other.post(f"{url}/replay", {"delivery": delivery}, format="json"),
        other.get(f"/api/v1/events/{evt}"),
    ]
    own = create(globex, receiver)
    cross = other.post(f"{BASE}/{own['id']}/replay", {"event": evt}, format="json")

    assert [r.status_code for r in responses] == [404] * 7
    assert all(r.json()["error"]["code"] == "resource_missing" for r in responses)
    assert (cross.status_code, cross.json()["error"]["param"]) == (404, "event")
    assert [e["id"] for e in other.get(BASE).json()["data"]] == [own["id"]]
    assert state(acme) == before
    with tenant_context(acme.tenant):
        assert WebhookDelivery.objects.get(public_id=delivery).attempt_count == 0


def test_a_read_only_key_cannot_create(acme: TenantSetup, receiver: Receiver) -> None:
    from core.actors import Actor
    from tenants.services import api_key_create

    with tenant_context(acme.tenant):
        key = api_key_create(
            tenant=acme.tenant,
            name="ro",
            actor=Actor.system("tests"),
            now=clock.now(),
            read_only=True,
        )
    client = acme.client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")

    response = client.post(BASE, {"url": receiver.url, "enabled_events": ["*"]}, format="json")

    assert response.status_code == 403
    assert state(acme) == []
