"""API keys: valid, revoked, malformed and another tenant's, on a tenant-owned resource."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core import clock
from core.actors import Actor
from customers.models import Customer
from tenants.context import platform_access, tenant_context
from tenants.models import ApiKey, AuditEntry
from tenants.services import api_key_create, api_key_revoke
from tests.conftest import TenantSetup


def _customer(setup: TenantSetup, name: str = "Ana") -> Customer:
    with tenant_context(setup.tenant):
        return Customer.objects.create(name=name, email=f"{name.lower()}@example.com")


def _client(raw: str | None = None, header: str | None = None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_valid_key_reads_its_tenants_customer(acme: TenantSetup) -> None:
    ana = _customer(acme)

    response = acme.client().get(f"/api/v1/customers/{ana.public_id}")

    assert response.status_code == 200
    assert response.json()["id"] == ana.public_id
    assert response.json()["name"] == "Ana"
    assert "tenant" not in response.json()


def test_a_revoked_key_gets_401(acme: TenantSetup) -> None:
    ana = _customer(acme)
    with tenant_context(acme.tenant):
        api_key_revoke(
            tenant=acme.tenant, key_id=acme.key.key.pk, actor=Actor.system(), now=clock.now()
        )

    response = acme.client().get(f"/api/v1/customers/{ana.public_id}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer not-a-key", id="garbage"),
        pytest.param("Basic c2tfdGVzdDpmb28=", id="wrong-scheme"),
        pytest.param("Bearer sk_test_", id="truncated"),
        pytest.param("Bearer sk_prod_" + "a" * 43, id="unknown-mode"),
        pytest.param("Bearer sk_test_" + "a" * 43, id="well-formed-but-unknown"),
        pytest.param("Bearer sk_test_" + "a" * 43 + "' OR 1=1 --", id="injection"),
    ],
)
def test_a_malformed_or_unknown_key_gets_401(acme: TenantSetup, header: str) -> None:
    ana = _customer(acme)

    response = _client(header=header).get(f"/api/v1/customers/{ana.public_id}")

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_no_key_gets_401(acme: TenantSetup) -> None:
    response = _client().get("/api/v1/customers")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_another_tenants_customer_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    bruno = _customer(globex, "Bruno")

    response = acme.client().get(f"/api/v1/customers/{bruno.public_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


def test_the_list_holds_only_the_keys_tenant(acme: TenantSetup, globex: TenantSetup) -> None:
    _customer(acme, "Ana")
    _customer(globex, "Bruno")

    body = acme.client().get("/api/v1/customers").json()

    assert [c["name"] for c in body["data"]] == ["Ana"]
    assert body["has_more"] is False


def test_a_publishable_key_cannot_read_customers(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        issued = api_key_create(
            tenant=acme.tenant,
            name="pk",
            kind="publishable",
            actor=Actor.system(),
            now=clock.now(),
        )

    response = _client(issued.raw).get("/api/v1/customers")

    assert issued.raw.startswith("pk_test_")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "publishable_key"


def test_only_the_hash_is_stored_and_last_use_is_recorded(acme: TenantSetup) -> None:
    before = clock.now()

    acme.client().get("/api/v1/customers")

    with platform_access():
        key = ApiKey.objects.get(pk=acme.key.key.pk)
    assert key.key_hash == ApiKey.hash(acme.key.raw)
    assert key.masked == f"sk_test_…{acme.key.raw[-4:]}"
    assert key.last_used_at is not None
    assert key.last_used_at >= before - timedelta(seconds=1)


def test_creating_and_revoking_keys_is_audited(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        api_key_revoke(
            tenant=acme.tenant,
            key_id=acme.key.key.pk,
            actor=Actor.staff(acme.owner),
            now=clock.now(),
        )
        actions = list(
            AuditEntry.objects.order_by("id").values_list("action", "actor_type", "target_id")
        )

    assert actions == [
        ("tenant.created", "staff", str(acme.tenant.pk)),
        ("api_key.created", "system", str(acme.key.key.pk)),
        ("api_key.revoked", "staff", str(acme.key.key.pk)),
    ]


def test_create_tenant_prints_a_working_secret_key_last(db: None, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("create_tenant", "initech", "--owner-email", "bill@initech.example")

    raw = capsys.readouterr().out.strip().splitlines()[-1]
    response = _client(raw).get("/api/v1/customers")

    assert raw.startswith("sk_test_")
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_create_tenant_refuses_a_bad_email_or_taken_slug(acme: TenantSetup) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Invalid --owner-email"):
        call_command("create_tenant", "initech", "--owner-email", "not-an-email")
    with pytest.raises(CommandError, match="taken"):
        call_command("create_tenant", "acme", "--owner-email", "x@example.com")


# --- the key's cached identity ---------------------------------------------------------


def _apikey_queries(client: APIClient, path: str) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, [q["sql"] for q in captured.captured_queries if "tenants_apikey" in q["sql"]]


def test_a_used_key_is_remembered_and_a_revoked_one_is_refused_at_once(
    acme: TenantSetup,
) -> None:
    ana = _customer(acme)
    path = f"/api/v1/customers/{ana.public_id}"
    client = acme.client()

    first = _apikey_queries(client, path)
    second = _apikey_queries(client, path)
    assert first[0] == second[0] == 200
    assert first[1], "the first request looks the key up"
    assert second[1] == []  # then its identity comes from the cache

    with tenant_context(acme.tenant):
        api_key_revoke(
            tenant=acme.tenant, key_id=acme.key.key.pk, actor=Actor.system(), now=clock.now()
        )
    assert client.get(path).status_code == 401


def test_a_lookup_racing_a_revocation_cannot_cache_the_key_live(acme: TenantSetup) -> None:
    """A request that read the key just before the revocation committed tries to
    remember it afterwards: the revocation's tombstone wins."""
    from tenants.selectors import KEY_CACHE_SECONDS, _cache_add, api_key_cache_key

    ana = _customer(acme)
    key = acme.key.key
    with tenant_context(acme.tenant):
        api_key_revoke(tenant=acme.tenant, key_id=key.pk, actor=Actor.system(), now=clock.now())
    _cache_add(
        api_key_cache_key(key.key_hash),
        {
            "id": key.pk,
            "tenant_id": acme.tenant.pk,
            "name": key.name,
            "kind": key.kind,
            "mode": key.mode,
            "prefix": key.prefix,
            "last4": key.last4,
            "read_only": False,
        },
    )
    assert KEY_CACHE_SECONDS > 0
    assert acme.client().get(f"/api/v1/customers/{ana.public_id}").status_code == 401
