"""Tenant isolation over every API route.

Every route the router knows (lists, details, nested resources, extra actions,
every method each allows) is called with tenant B's key and tenant A's ids:
404 with the error shape every time, and not one of A's rows changes. Lists
with B's key never show an id of A's. A route whose object tenant A does not
have fails the test, so a new resource cannot slip past it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from tenants.context import tenant_context
from tests.api_contract.bodies import Bodies, fetch_schema
from tests.api_contract.routes import Route, discover, model_named, model_of
from tests.api_contract.worlds import ApiWorld, build_world, later, public_ids, snapshot
from tests.support.billing import utc

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = utc(2026, 3, 2, 15)
ERROR_FIELDS = {"type", "code", "message", "param"}
# The top-level resources issue 6 lists (nested ones hang off customers).
EXPECTED_PREFIXES = [
    "products",
    "plans",
    "customers",
    "subscriptions",
    "invoices",
    "credit_notes",
    "coupons",
    "payments",
    "refunds",
    "dunning_policies",
    "webhook_endpoints",
    "events",
    "test_clocks",
    "account",  # issue 13: the account's own settings, a singleton (no id)
    "checkout_sessions",  # issue 14
    "tax_rates",  # issue 16
    "collection_settings",  # a singleton (no id): boleto, bolepix, Pix Automático
]


@pytest.fixture
def two_tenants() -> tuple[ApiWorld, ApiWorld]:
    return build_world("acme", NOW), build_world("globex", NOW)


def _client(w: ApiWorld) -> APIClient:
    return w.setup.client()


def _known(w: ApiWorld) -> dict[str, Any]:
    """Values a write might take, pointing at ``w``'s own objects.

    Bodies are built from the operation's documented fields (``Bodies``): with
    B's objects in the body and A's id in the URL, only the URL is foreign.
    """
    return {
        **w.ids,
        "coupon": "WELCOME10",  # subscriptions take the code
        "_future": later(w.now, 40),
        "name": "Probe",
        "email": "probe@example.com",
        "description": "isolation probe",
        "metadata": {"probe": "isolation"},
        "amount": 500,
        "amount_minor": 500,
        "currency": "BRL",
        "quantity": 2,
        "reason": "requested_by_customer",
        "at_period_end": True,
        "frozen_time": later(w.now, 40),
        "url": "https://example.com/hooks",
        "success_url": "https://example.com/thanks",
    }


def _object_values(route: Route, owner: ApiWorld) -> dict[str, str] | str:
    """The URL parameters filled with ``owner``'s objects, or why that is impossible."""
    values: dict[str, str] = {}
    with tenant_context(owner.tenant):
        for kwarg in route.kwargs:
            if kwarg == route.lookup_kwarg:
                model = model_of(route.viewset)
                field = route.viewset.lookup_field
            else:
                model, field = model_named(kwarg), "public_id"
            if model is None:
                return f"cannot tell which model {kwarg!r} of {route} names"
            if field in ("pk", "id"):
                return f"{route} looks objects up by database id ({field}); ids must be public"
            obj = model.objects.for_tenant(owner.tenant).order_by("pk").first()  # type: ignore[attr-defined]
            if obj is None:
                return (
                    f"tenant A has no {model.__name__} for {route}: "
                    "add one to tests/api_contract/worlds.py build_world()"
                )
            values[kwarg] = str(getattr(obj, field))
    return values


def _methods(route: Route) -> list[str]:
    # HEAD mirrors GET without a body (DRF adds it to a route's actions on first
    # use); OPTIONS describes the route, not an object.
    return [m for m in route.actions if m not in ("head", "options")]


def _call(client: APIClient, method: str, url: str, body: dict[str, Any] | None) -> Any:
    call = getattr(client, method)
    if method == "get":
        return call(url)
    return call(url, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)


def _error_shape_problem(response: Any) -> str | None:
    try:
        body = response.json()
    except (ValueError, TypeError):
        return f"body is not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"error"}:
        return f"body is not {{'error': …}}: {body!r}"
    missing = ERROR_FIELDS - set(body["error"])
    return f"error lacks {sorted(missing)}: {body!r}" if missing else None


