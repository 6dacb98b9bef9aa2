"""Opting out of optional (marketing) messages; legally required notices
(invoices, receipts, payment problems, contract changes) are always sent.

Every optional email carries a signed one-click unsubscribe link
(``/t/<tenant>/unsubscribe/<token>/``) and the ``List-Unsubscribe`` headers.
The token names one customer of one tenant; it does not expire, as mail
clients may use it long after the message arrived.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from core.actors import Actor
from core.errors import NotFound
from customers.models import Customer
from tenants import audit
from tenants.models import Tenant
from tenants.outbox import emit

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


@transaction.atomic
def customer_marketing_opt_out(
    *, tenant: Tenant, customer_id: int, actor: Actor, now: datetime, opted_out: bool = True
) -> Customer:
    """Opt the customer out of (or back into) optional messages. Idempotent:
    opting out twice keeps the first time."""
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    if (customer.marketing_opted_out_at is not None) == opted_out:
        return customer
    customer.marketing_opted_out_at = now if opted_out else None
    customer.save(update_fields=["marketing_opted_out_at"])
    emit(
        tenant_id=tenant.pk,
        type="customer.updated",
        at=now,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "marketing_opt_out": opted_out},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.marketing_opted_out" if opted_out else "customer.marketing_opted_in",
        target=customer,
        at=now,
        changes={"marketing_opt_out": opted_out},
    )
    return customer
