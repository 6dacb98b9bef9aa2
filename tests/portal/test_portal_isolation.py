"""Every portal URL (discovered from the URL conf, ``portal`` namespace), tried by a
signed-in subscriber of merchant A with another A subscriber's ids and with
merchant B's ids, and on B's slug: refused, and nothing of anyone else changed.

A route without an expectation here fails the test: add it to ``ROUTES``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import Invoice
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_url
from subscriptions.models import Subscription
from tenants.context import platform_access
from tests.support.billing import utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)

# What a route is: "subscriber" pages need a session of this merchant; "public"
# ones are the ways in (they take a token, never a session's word).
ROUTES: dict[str, str] = {
    "home": "public",  # the branded landing without a session
    "sign_in": "public",
    "sign_in_code": "public",
    "sign_in_link": "public",
    "sign_in_password": "public",
    "google_start": "public",
    "google_callback": "public",
    "profile_password": "subscriber",
    "enter": "public",
    "session": "public",
    "unsubscribe": "public",
    "invoices": "subscriber",
    "invoice_pdf": "subscriber",
    "invoice_segunda_via": "subscriber",
    "payment_methods": "subscriber",
    "payment_method_action": "subscriber",
    "preferences": "subscriber",
    "privacy": "subscriber",
    "privacy_export": "subscriber",
    "privacy_erase": "subscriber",
    "leave": "public",
    "profile": "subscriber",
    "profile_email": "subscriber",
    "profile_email_confirm": "subscriber",
    "profile_email_link": "public",
    "subscriptions": "subscriber",
    "subscription": "subscriber",
    "subscription_cancel": "subscriber",
    "subscription_change": "subscriber",
    "invoice_detail": "subscriber",
    "invoice_pay": "subscriber",
    "invoice_pay_card": "subscriber",
    "billing_history": "subscriber",
    "subscription_pause": "subscriber",
    "subscription_resume": "subscriber",
    "subscription_cancel_undo": "subscriber",
    "subscription_payment_method": "subscriber",
    "subscription_pix_automatico": "subscriber",
}


def _portal_patterns() -> list[tuple[str, list[str]]]:
    """(route name, its parameters besides the slug) for every portal route."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns: Any, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace == "portal" and p.name:
                found.append((p.name, [k for k in p.pattern.converters if k != "tenant_slug"]))

    walk(get_resolver().url_patterns, None)
    return found


def _fingerprint() -> str:
    with platform_access():
        rows: list[Any] = [
            list(Customer.objects.order_by("pk").values()),
            list(PaymentMethod.objects.order_by("pk").values()),
            list(Subscription.objects.order_by("pk").values()),
            list(Invoice.objects.order_by("pk").values()),
        ]
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def _ids(customer: Customer) -> dict[str, str]:
    with platform_access():
        invoice = Invoice.objects.filter(customer=customer).first()
        sub = Subscription.objects.filter(customer=customer).first()
        method = PaymentMethod.objects.filter(customer=customer).first()
    assert invoice
    assert sub
    assert method
    return {
        "invoice_id": invoice.public_id,
        "sub_id": sub.public_id,
        "subscription_id": sub.public_id,
        "method_id": method.public_id,
    }


def _method(w: Any, customer: Customer) -> None:
    PaymentMethod.objects.create(
        tenant=w.tenant,
        customer=customer,
        kind="card",
        gateway="sandbox",
        token=f"tok_{customer.public_id}",
        brand="visa",
        last4="4242",
    )


def test_every_portal_route_has_an_expectation() -> None:
    missing = [name for name, _ in _portal_patterns() if name not in ROUTES]
    assert not missing, f"portal routes without an isolation expectation: {missing}"


def test_a_subscriber_reaches_no_one_elses_rows_and_no_other_merchant() -> None:
    with world(NOW, slug="acme") as a:
        plan = a.plan()
        ana, bia = a.customer("Ana"), a.customer("Bia")
        for c in (ana, bia):
            _method(a, c)
            a.subscribe(plan, customer=c)
    with world(NOW, slug="other") as b:
        bob = b.customer("Bob")
        _method(b, bob)
        b.subscribe(b.plan(), customer=bob)

    def enter() -> Client:
        # Each link opens the portal once: a new one for each new session.
        url = portal_url(ana)
        fresh = Client()
        assert fresh.get(url[url.index("/t/") :].split("?")[0]).status_code == 302
        return fresh

    client = enter()
    before = _fingerprint()
    tried = 0
    for name, params in _portal_patterns():
        kind = ROUTES[name]
        for foreign in (_ids(bia), _ids(bob)):
            values = {p: foreign.get(p, "default") for p in params}
            path_a = reverse(f"portal:{name}", kwargs={"tenant_slug": "acme", **values})
            path_b = reverse(f"portal:{name}", kwargs={"tenant_slug": "other", **values})
            for method in ("get", "post"):
                if params and any(p in foreign for p in params):
                    # Another subscriber's id at my own merchant: not found.
                    r = getattr(client, method)(path_a)
                    assert r.status_code in (400, 403, 404, 405), (name, method, r.status_code)
                    tried += 1
                if kind == "subscriber":
                    # My session is no key to the other merchant's portal.
                    r = getattr(client, method)(path_b)
                    assert r.status_code in (403, 404, 405), (name, method, r.status_code)
                    tried += 1
        # Leaving ends the session: sign in again for the next routes.
        if name == "leave" or kind == "public":
            client = enter()
    assert tried > 20
    assert _fingerprint() == before