def test_the_router_has_routes_to_check() -> None:
    routes = discover()
    assert any(r.kwargs for r in routes), "no detail route discovered"
    assert any(not r.kwargs for r in routes), "no list route discovered"


@pytest.mark.parametrize("prefix", EXPECTED_PREFIXES)
def test_issue_resource_is_registered(prefix: str) -> None:
    """Every resource the issue lists is routed, so the tests below cover it."""
    from tests.api_contract.routes import registered_prefixes

    assert prefix in registered_prefixes()


def test_another_tenants_ids_get_404_on_every_route_and_change_nothing(
    two_tenants: tuple[ApiWorld, ApiWorld],
) -> None:
    a, b = two_tenants
    client_b = _client(b)
    bodies = Bodies(fetch_schema(client_b))
    known = _known(b)
    before = snapshot(a.tenant)
    problems: list[str] = []
    checked = 0

    for route in discover():
        if not route.kwargs:
            continue
        values = _object_values(route, a)
        if isinstance(values, str):
            problems.append(values)
            continue
        url = route.url(values)
        for method in _methods(route):
            response = _call(client_b, method, url, bodies.body(route, method, known))
            checked += 1
            label = f"{method.upper()} {url} ({route}.{route.actions[method]})"
            if response.status_code != 404:
                problems.append(f"{label}: {response.status_code} {response.content[:300]!r}")
            elif problem := _error_shape_problem(response):
                problems.append(f"{label}: {problem}")

    after = snapshot(a.tenant)
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not problems, "\n".join(problems)
    assert not changed, f"tenant A's rows changed in: {changed}"
    assert checked > 0

    # Not vacuous: the same retrieves with B's own ids answer 200 with the object.
    for route in discover():
        if route.kwargs and route.actions.get("get") == "retrieve":
            values = _object_values(route, b)
            assert not isinstance(values, str), values
            response = client_b.get(route.url(values))
            assert response.status_code == 200, (route.url(values), response.content[:300])
            assert values[route.lookup_kwarg] in json.dumps(response.json())


def test_lists_and_creates_with_another_tenants_ids_never_show_them(
    two_tenants: tuple[ApiWorld, ApiWorld],
) -> None:
    a, b = two_tenants
    client_b = _client(b)
    a_ids = public_ids(a.tenant)
    assert set(a.ids.values()) <= a_ids
    # Filters and bodies that point at A's objects: B still sees none of them.
    filters = {name: a.ids[name] for name in ("customer", "subscription", "plan", "invoice")}
    bodies = Bodies(fetch_schema(client_b))
    foreign = {**_known(b), **a.ids}
    before = snapshot(a.tenant)
    problems: list[str] = []
    lists = 0

    for route in discover():
        if route.kwargs:
            continue
        url = route.url({})
        for method in _methods(route):
            attempts: list[tuple[str, dict[str, Any] | None]]
            if method == "get":
                attempts = [(f"{url}?limit=100", None), (f"{url}?limit=100&{_qs(filters)}", None)]
                lists += 1
            else:
                attempts = [(url, bodies.body(route, method, foreign))]
            for target, payload in attempts:
                response = _call(client_b, method, target, payload)
                label = f"{method.upper()} {target} ({route}.{route.actions[method]})"
                text = response.content.decode(errors="replace")
                if response.status_code >= 500:
                    problems.append(f"{label}: {response.status_code} {text[:300]}")
                elif response.status_code < 300:
                    if leaked := sorted(i for i in a_ids if i in text):
                        problems.append(f"{label}: shows tenant A's {leaked}")
                elif response.status_code not in (400, 404):
                    problems.append(f"{label}: {response.status_code} {text[:300]}")
                elif problem := _error_shape_problem(response):
                    problems.append(f"{label}: {problem}")

    after = snapshot(a.tenant)
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not problems, "\n".join(problems)
    assert not changed, f"tenant A's rows changed in: {changed}"
    assert lists > 0


def _qs(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
