"""Opting out of optional (marketing) messages; legally required notices
(invoices, receipts, payment problems, contract changes) are always sent.

Every optional email carries a signed one-click unsubscribe link
(``/t/<tenant>/unsubscribe/<token>/``) and the ``List-Unsubscribe`` headers.
The token names one customer of one tenant; it does not expire, as mail
clients may use it long after the message arrived. The opt-out itself is
written by ``customers.services.customer_marketing_opt_out``.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from customers.models import Customer
from tenants.models import Tenant

SALT = "ciclo.notifications.unsubscribe"


def unsubscribe_token(customer: Customer) -> str:
    return signing.dumps({"c": customer.public_id, "t": customer.tenant_id}, salt=SALT)


def unsubscribe_url(customer: Customer) -> str:
    path = reverse(
        "portal:unsubscribe",
        kwargs={"tenant_slug": customer.tenant.slug, "token": unsubscribe_token(customer)},
    )
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def customer_for_token(*, tenant: Tenant, token: str) -> Customer | None:
    """The customer a token names, if it is genuine and of this tenant."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("t") != tenant.pk:
        return None
    public_id = payload.get("c")
    if not isinstance(public_id, str):
        return None
    return Customer.objects.filter(tenant=tenant, public_id=public_id).first()
