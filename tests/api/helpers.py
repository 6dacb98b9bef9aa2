"""Helpers for API tests: JSON calls with a key, snapshots of what a tenant holds."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from core import clock
from core.actors import Actor
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.services import api_key_create
from tests.conftest import TenantSetup


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def read_only_client(setup: TenantSetup) -> APIClient:
    with tenant_context(setup.tenant):
        key = api_key_create(
            tenant=setup.tenant,
            name="read only",
            read_only=True,
            actor=Actor.system("tests"),
            now=clock.now(),
        )
    return client_for(key.raw)


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "code", "message", "param"} <= set(body["error"]), body
    return body["error"]


def counts(setup: TenantSetup, *models: Any) -> dict[str, int]:
    with tenant_context(setup.tenant):
        return {m.__name__: m.objects.filter(tenant=setup.tenant).count() for m in models}


def audit_actions(setup: TenantSetup) -> list[tuple[str, str]]:
    """(actor_type, action) of every audit entry, oldest first."""
    with tenant_context(setup.tenant):
        return list(
            AuditEntry.objects.filter(tenant=setup.tenant)
            .order_by("id")
            .values_list("actor_type", "action")
        )
