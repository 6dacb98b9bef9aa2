"""Rate limits per API key, counted in Redis: separate read and write budgets."""

from __future__ import annotations

import pytest

from customers.models import Customer
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup, make_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def tight(settings):  # type: ignore[no-untyped-def]
    settings.API_RATE_LIMIT_WINDOW = 60
    settings.API_RATE_LIMIT_READ = 3
    settings.API_RATE_LIMIT_WRITE = 2
    return settings


def test_over_the_read_budget_is_a_429_with_retry_after(acme: TenantSetup, tight) -> None:  # type: ignore[no-untyped-def]
    client = acme.client()
    answers = [client.get("/api/v1/customers") for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert all(r["RateLimit-Limit"] == "3" for r in answers)
    limited = answers[-1]
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert error(limited)["type"] == "rate_limit_error"
    assert error(limited)["code"] == "rate_limited"


def test_writes_have_their_own_budget_and_a_refused_write_changes_nothing(
    acme: TenantSetup,
    tight,  # type: ignore[no-untyped-def]
) -> None:
    client = acme.client()
    for _ in range(3):
        client.get("/api/v1/customers")
    writes = [client.post("/api/v1/customers", {"name": f"C{i}"}) for i in range(3)]

    assert [r.status_code for r in writes] == [201, 201, 429]
    assert counts(acme, Customer) == {"Customer": 2}


def test_each_key_has_its_own_budget(acme: TenantSetup, tight) -> None:  # type: ignore[no-untyped-def]
    other = make_tenant("initech")
    for _ in range(3):
        acme.client().get("/api/v1/customers")

    assert acme.client().get("/api/v1/customers").status_code == 429
    assert other.client().get("/api/v1/customers").status_code == 200


def test_a_limited_request_does_not_store_its_idempotency_key(acme: TenantSetup, tight) -> None:  # type: ignore[no-untyped-def]
    client = acme.client()
    client.post("/api/v1/customers", {"name": "A"})
    client.post("/api/v1/customers", {"name": "B"})

    limited = client.post("/api/v1/customers", {"name": "C"}, HTTP_IDEMPOTENCY_KEY="later")
    tight.API_RATE_LIMIT_WRITE = 10
    retried = client.post("/api/v1/customers", {"name": "C"}, HTTP_IDEMPOTENCY_KEY="later")

    assert limited.status_code == 429
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_zero_means_no_limit(acme: TenantSetup, settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_RATE_LIMIT_READ = 0

    answers = [acme.client().get("/api/v1/customers").status_code for _ in range(5)]

    assert answers == [200] * 5


def test_a_windows_counter_expires_with_its_window(acme: TenantSetup, tight) -> None:  # type: ignore[no-untyped-def]
    """The counter (SET NX EX + INCR, pipelined) holds the count and carries the
    window's lifetime, so an idle key's budget comes back."""
    from django.core.cache import caches

    acme.client().get("/api/v1/customers")
    backend = caches["default"]
    client = backend._cache.get_client(write=False)
    keys = list(client.scan_iter(match="*ratelimit*"))
    assert keys, "the limiter stored no counter in Redis"
    assert [int(client.get(k)) for k in keys] == [1]
    assert all(0 < client.ttl(k) <= 61 for k in keys)


def test_a_read_with_a_remembered_key_costs_one_redis_round_trip(
    acme: TenantSetup,
    tight,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key's cached identity and its rate-limit count travel together."""
    from redis.connection import AbstractConnection

    client = acme.client()
    assert client.get("/api/v1/customers")["RateLimit-Remaining"] == "2"  # identity cached now
    sent: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    answer = client.get("/api/v1/customers")

    assert answer.status_code == 200
    assert answer["RateLimit-Remaining"] == "1"
    assert len(sent) == 1
