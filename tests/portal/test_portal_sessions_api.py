"""``POST /api/v1/portal_sessions``: a short-lived URL that signs one customer
in, once, optionally on one flow, and only at its own merchant."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import clock
from core.actors import Actor
from tenants.context import tenant_context
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create
from tests.support.billing import utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _api(tenant: Tenant, kind: str = ApiKey.Kind.SECRET) -> APIClient:
    with tenant_context(tenant):
        key = api_key_create(
            tenant=tenant, name="t", actor=Actor.system("tests"), now=clock.now(), kind=kind
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    return client


def _path(url: str) -> str:
    return url[url.index("/t/") :]


def _create(api: APIClient, **body: Any) -> Any:
    return api.post("/api/v1/portal_sessions", body, format="json")


def test_the_url_signs_the_customer_in_once() -> None:
    with world(NOW, slug="acme") as w:
        ana = w.customer("Ana")
    api = _api(w.tenant)
    response = _create(api, customer=ana.public_id, return_url="https://shop.example/account")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["object"] == "portal_session"
    assert body["id"].startswith("bps_")
    assert body["customer"] == ana.public_id
    assert body["return_url"] == "https://shop.example/account"
    browser = Client()
    opened = browser.get(_path(body["url"]))
    assert opened.status_code == 302
    assert opened["Location"] == "/t/acme/"
    assert browser.session["portal_customer"]["customer"] == ana.public_id
    home = browser.get("/t/acme/")
    assert b"https://shop.example/account" in home.content
    again = Client()
    assert again.get(_path(body["url"])).status_code == 400
    assert "portal_customer" not in again.session


def test_flows_open_their_pages() -> None:
    with world(NOW, slug="acme") as w:
        ana = w.customer("Ana")
        sub = w.subscribe(w.plan(), ana)
    api = _api(w.tenant)
    cases = {
        "payment_method_update": ({}, "/t/acme/payment-methods/"),
        "subscription_cancel": (
            {"subscription": sub.public_id},
            f"/t/acme/subscriptions/{sub.public_id}/cancel/",
        ),
        "subscription_update": (
            {"subscription": sub.public_id},
            f"/t/acme/subscriptions/{sub.public_id}/change/",
        ),
    }
    for flow, (extra, target) in cases.items():
        response = _create(api, customer=ana.public_id, flow=flow, **extra)
        assert response.status_code == 201, response.content
        assert Client().get(_path(response.json()["url"]))["Location"] == target


def test_other_tenants_and_other_customers_objects_are_refused() -> None:
    with world(NOW, slug="acme") as w:
        ana = w.customer("Ana")
        bob = w.customer("Bob")
        bobs = w.subscribe(w.plan(), bob)
    with world(NOW, slug="other") as w2:
        carla = w2.customer("Carla")
        carlas = w2.subscribe(w2.plan(), carla)
    api = _api(w.tenant)
    assert _create(api, customer=carla.public_id).status_code == 404
    refused = _create(
        api, customer=ana.public_id, flow="subscription_cancel", subscription=carlas.public_id
    )
    assert refused.status_code == 404
    refused = _create(
        api, customer=ana.public_id, flow="subscription_cancel", subscription=bobs.public_id
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "subscription"
    # A URL made at acme does not open the other merchant's portal.
    url = _create(api, customer=ana.public_id).json()["url"]
    browser = Client()
    assert browser.get(_path(url).replace("/t/acme/", "/t/other/")).status_code == 400
    assert "portal_customer" not in browser.session


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"customer": 12},
        {"customer": "cus_\x00"},
        {"flow": "subscription_cancel"},
        {"flow": "nope"},
        {"flow": "subscription_update"},
        {"return_url": "javascript:alert(1)"},
        {"return_url": "https://x.example/" + "a" * 3000},
        {"unknown": 1},
    ],
)
def test_bad_input_is_refused_with_the_field_named(body: dict[str, Any]) -> None:
    with world(NOW, slug="acme") as w:
        ana = w.customer("Ana")
    api = _api(w.tenant)
    full = {"customer": ana.public_id, **body} if "customer" not in body else body
    if body == {}:
        full = {}
    response = _create(api, **full)
    assert response.status_code in (400, 404), response.content
    assert response.json()["error"]["message"]


def test_a_publishable_key_cannot_open_portal_sessions() -> None:
    with world(NOW, slug="acme") as w:
        ana = w.customer("Ana")
    response = _create(_api(w.tenant, ApiKey.Kind.PUBLISHABLE), customer=ana.public_id)
    assert response.status_code == 403
