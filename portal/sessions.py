"""The portal's sign-in state: one customer of one tenant per browser session.

Every way into the portal (a signed link, a code or magic link, a checkout that
just succeeded) ends in ``portal_sign_in``; every page reads the subscriber back
with ``session_customer``, which refuses a session opened at another tenant.
"""

from __future__ import annotations

from django.http import HttpRequest

from customers.models import Customer
from tenants.models import Tenant

SESSION_KEY = "portal_customer"


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


def portal_sign_out(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def session_customer(request: HttpRequest, tenant: Tenant | None) -> Customer | None:
    """The signed-in subscriber of ``tenant``, or None (no session, or one of another tenant)."""
    held = request.session.get(SESSION_KEY)
    if not held or tenant is None or held.get("tenant") != tenant.pk:
        return None
    return Customer.objects.filter(tenant=tenant, public_id=held.get("customer")).first()
