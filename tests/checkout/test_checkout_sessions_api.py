"""Checkout sessions over the API: created with a secret or a publishable key,
opened as the prefilled hosted page, completed into a customer and a
subscription, then back to the integrator's success_url; expired with a secret
key only. A publishable key can do nothing else in the API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from checkout.models import CheckoutSession
from core import clock
from customers.models import Customer
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
URL = "/api/v1/checkout_sessions"


def _shop(slug: str = "acme") -> tuple[Tenant, Plan, Plan, APIClient, APIClient]:
    with world(NOW, slug=slug, locale="en") as w:
        seats = w.plan("seats", amount=5_000, pricing_model="per_seat")
        flat = w.plan("flat", amount=9_000)
        secret = api_key_create(tenant=w.tenant, name="server", actor=ACTOR, now=w.now)
        public = api_key_create(
            tenant=w.tenant, name="browser", actor=ACTOR, now=w.now, kind=ApiKey.Kind.PUBLISHABLE
        )
    sk, pk = APIClient(), APIClient()
    sk.credentials(HTTP_AUTHORIZATION=f"Bearer {secret.raw}")
    pk.credentials(HTTP_AUTHORIZATION=f"Bearer {public.raw}")
    return w.tenant, seats, flat, sk, pk


def _body(plan: Plan, **kw: Any) -> dict[str, Any]:
    return {
        "plan": plan.public_id,
        "quantity": 3,
        "name": "Ana Souza",
        "email": "ana@example.com",
        "tax_id": "529.982.247-25",
        "success_url": "https://shop.example.com/thanks?order=7",
        "cancel_url": "https://shop.example.com/cart",
        **kw,
    }


def _token(client: Client) -> str:
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["id"])


def _sessions(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return CheckoutSession.objects.filter(tenant=tenant).count()


@pytest.mark.parametrize("which", ["secret", "publishable"])
def test_create_retrieve_and_complete_through_the_hosted_page(which: str) -> None:
    tenant, seats, _flat, sk, pk = _shop()
    api = sk if which == "secret" else pk
    created = api.post(URL, _body(seats), format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["id"].startswith("cs_")
    assert data["object"] == "checkout_session"
    assert data["status"] == "open"
    assert data["quantity"] == 3
    assert data["customer"] is None
    assert data["subscription"] is None
    with tenant_context(tenant):
        session = CheckoutSession.objects.get(public_id=data["id"])
    assert session.expires_at - session.created_at == timedelta(hours=24)
    path = f"/t/{tenant.slug}/checkout/s/{data['id']}/"
    assert data["url"].endswith(path)
    assert api.get(f"{URL}/{data['id']}").json()["status"] == "open"

    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="Ana Souza"' in html
    assert 'value="ana@example.com"' in html
    assert 'value="3"' in html
    assert "readonly" in html
    form = {
        "quantity": "999",  # ignored: the session fixed 3
        "name": "Ana Souza",
        "email": "ana@example.com",
        "tax_id": "529.982.247-25",
        "reference": _token(browser),
        "method": "card",
    }
    done = browser.post(path, form)
    assert done.status_code == 302, done.content.decode()
    assert done["Location"] == "https://shop.example.com/thanks?order=7"
    with tenant_context(tenant):
        customer = Customer.objects.get(tenant=tenant)
        sub = Subscription.objects.get(customer=customer)
    assert sub.quantity == 3
    after = api.get(f"{URL}/{data['id']}").json()
    assert after["status"] == "complete"
    assert (after["customer"], after["subscription"]) == (customer.public_id, sub.public_id)
    # Completed: a second submission creates nothing; the page says thank you.
    again = Client()
    assert again.post(path, {**form, "reference": _token(again)}).status_code == 200
    with tenant_context(tenant):
        assert Subscription.objects.filter(tenant=tenant).count() == 1
    assert b"checkout-session-complete" in again.get(path).content


def test_expire_needs_a_secret_key_and_closes_the_page() -> None:
    tenant, seats, _flat, sk, pk = _shop()
    cs = sk.post(URL, _body(seats), format="json").json()["id"]
    refused = pk.post(f"{URL}/{cs}/expire", format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "publishable_key"
    expired = sk.post(f"{URL}/{cs}/expire", format="json")
    assert expired.status_code == 200
    assert expired.json()["status"] == "expired"
    page = Client().get(f"/t/{tenant.slug}/checkout/s/{cs}/")
    assert page.status_code == 410
    assert b"checkout-session-expired" in page.content


def test_a_session_past_24_hours_is_expired() -> None:
    tenant, seats, _flat, sk, _pk = _shop()
    cs = sk.post(URL, _body(seats), format="json").json()["id"]
    with tenant_context(tenant):
        CheckoutSession.objects.filter(public_id=cs).update(
            expires_at=clock.now() - timedelta(seconds=1)
        )
    assert sk.get(f"{URL}/{cs}").json()["status"] == "expired"
    assert Client().get(f"/t/{tenant.slug}/checkout/s/{cs}/").status_code == 410


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/customers", "get"),
        ("/api/v1/customers", "post"),
        ("/api/v1/plans", "get"),
        ("/api/v1/subscriptions", "get"),
        ("/api/v1/account", "get"),
        ("/api/v1/invoices", "get"),
    ],
)
def test_a_publishable_key_can_do_nothing_else(path: str, method: str) -> None:
    _tenant, _seats, _flat, _sk, pk = _shop()
    response = getattr(pk, method)(path, {}, format="json")
    assert response.status_code == 403, (path, response.content)
    assert response.json()["error"]["code"] == "publishable_key"


def test_bad_input_is_refused_by_field_and_saves_nothing() -> None:
    tenant, seats, flat, sk, _pk = _shop()
    other_tenant, other_plan, *_ = _shop("globex")
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"plan": "plan_doesnotexist000000000000"}, "plan", 404),
        ({"plan": other_plan.public_id}, "plan", 404),
        ({"plan": 7}, "plan", 400),
        ({"quantity": 0}, "quantity", 400),
        ({"quantity": 10**9}, "quantity", 400),
        ({"quantity": -1}, "quantity", 400),
        ({"quantity": "3"}, "quantity", 400),
        ({"success_url": "javascript:alert(1)"}, "success_url", 400),
        ({"success_url": "ftp://shop.example.com/"}, "success_url", 400),
        ({"success_url": "//shop.example.com/"}, "success_url", 400),
        ({"success_url": "https://shop.example.com/a b"}, "success_url", 400),
        ({"cancel_url": "data:text/html,hi"}, "cancel_url", 400),
        ({"success_url": "https://shop.example.com/\x00"}, "success_url", 400),
        ({"name": "Ana\x00"}, "name", 400),
        ({"email": "a@b.c\x00"}, "email", 400),
        ({"name": "x" * 201}, "name", 400),
        ({"colour": "red"}, "colour", 400),
    ]
    body = _body(seats)
    del body["success_url"]
    cases.append((body, "success_url", 400))
    flat_two = _body(flat, quantity=2)
    for change, param, status in cases:
        payload = body if change is body else {**_body(seats), **change}
        response = sk.post(URL, payload, format="json")
        assert response.status_code == status, (change, response.content)
        assert response.json()["error"]["param"] == param, (change, response.content)
    response = sk.post(URL, flat_two, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "quantity"
    assert _sessions(tenant) == 0
    assert _sessions(other_tenant) == 0


def test_another_tenants_session_is_not_found() -> None:
    _tenant, seats, _flat, sk, _pk = _shop()
    _other, _p, _f, other_sk, other_pk = _shop("globex")
    cs = sk.post(URL, _body(seats), format="json").json()["id"]
    for client in (other_sk, other_pk):
        assert client.get(f"{URL}/{cs}").status_code == 404
    assert other_sk.post(f"{URL}/{cs}/expire", format="json").status_code == 404
    assert Client().get(f"/t/globex/checkout/s/{cs}/").status_code == 404
    assert sk.get(f"{URL}/{cs}").json()["status"] == "open"


@override_settings(CHECKOUT_RATE_PER_KEY=2)
def test_creations_with_a_publishable_key_are_rate_limited() -> None:
    tenant, seats, _flat, _sk, pk = _shop()
    from django.core.cache import cache

    cache.clear()
    assert pk.post(URL, _body(seats), format="json").status_code == 201
    assert pk.post(URL, _body(seats), format="json").status_code == 201
    third = pk.post(URL, _body(seats), format="json")
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limited"
    assert _sessions(tenant) == 2


def test_the_browser_may_call_it_from_any_origin_with_the_key_in_a_header() -> None:
    _tenant, seats, _flat, _sk, pk = _shop()
    preflight = Client().options(
        URL,
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    created = pk.post(URL, _body(seats), format="json", HTTP_ORIGIN="https://shop.example.com")
    assert created.status_code == 201
    assert created["Access-Control-Allow-Origin"] == "*"
    # Other resources stay without CORS.
    other = pk.get("/api/v1/customers", HTTP_ORIGIN="https://shop.example.com")
    assert "Access-Control-Allow-Origin" not in other


def _three(tenant: Tenant) -> Plan:
    from subscriptions.services import plan_create

    with tenant_context(tenant):
        product = Plan.objects.filter(tenant=tenant).first().product  # type: ignore[union-attr]
        return plan_create(
            tenant=tenant,
            product=product,
            code="gold",
            name="Gold",
            currency="BRL",
            amount_minor=15_000,
            actor=ACTOR,
            now=NOW,
        )


def test_a_session_with_several_plans_lets_the_visitor_pick_one() -> None:
    tenant, seats, flat, sk, pk = _shop()
    gold = _three(tenant)
    body = {**_body(seats, quantity=1), "plans": [flat.public_id, gold.public_id]}
    del body["plan"]
    created = pk.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["plans"] == [flat.public_id, gold.public_id]
    assert data["plan"] == flat.public_id
    assert data["embed_url"] == data["url"] + "?embed=1"
    path = f"/t/{tenant.slug}/checkout/s/{data['id']}/"
    browser = Client()
    page = browser.get(path).content.decode()
    assert page.count('data-testid="plan-choice"') == 2
    assert f'data-plan="{gold.public_id}"' in page
    assert '<h1 data-testid="plan-name">Flat' in page or "plan-name" in page
    picked = browser.get(f"{path}?plan={gold.public_id}")
    assert b'data-testid="total-now" data-minor="15000"' in picked.content
    # A plan the session does not offer opens the first one.
    assert b'data-minor="9000"' in browser.get(f"{path}?plan={seats.public_id}").content
    form = {
        "quantity": "1",
        "name": "Ana Souza",
        "email": "ana@example.com",
        "tax_id": "529.982.247-25",
        "reference": _token(browser),
        "method": "card",
    }
    done = browser.post(f"{path}?plan={gold.public_id}", form)
    assert done.status_code == 302, done.content.decode()[:2000]
    with tenant_context(tenant):
        sub = Subscription.objects.select_related("plan").get(tenant=tenant)
    assert sub.plan.public_id == gold.public_id
    after = sk.get(f"{URL}/{data['id']}").json()
    assert after["status"] == "complete"
    assert after["plan"] == gold.public_id
    assert after["plans"] == [flat.public_id, gold.public_id]


def test_a_single_plan_session_keeps_its_shape_with_embed_url() -> None:
    _tenant, seats, _flat, sk, _pk = _shop()
    data = sk.post(URL, _body(seats), format="json").json()
    assert data["plan"] == seats.public_id
    assert data["plans"] == [seats.public_id]
    assert data["embed_url"].endswith(f"/checkout/s/{data['id']}/?embed=1")


def test_bad_plans_lists_are_refused_and_save_nothing() -> None:
    tenant, seats, flat, sk, _pk = _shop()
    other_tenant, other_plan, *_ = _shop("globex")
    with tenant_context(tenant):
        archived = _three(tenant)
        Plan.objects.filter(pk=archived.pk).update(active=False)
    many = [seats.public_id] * 11
    cases: list[tuple[Any, int]] = [
        ([], 400),
        (many, 400),
        ("plan_x", 400),
        ([7], 400),
        ([None], 400),
        ([{"id": seats.public_id}], 400),
        ([seats.public_id, seats.public_id], 400),
        ([seats.public_id, other_plan.public_id], 404),
        ([seats.public_id, archived.public_id], 404),
        (["plan_doesnotexist000000000000"], 404),
        ([seats.public_id, "plan_\x00"], 400),
        ([flat.public_id], 400),  # flat plan with quantity 3
    ]
    for plans, status in cases:
        body = {**_body(seats), "plans": plans}
        del body["plan"]
        response = sk.post(URL, body, format="json")
        assert response.status_code == status, (plans, response.content)
        assert response.json()["error"]["param"].startswith(
            "quantity" if plans == [flat.public_id] else "plans"
        ), (plans, response.content)
    both = sk.post(URL, {**_body(seats), "plans": [seats.public_id]}, format="json")
    assert both.status_code == 400
    assert both.json()["error"]["param"] == "plans"
    neither = _body(seats)
    del neither["plan"]
    assert sk.post(URL, neither, format="json").json()["error"]["param"] == "plan"
    assert _sessions(tenant) == 0
    assert _sessions(other_tenant) == 0
