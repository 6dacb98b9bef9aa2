"""The embeddable checkout: the tenant's allowed sites (settings page and the
account API, validated origins), frame-ancestors on the checkout pages only,
the embedded flow without cookies (Origin check instead of the CSRF cookie)
and the completion data the page posts to the merchant's site."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from customers.models import Customer
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import api_key_create
from tests.dashboard.test_settings_complete import _form
from tests.dashboard.test_staff_pages import _signed_in
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
BAD_ORIGINS = [
    "*",
    "https://*.example.com",
    "https://shop.example.com/checkout",
    "http://x y",
    "javascript:alert(1)",
    "ftp://shop.example.com",
    "https://user:pw@shop.example.com",
    "https://shop.example.com?x=1",
    "shop.example.com",
    "https://shop.example.com\x00",
    "",
]


def _shop(**tenant_kw: Any) -> tuple[Tenant, Plan, APIClient]:
    with world(NOW, locale="en", **tenant_kw) as w:
        plan = w.plan("monthly", amount=5_000)
        key = api_key_create(tenant=w.tenant, name="server", actor=ACTOR, now=w.now)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    return w.tenant, plan, api


def _domains(tenant: Tenant) -> list[str]:
    return list(Tenant.objects.get(pk=tenant.pk).embed_domains)


def test_the_account_api_sets_normalized_origins() -> None:
    tenant, _plan, api = _shop()
    assert api.get("/api/v1/account").json()["embed_domains"] == []
    response = api.patch(
        "/api/v1/account",
        {
            "embed_domains": [
                "https://Shop.Example.com/",
                "http://localhost:8080",
                "https://shop.example.com",
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["embed_domains"] == ["https://shop.example.com", "http://localhost:8080"]
    assert _domains(tenant) == ["https://shop.example.com", "http://localhost:8080"]


@pytest.mark.parametrize("bad", [*BAD_ORIGINS, 7, None, {"a": 1}])
def test_the_account_api_refuses_bad_origins(bad: Any) -> None:
    tenant, _plan, api = _shop()
    response = api.patch(
        "/api/v1/account", {"embed_domains": ["https://ok.example.com", bad]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"].startswith("embed_domains")
    assert _domains(tenant) == []


def test_the_account_api_refuses_too_many_origins() -> None:
    tenant, _plan, api = _shop()
    many = [f"https://s{i}.example.com" for i in range(21)]
    response = api.patch("/api/v1/account", {"embed_domains": many}, format="json")
    assert response.status_code == 400
    assert _domains(tenant) == []


@pytest.mark.parametrize("bad", [o for o in BAD_ORIGINS if o])
def test_the_settings_page_refuses_bad_origins_next_to_the_field(bad: str) -> None:
    tenant, _plan, _api = _shop()
    client = _signed_in("owner@acme.example")
    response = client.post(
        "/dashboard/settings/", _form(embed_domains=f"https://ok.example.com\n{bad}")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'name="embed_domains"', html)
    assert "is not an origin" in html or "Null characters are not allowed" in html
    assert _domains(tenant) == []


def test_the_settings_page_saves_one_origin_per_line() -> None:
    tenant, _plan, _api = _shop()
    client = _signed_in("owner@acme.example")
    response = client.post(
        "/dashboard/settings/",
        _form(
            locale="en", embed_domains="https://shop.example.com\r\n\r\nhttp://127.0.0.1:9000/\n"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _domains(tenant) == ["https://shop.example.com", "http://127.0.0.1:9000"]
    page = client.get("/dashboard/settings/").content.decode()
    assert "https://shop.example.com\nhttp://127.0.0.1:9000" in page


def test_checkout_pages_may_be_framed_by_the_allowed_sites_only() -> None:
    tenant, plan, _api = _shop(embed_domains=["https://shop.example.com"])
    page = Client().get(f"/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1")
    assert page.status_code == 200
    assert "frame-ancestors 'self' https://shop.example.com" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page
    # Every other page still refuses any frame.
    portal = Client().get(f"/t/{tenant.slug}/")
    assert "frame-ancestors 'none'" in portal["Content-Security-Policy"]
    assert portal["X-Frame-Options"] == "DENY"


def test_without_allowed_sites_only_our_own_pages_frame_the_checkout() -> None:
    tenant, plan, _api = _shop()
    page = Client().get(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    assert "frame-ancestors 'self';" in page["Content-Security-Policy"] + ";"
    assert page["X-Frame-Options"] == "SAMEORIGIN"


def _card(client: Client) -> str:
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
        content_type="application/json",
    )
    return str(response.json()["id"])


def _subscribe_form(client: Client) -> dict[str, str]:
    return {
        "quantity": "1",
        "name": "Ana Souza",
        "email": "ana@example.com",
        "tax_id": "529.982.247-25",
        "reference": _card(client),
        "method": "card",
    }


def test_the_embedded_flow_needs_no_cookie_and_ends_with_the_message_data() -> None:
    tenant, plan, _api = _shop(embed_domains=["https://shop.example.com"])
    client = Client(enforce_csrf_checks=True)
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    form = _subscribe_form(client)
    # Without our own Origin (a forged cross-site post): refused, nothing created.
    assert client.post(url, form).status_code == 403
    assert client.post(url, form, HTTP_ORIGIN="https://evil.example").status_code == 403
    with tenant_context(tenant):
        assert not Customer.objects.filter(tenant=tenant).exists()
    done = client.post(url, form, HTTP_ORIGIN="http://testserver")
    assert done.status_code == 200, done.content.decode()[:3000]
    with tenant_context(tenant):
        sub = Subscription.objects.get(tenant=tenant)
        customer = sub.customer
    html = done.content.decode()
    assert f'data-subscription="{sub.public_id}"' in html
    assert f'data-customer="{customer.public_id}"' in html
    assert '["https://shop.example.com"]' in html
    assert "js/checkout_embed.js" in html
    assert "frame-ancestors 'self' https://shop.example.com" in done["Content-Security-Policy"]
    assert not client.cookies.get("sessionid")  # nothing relied on a cookie


def test_outside_the_iframe_the_csrf_cookie_is_still_required() -> None:
    tenant, plan, _api = _shop()
    client = Client(enforce_csrf_checks=True)
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    assert (
        client.post(url, _subscribe_form(client), HTTP_ORIGIN="http://testserver").status_code
        == 403
    )
    with tenant_context(tenant):
        assert not Customer.objects.filter(tenant=tenant).exists()


def test_the_plan_page_shows_the_snippet_and_a_preview() -> None:
    tenant, plan, _api = _shop(embed_domains=["https://shop.example.com"])
    client = _signed_in("owner@acme.example")
    with tenant_context(tenant):
        Tenant.objects.filter(pk=tenant.pk).update(locale="en")
    page = client.get(f"/dashboard/catalog/plans/{plan.public_id}/")
    assert page.status_code == 200, page.status_code
    html = page.content.decode()
    embed = f"http://testserver/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    assert f'&lt;iframe src="{embed}"' in html
    assert f'height="720" src="{embed}"' in html
    assert "ciclo.checkout.completed" in html
    assert 'data-testid="embed-origin">https://shop.example.com<' in html


def _threeds_form(client: Client) -> dict[str, str]:
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": "4000002500003155", "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
        content_type="application/json",
    )
    return {**_subscribe_form(client), "reference": str(response.json()["id"])}


def test_3ds_in_the_plan_iframe_returns_with_a_signed_id_not_a_cookie() -> None:
    tenant, plan, _api = _shop(embed_domains=["https://shop.example.com"])
    client = Client(enforce_csrf_checks=True)
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    challenge = client.post(url, _threeds_form(client), HTTP_ORIGIN="http://testserver")
    assert challenge.status_code == 302
    location = challenge["Location"]
    assert location.startswith("/sandbox/authenticate/")
    assert not client.cookies.get("sessionid")  # no portal session inside the iframe
    # The issuer's page may be framed by the shop, and takes our Origin instead of a cookie.
    issuer = client.get(location)
    assert "frame-ancestors 'self' https://shop.example.com" in issuer["Content-Security-Policy"]
    assert "X-Frame-Options" not in issuer
    assert client.post(location, {"outcome": "approve"}).status_code == 403  # no Origin, no cookie
    with tenant_context(tenant):
        assert Subscription.objects.get(tenant=tenant).status == "incomplete"
    page = client.post(location, {"outcome": "approve"}, HTTP_ORIGIN="http://testserver")
    assert page.status_code == 200
    back = re.search(r'href="([^"]+)" data-testid="continue"', page.content.decode())
    assert back is not None
    done_url = back.group(1).replace("&amp;", "&")
    assert done_url.startswith(f"/t/{tenant.slug}/checkout/done/?embed=1&r=")
    # A fresh client: nothing but the signed id in the URL finds the subscriber.
    done = Client().get(done_url)
    assert done.status_code == 200
    with tenant_context(tenant):
        sub = Subscription.objects.select_related("customer").get(tenant=tenant)
    assert sub.status == "active"
    html = done.content.decode()
    assert f'data-subscription="{sub.public_id}"' in html
    assert f'data-customer="{sub.customer.public_id}"' in html
    assert 'data-testid="paid"' in html


def test_the_signed_return_is_refused_tampered_old_or_on_another_tenant() -> None:
    import time_machine

    tenant, plan, _api = _shop(embed_domains=["https://shop.example.com"])
    with world(NOW, slug="globex", locale="en") as other:
        pass
    client = Client()
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    with time_machine.travel("2026-06-01 15:00:00+00:00", tick=False):
        location = client.post(url, _threeds_form(client), HTTP_ORIGIN="http://testserver")[
            "Location"
        ]
    token = location.split("r%3D", 1)[1]
    from urllib.parse import unquote

    token = unquote(unquote(token))
    done = f"/t/{tenant.slug}/checkout/done/?embed=1&r="
    with time_machine.travel("2026-06-01 15:10:00+00:00", tick=False):
        assert b"ciclo-embed" in Client().get(done + token).content
        assert Client().get(done + token[:-2] + "xx").status_code == 302  # tampered
        wrong_slug = f"/t/{other.tenant.slug}/checkout/done/?embed=1&r={token}"
        assert Client().get(wrong_slug).status_code == 302
        assert Client().get(f"/t/{tenant.slug}/checkout/done/?r={token}").status_code == 302
    with time_machine.travel("2026-06-01 15:31:00+00:00", tick=False):
        assert Client().get(done + token).status_code == 302  # too old
