"""The portal's sign-in state: one customer of one tenant per browser session.

Every way into the portal (a signed link, a code or magic link, a checkout that
just succeeded) ends in ``portal_sign_in``; every page reads the subscriber back
with ``session_customer``, which refuses a session opened at another tenant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from core import clock
from core.actors import Actor
from customers.models import Customer
from tenants import audit
from tenants.models import Tenant

SESSION_KEY = "portal_customer"
# Every way in, as the audit log names it.
SIGN_IN_METHODS = (
    "code",
    "magic_link",
    "password",
    "google",
    "api_session",
    "link",
    "checkout",
)


def portal_sign_in(
    request: HttpRequest, *, tenant: Tenant, customer: Customer, method: str = "link"
) -> None:
    """Hold ``customer`` in this browser's session (a new session key, so a key
    fixed before sign-in is worthless); ``method`` says how they proved who they are."""
    if customer.tenant_id != tenant.pk:
        raise ValueError("A portal session holds a customer of its own tenant only.")
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "tenant": tenant.pk,
        "customer": customer.public_id,
        "method": method,
    }
    audit.record(
        tenant=tenant,
        actor=Actor.subscriber(customer),
        action="portal.signed_in",
        target=customer,
        changes={"method": method},
        at=clock.now(),
    )


def portal_sign_in_failed(
    *,
    tenant: Tenant,
    method: str,
    customer: Customer | None = None,
    email: str = "",
    reason: str = "",
) -> None:
    """Audit a refused attempt (wrong code, wrong password, refused Google
    account). The actor is who it claimed to be, unproven: no actor id; the
    target is the customer it was aimed at when there is one, so the attempt
    shows in their timeline."""
    if customer is not None and customer.tenant_id != tenant.pk:
        customer = None
    audit.record(
        tenant=tenant,
        actor=Actor(
            "subscriber",
            "",
            (email or (customer.email if customer else "")).replace("\x00", "")[:200],
        ),
        action="portal.sign_in_failed",
        target=customer,
        changes={"method": method, **({"reason": reason} if reason else {})},
        at=clock.now(),
    )


def portal_sign_out(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop("portal_return_url", None)


def session_customer(request: HttpRequest, tenant: Tenant | None) -> Customer | None:
    """The signed-in subscriber of ``tenant``, or None (no session, or one of another tenant)."""
    held = request.session.get(SESSION_KEY)
    if not held or tenant is None or held.get("tenant") != tenant.pk:
        return None
    return Customer.objects.filter(tenant=tenant, public_id=held.get("customer")).first()


# --- Portal sessions for integrators (``POST /api/v1/portal_sessions``) ----------
#
# A short-lived, single-use URL that signs one customer in and opens the portal,
# optionally on one flow. The URL's secret is random and its state lives in the
# cache: opening it deletes that state, so only the first request gets in.

SESSION_TTL = 5 * 60
FLOWS = ("payment_method_update", "subscription_cancel", "subscription_update")
RETURN_URL_KEY = "portal_return_url"


@dataclass(frozen=True, slots=True)
class PortalSession:
    id: str
    secret: str
    customer: Customer
    flow: str
    subscription_id: str
    return_url: str
    expires_at: datetime


def _session_cache_key(tenant_id: int, secret: str) -> str:
    return f"portal:apisession:{tenant_id}:{secret}"


def portal_session_create(
    *,
    tenant: Tenant,
    customer: Customer,
    flow: str = "",
    subscription_id: str = "",
    return_url: str = "",
    now: datetime,
) -> PortalSession:
    if customer.tenant_id != tenant.pk:
        raise ValueError("A portal session holds a customer of its own tenant only.")
    if flow and flow not in FLOWS:
        raise ValueError(f"unknown flow {flow!r}")
    session = PortalSession(
        id=f"bps_{secrets.token_hex(12)}",
        secret=secrets.token_urlsafe(32),
        customer=customer,
        flow=flow,
        subscription_id=subscription_id,
        return_url=return_url,
        expires_at=now + timedelta(seconds=SESSION_TTL),
    )
    cache.set(
        _session_cache_key(tenant.pk, session.secret),
        {
            "id": session.id,
            "customer": customer.public_id,
            "flow": flow,
            "subscription": subscription_id,
            "return_url": return_url,
        },
        timeout=SESSION_TTL,
    )
    return session


def portal_session_url(session: PortalSession) -> str:
    path = reverse(
        "portal:session",
        kwargs={"tenant_slug": session.customer.tenant.slug, "secret": session.secret},
    )
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _flow_target(slug: str, flow: str, subscription_id: str) -> str:
    """The portal page of a flow: by URL name when that page exists, else its path."""
    names = {
        "payment_method_update": ("payment_methods", {}, "payment-methods/"),
        "subscription_cancel": (
            "subscription_cancel",
            {"sub_id": subscription_id},
            f"subscriptions/{subscription_id}/cancel/",
        ),
        "subscription_update": (
            "subscription_change",
            {"sub_id": subscription_id},
            f"subscriptions/{subscription_id}/change/",
        ),
    }
    if flow not in names:
        return reverse("portal:home", kwargs={"tenant_slug": slug})
    name, kwargs, path = names[flow]
    try:
        return reverse(f"portal:{name}", kwargs={"tenant_slug": slug, **kwargs})
    except NoReverseMatch:
        return f"/t/{slug}/{path}"


def portal_session_enter(request: HttpRequest, *, tenant: Tenant, secret: str) -> str | None:
    """Spend the session's URL: sign its customer in and return where to go;
    None when it is unknown, expired, spent, or of another tenant."""
    if not secret or len(secret) > 128:
        return None
    key = _session_cache_key(tenant.pk, secret)
    held = cache.get(key)
    if not held or not cache.delete(key):
        return None
    customer = Customer.objects.filter(tenant=tenant, public_id=held["customer"]).first()
    if customer is None:
        return None
    portal_sign_in(request, tenant=tenant, customer=customer, method="api_session")
    if held.get("return_url"):
        request.session[RETURN_URL_KEY] = held["return_url"]
    return _flow_target(tenant.slug, held.get("flow", ""), held.get("subscription", ""))
