"""Dashboard actions that send something rather than change the books."""

from __future__ import annotations

from datetime import datetime

from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import ValidationFailed
from customers.models import Customer
from customers.portal_links import portal_url
from notifications.email import sender_for
from tenants import audit
from tenants.models import Tenant


def portal_link_email(*, tenant: Tenant, customer: Customer, actor: Actor, now: datetime) -> str:
    """Email the customer a signed link into their portal, in their language,
    from the tenant's name; returns the address it went to."""
    if not customer.email:
        raise ValidationFailed("This customer has no email address: add one first.", param="email")
    link = portal_url(customer)
    with translation.override(customer.locale or tenant.locale or "en"):
        subject = _("Your account at %(tenant)s") % {"tenant": tenant.name}
        body = _(
            "Hello %(name)s,\n\nOpen your account at %(tenant)s to see your subscriptions, "
            "invoices and payment methods:\n\n%(link)s\n\nThe link is personal: do not share it."
        ) % {"name": customer.name, "tenant": tenant.name, "link": link}
    send_mail(subject, body, sender_for(tenant), [customer.email])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.portal_link_sent",
        target=customer,
        changes={"to": "email"},
        at=now,
    )
    return customer.email
