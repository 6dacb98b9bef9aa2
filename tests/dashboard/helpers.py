"""Signing staff in with the test client, and seating them in a tenant."""

from __future__ import annotations

from django.test import Client

from core import clock
from core.actors import Actor
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import membership_add

PASSWORD = "s3cret-Pass!"


def signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def add_member(tenant: Tenant, email: str, role: str) -> None:
    from tenants.accounts import staff_user_ensure

    user = staff_user_ensure(email=email, password=PASSWORD)
    with tenant_context(tenant):
        membership_add(tenant=tenant, user=user, role=role, actor=Actor.system(), now=clock.now())
