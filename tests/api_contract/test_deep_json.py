"""Issue 12, finding 4: a body nested 10,000 deep is bad input, never a 500.

Over every API route (with the tenant's own objects in the URL, so the body is
really read) the answer is 400 ``parse_error`` in the API's error shape; over
every other URL of the URL conf (dashboard, portal, sandbox gateway, webhooks)
it is never a 5xx; the gateways' webhook parsers refuse it when signed."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from billing.gateways.base import InvalidWebhook
from billing.gateways.sandbox import SIGNATURE_HEADER, SandboxGateway, _secret
from billing.gateways.stripe import StripeGateway
from core import safejson
from tests.api_contract.routes import discover
from tests.api_contract.test_isolation import _error_shape_problem, _methods, _object_values
from tests.api_contract.worlds import ApiWorld, build_world
from tests.support.billing import utc
from tests.support.routes import fill_groups

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = utc(2026, 3, 2, 15)
DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


@pytest.fixture
def acme_world() -> ApiWorld:
    return build_world("acme", NOW)


def test_the_depth_check_skips_brackets_inside_strings() -> None:
    text = '{"note": "' + "[{" * 500 + '\\"' + '", "list": [[1]]}'

    assert safejson.loads(text)["list"] == [[1]]
    assert safejson.exceeds_depth(DEEP_ARRAY)
    assert safejson.exceeds_depth(DEEP_OBJECT.decode())
    with pytest.raises(ValueError, match="deeper than 64"):
        safejson.loads(DEEP_OBJECT)


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_every_api_route_answers_400_parse_error(acme_world: ApiWorld, body: bytes) -> None:
    client = acme_world.setup.client()
    problems = []
    tried = parse_errors = 0
    for route in discover():
        values = _object_values(route, acme_world)
        assert isinstance(values, dict), values
        url = route.url(values)
        for method in _methods(route):
            if method in ("get", "delete"):  # no body: nothing parsed
                continue
            tried += 1
            response = client.generic(
                method.upper(),
                url,
                body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
            # An action that takes no body (set_default, pay, …) never reads it.
            problem = _error_shape_problem(response) if response.status_code >= 400 else None
            if response.status_code >= 500 or problem:
                problems.append(f"{method.upper()} {url}: {response.status_code} {problem}")
            elif response.status_code == 400:
                if response.json()["error"]["code"] == "parse_error":
                    parse_errors += 1
                else:
                    problems.append(f"{method.upper()} {url}: {response.json()}")
    assert tried > 30
    assert problems == []
    assert parse_errors > 20


def _urls(resolvers: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _urls(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _fill(route: str, slug: str) -> str:
    """A concrete path for a route: slugs name the tenant, other parameters junk."""
    path = fill_groups(route, lambda _name: "x1")
    path = re.sub(r"<(?:slug:)?tenant_slug>", slug, path)
    path = re.sub(r"<slug:gateway>", "sandbox", path)
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<(?:\w+:)?\w+>", "x1", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def test_no_url_of_the_url_conf_answers_5xx(acme_world: ApiWorld) -> None:
    from tests.conftest import make_tenant

    staff = make_tenant("globex")  # a signed-in owner, for the dashboard's views
    client = Client()
    client.force_login(staff.owner)
    problems = []
    tried = 0
    for route, _pattern in _urls(get_resolver().url_patterns):
        if route.startswith(("api/v1/", "static/", "media/")):
            continue  # the API: above, with real objects
        path = _fill(route, "acme")
        for method in ("POST", "PUT", "PATCH"):
            tried += 1
            response = client.generic(method, path, DEEP_ARRAY, content_type="application/json")
            if response.status_code >= 500:
                problems.append(f"{method} {path}: {response.status_code}")
    assert tried > 50
    assert problems == []


def test_the_sandbox_tokenizer_answers_400(db: None) -> None:
    response = Client().post("/sandbox/tokens", DEEP_OBJECT, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_signed_webhook_nested_too_deep_is_refused_by_each_gateway(db: None) -> None:
    ts = int(time.time())
    signature = hmac.new(_secret(), f"{ts}.".encode() + DEEP_OBJECT, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidWebhook):
        SandboxGateway().parse_webhook(
            body=DEEP_OBJECT, headers={SIGNATURE_HEADER: f"t={ts},v1={signature}"}
        )
    response = Client().post(
        "/webhooks/sandbox/",
        DEEP_OBJECT,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=f"t={ts},v1={signature}",
    )
    assert response.status_code == 400

    secret = "whsec_test_ciclo"
    header = stripe.WebhookSignature.generate_signature_header(DEEP_OBJECT.decode(), secret)
    gateway = StripeGateway("sk_test_x", secret, "http://127.0.0.1:9", timeout=1)
    with pytest.raises(InvalidWebhook):
        gateway.parse_webhook(body=DEEP_OBJECT, headers={"Stripe-Signature": header})
