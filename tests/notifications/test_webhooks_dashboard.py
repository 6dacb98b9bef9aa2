"""Dashboard pages for webhooks: owners and admins only; the secret shown once;
edit, disable/enable, rotate, the delivery log and replay."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client

from core import clock
from core.actors import Actor
from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookEndpoint
from notifications.outbox import dispatch_pending
from tenants.context import tenant_context
from tenants.outbox import emit
from tenants.services import membership_add
from tests.conftest import TenantSetup
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
PASSWORD = "s3cret-Pass!"
URL = "/dashboard/notifications/webhooks/"


def signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def add_member(setup: TenantSetup, email: str, role: str) -> None:
    from tenants.accounts import staff_user_ensure

    user = staff_user_ensure(email=email, password=PASSWORD)
    with tenant_context(setup.tenant):
        membership_add(
            tenant=setup.tenant, user=user, role=role, actor=Actor.system(), now=clock.now()
        )


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("finance", 403), ("support", 403), ("viewer", 403)]
)
def test_only_owners_and_admins_reach_the_pages(acme: TenantSetup, role: str, status: int) -> None:
    add_member(acme, f"{role}@acme.example", role)

    assert signed_in(f"{role}@acme.example").get(URL).status_code == status


def test_create_shows_the_secret_once_then_edit_disable_rotate_and_replay(
    acme: TenantSetup,
) -> None:
    client = signed_in("owner@acme.example")
    with Receiver() as receiver:
        created = client.post(
            URL,
            {
                "url": receiver.url,
                "enabled_events": "invoice.*, customer.created",
                "description": "",
            },
        )
        assert created.status_code == 302
        detail_url = created["Location"]
        page = client.get(detail_url).content.decode()
        with tenant_context(acme.tenant):
            endpoint = WebhookEndpoint.objects.get()
            [secret] = webhooks.signing_secrets(endpoint, now=clock.now())
        assert f'data-testid="raw-secret">{secret}<' in page
        assert secret not in client.get(detail_url).content.decode()  # once
        assert endpoint.enabled_events == ["invoice.*", "customer.created"]
        assert "Webhooks" in client.get("/").content.decode()  # the nav link

        saved = client.post(
            detail_url, {"url": receiver.url, "enabled_events": "*", "description": "all"}
        )
        assert saved.status_code == 302
        client.post(f"{detail_url}disable/")
        with tenant_context(acme.tenant):
            endpoint.refresh_from_db()
        assert (endpoint.enabled_events, endpoint.description, endpoint.status) == (
            ["*"],
            "all",
            "disabled",
        )
        client.post(f"{detail_url}enable/")
        rotated = client.get(client.post(f"{detail_url}rotate/")["Location"]).content.decode()
        with tenant_context(acme.tenant):
            endpoint.refresh_from_db()
            new_secret = webhooks.signing_secrets(endpoint, now=clock.now())[0]
        assert new_secret != secret
        assert f'data-testid="raw-secret">{new_secret}<' in rotated
        receiver.secret = new_secret

        with tenant_context(acme.tenant):
            evt = emit(tenant_id=acme.tenant.pk, type="invoice.paid", at=clock.now())
            dispatch_pending(tenant=acme.tenant, now=clock.now())
            webhooks.deliveries_send(tenant=acme.tenant, now=clock.now())
            delivery = endpoint.deliveries.get(event__public_id=evt)
        log = client.get(detail_url).content.decode()
        assert evt in log
        assert "HTTP 200" in log

        client.post(f"{detail_url}deliveries/{delivery.public_id}/replay/")
        with tenant_context(acme.tenant):
            webhooks.deliveries_send(tenant=acme.tenant, now=clock.now())
            manual = WebhookAttempt.objects.filter(delivery=delivery, manual=True).count()
        assert manual == 1
        assert receiver.accepted_ids()[evt] == 2


def test_a_bad_url_is_a_form_error_and_nothing_is_created(acme: TenantSetup, settings) -> None:
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False
    client = signed_in("owner@acme.example")

    response = client.post(URL, {"url": "https://10.0.0.1/h", "enabled_events": "*"})
    bad_filter = client.post(URL, {"url": "https://example.com/h", "enabled_events": "Nope!"})

    assert response.status_code == 400
    assert "private or internal address" in response.content.decode()
    assert bad_filter.status_code == 400
    with tenant_context(acme.tenant):
        assert not WebhookEndpoint.objects.exists()


def test_another_tenants_endpoint_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        endpoint = webhooks.webhook_endpoint_create(
            tenant=acme.tenant,
            actor=Actor.system(),
            now=clock.now(),
            url="https://93.184.215.14/h",
            enabled_events=["*"],
        ).endpoint
    client = signed_in("owner@globex.example")

    assert client.get(f"{URL}{endpoint.public_id}/").status_code == 404
    assert client.post(f"{URL}{endpoint.public_id}/disable/").status_code == 404
    assert client.post(f"{URL}{endpoint.public_id}/delete/").status_code == 404
    with tenant_context(acme.tenant):
        endpoint.refresh_from_db()
    assert endpoint.status == "enabled"
    assert Counter(client.get(URL).content.decode().split()).get(endpoint.url, 0) == 0
