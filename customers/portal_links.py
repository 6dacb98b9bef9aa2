"""Signed links into the subscriber portal, for emails and API portal sessions.

A link names one customer of one tenant and is signed with the project's
secret; it expires (``PORTAL_LINK_MAX_AGE``). Opening it starts a portal
session for that customer only.

It lives with the customer it names, below the apps that send links
(notifications' messages, the API's portal sessions) and the portal that reads
them, so none of them imports another.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse

from customers.models import Customer

SALT = "ciclo.portal.link"
PAGES = ("home", "payment_methods", "invoices")


def portal_token(customer: Customer) -> str:
    # A random part makes every link distinct, so spending one (a link opens the
    # portal once) never spends another sent in the same second.
    return signing.dumps(
        {"c": customer.public_id, "t": customer.tenant_id, "n": secrets.token_urlsafe(8)},
        salt=SALT,
    )


def portal_token_read(token: str, *, max_age: int | None = None) -> dict[str, object] | None:
    """The token's payload, or None when it is forged or expired."""
    try:
        return signing.loads(token, salt=SALT, max_age=max_age or settings.PORTAL_LINK_MAX_AGE)
    except signing.BadSignature:
        return None


def portal_token_spend(token: str) -> bool:
    """Mark a (valid) token used; True only for the first caller. The mark lives
    as long as the token could be valid, so a link opens the portal once."""
    import hashlib

    from django.core.cache import cache

    key = f"portal:link:used:{hashlib.sha256(token.encode()).hexdigest()}"
    return bool(cache.add(key, 1, timeout=settings.PORTAL_LINK_MAX_AGE))


def portal_url(customer: Customer, *, page: str = "home") -> str:
    """An absolute link that signs ``customer`` into the portal and opens ``page``."""
    if page not in PAGES:
        raise ValueError(f"unknown portal page {page!r}")
    path = reverse(
        "portal:enter",
        kwargs={"tenant_slug": customer.tenant.slug, "token": portal_token(customer)},
    )
    return f"{settings.SITE_URL.rstrip('/')}{path}?next={page}"


def payment_method_update_url(customer: Customer) -> str:
    """Where a 'payment failed, update your card' message sends the subscriber."""
    return portal_url(customer, page="payment_methods")
