"""Idempotency-Key on every POST: replay, conflicts, in-flight requests, expiry, purge."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from core import clock
from customers.models import Customer, PaymentMethod
from subscriptions.models import Product
from tenants.context import platform_access, tenant_context
from tenants.idempotency import idempotency_keys_purge
from tenants.models import AuditEntry, Event, IdempotencyKey
from tests.api.helpers import client_for, counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _post(setup: TenantSetup, path: str, body: dict, key: str, client=None):  # type: ignore[no-untyped-def]
    return (client or setup.client()).post(path, body, HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replays_the_first_response_without_acting_again(
    acme: TenantSetup,
) -> None:
    first = _post(acme, "/api/v1/customers", {"name": "Ana", "email": "a@example.com"}, "k-1")
    # Same body, other key order and spacing: the same request.
    second = acme.client().generic(
        "POST",
        "/api/v1/customers",
        '{"email": "a@example.com",   "name": "Ana"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert counts(acme, Customer, Event) == {"Customer": 1, "Event": 1}
    with tenant_context(acme.tenant):
        assert AuditEntry.objects.filter(action="customer.created").count() == 1


def test_a_stored_error_is_replayed_too(acme: TenantSetup) -> None:
    first = _post(acme, "/api/v1/customers", {"email": "a@example.com"}, "k-err")
    second = _post(acme, "/api/v1/customers", {"email": "a@example.com"}, "k-err")

    assert first.status_code == second.status_code == 400
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_or_path_is_a_conflict(acme: TenantSetup) -> None:
    _post(acme, "/api/v1/customers", {"name": "Ana"}, "k-2")

    other_body = _post(acme, "/api/v1/customers", {"name": "Bob"}, "k-2")
    other_path = _post(acme, "/api/v1/products", {"name": "Ana"}, "k-2")

    for response in (other_body, other_path):
        assert response.status_code == 409
        assert error(response)["code"] == "idempotency_key_reused"
    assert counts(acme, Customer, Product) == {"Customer": 1, "Product": 0}


def test_keys_are_scoped_per_api_key(acme: TenantSetup, globex: TenantSetup) -> None:
    from core.actors import Actor
    from tenants.services import api_key_create

    with tenant_context(acme.tenant):
        second = api_key_create(
            tenant=acme.tenant, name="second", actor=Actor.system("tests"), now=clock.now()
        )

    _post(acme, "/api/v1/customers", {"name": "Ana"}, "shared")
    other_key = _post(acme, "/api/v1/customers", {"name": "Ana"}, "shared", client_for(second.raw))
    other_tenant = _post(globex, "/api/v1/customers", {"name": "Ana"}, "shared")

    assert other_key.status_code == other_tenant.status_code == 201
    assert "Idempotent-Replayed" not in other_key
    assert counts(acme, Customer) == {"Customer": 2}
    assert counts(globex, Customer) == {"Customer": 1}


def test_an_invalid_key_is_a_400(acme: TenantSetup) -> None:
    response = _post(acme, "/api/v1/customers", {"name": "Ana"}, "x" * 256)

    assert response.status_code == 400
    assert error(response)["code"] == "idempotency_key_invalid"
    assert counts(acme, Customer) == {"Customer": 0}


def test_without_a_key_every_post_acts(acme: TenantSetup) -> None:
    acme.client().post("/api/v1/customers", {"name": "Ana"})
    acme.client().post("/api/v1/customers", {"name": "Ana"})

    assert counts(acme, Customer, IdempotencyKey) == {"Customer": 2, "IdempotencyKey": 0}


def test_a_key_older_than_24_hours_is_forgotten_and_purged(acme: TenantSetup) -> None:
    _post(acme, "/api/v1/customers", {"name": "Ana"}, "old")
    _post(acme, "/api/v1/customers", {"name": "Keep"}, "recent")
    with tenant_context(acme.tenant):
        IdempotencyKey.objects.filter(key="old").update(
            created_at=clock.now() - timedelta(hours=24, seconds=1)
        )

    reused = _post(acme, "/api/v1/customers", {"name": "Bob"}, "old")

    assert reused.status_code == 201
    assert reused.json()["name"] == "Bob"
    with tenant_context(acme.tenant):
        IdempotencyKey.objects.filter(key="old").update(
            created_at=clock.now() - timedelta(hours=25)
        )
    assert idempotency_keys_purge(now=clock.now()) == 1
    with platform_access():
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


def test_the_purge_runs_as_a_beat_task(acme: TenantSetup, settings) -> None:  # type: ignore[no-untyped-def]
    from tenants.tasks import idempotency_keys_purge_task

    _post(acme, "/api/v1/customers", {"name": "Ana"}, "old")
    with tenant_context(acme.tenant):
        IdempotencyKey.objects.update(created_at=clock.now() - timedelta(days=2))

    assert idempotency_keys_purge_task.delay().get() == 1
    assert "core.idempotency_keys_purge" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_a_server_error_is_not_stored_and_a_retry_runs_again(acme: TenantSetup, settings) -> None:  # type: ignore[no-untyped-def]
    # Stripe configured but unreachable (nothing listens on port 9): a 503.
    settings.STRIPE_API_KEY = "sk_test_unreachable000"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_unreachable000"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_unreachable000"
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}).json()
    path = f"/api/v1/customers/{customer['id']}/payment_methods/setup"
    body: dict = {}

    first = _post(acme, path, body, "k-503")
    second = _post(acme, path, body, "k-503")

    assert first.status_code == second.status_code == 503
    assert error(first)["code"] == "gateway_unavailable"
    assert "Idempotent-Replayed" not in second
    assert counts(acme, IdempotencyKey, PaymentMethod) == {"IdempotencyKey": 0, "PaymentMethod": 0}


def test_a_read_only_key_is_refused_before_any_key_is_stored(acme: TenantSetup) -> None:
    from tests.api.helpers import read_only_client

    response = _post(acme, "/api/v1/customers", {"name": "Ana"}, "ro", read_only_client(acme))

    assert response.status_code == 403
    assert counts(acme, IdempotencyKey, Customer) == {"IdempotencyKey": 0, "Customer": 0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_still_in_flight_holds_its_key(acme: TenantSetup) -> None:
    """Request A blocks on a row lock held by the test; B, with the same key,
    is told the key is in use; once A finishes, C replays A's answer."""
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}).json()
    path = f"/api/v1/customers/{customer['id']}/payment_methods"
    body = {"type": "pix"}
    results: dict[str, object] = {}

    def request_a() -> None:
        try:
            results["a"] = _post(acme, path, body, "in-flight")
        finally:
            connections.close_all()

    with transaction.atomic(), tenant_context(acme.tenant):
        # Attaching locks the customer row first: hold that lock.
        Customer.objects.select_for_update().get(public_id=customer["id"])
        thread = threading.Thread(target=request_a)
        thread.start()
        deadline = time.monotonic() + 20
        while not _key_claimed("in-flight"):
            assert time.monotonic() < deadline, "request A never claimed its key"
            time.sleep(0.05)
        results["b"] = _post(acme, path, body, "in-flight")
        assert thread.is_alive()
    thread.join(timeout=30)
    replay = _post(acme, path, body, "in-flight")

    a, b = results["a"], results["b"]
    assert b.status_code == 409  # type: ignore[attr-defined]
    assert error(b)["code"] == "idempotency_key_in_use"
    assert a.status_code == 201  # type: ignore[attr-defined]
    assert replay.status_code == 201
    assert replay.json() == a.json()  # type: ignore[attr-defined]
    assert counts(acme, PaymentMethod) == {"PaymentMethod": 1}


def _key_claimed(key: str) -> bool:
    """Seen from a connection of its own (the test's holds an open transaction)."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as conn:
        row = conn.execute(
            "SELECT count(*) FROM tenants_idempotencykey WHERE key = %s", [key]
        ).fetchone()
    return bool(row and row[0])
