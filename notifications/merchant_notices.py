"""What the merchant's own team is told by email, from the outbox (beside the
webhooks and the events list): a payer who cancelled their Pix Automático
authorisation at their bank, which stops that subscription's automatic billing.

Sent to the tenant's owners and admins and its support address, once per event
(the dispatcher plans each event once), after the dispatch commits, like the
"webhook endpoint disabled" notice."""

from __future__ import annotations

from datetime import datetime

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tenants.context import tenant_context
from tenants.models import Event, Membership, Tenant
from tenants.permissions import Role

logger = structlog.get_logger(__name__)


def wants_notice(event: Event) -> bool:
    data = event.data if isinstance(event.data, dict) else {}
    return event.type == "pix_mandate.cancelled" and data.get("status") == "cancelled_by_payer"


def plan_merchant_notices(event: Event, *, now: datetime) -> None:
    if not wants_notice(event):
        return
    tenant_id, event_id = event.tenant_id, event.pk
    transaction.on_commit(lambda: payer_cancelled_notify(tenant_id=tenant_id, event_id=event_id))


def merchant_recipients(tenant: Tenant) -> list[str]:
    recipients = list(
        Membership.objects.filter(tenant=tenant, role__in=[Role.OWNER, Role.ADMIN])
        .order_by("pk")
        .values_list("user__email", flat=True)
    )
    if tenant.support_email:
        recipients.append(tenant.support_email)
    return list(dict.fromkeys(r for r in recipients if r))


def payer_cancelled_notify(*, tenant_id: int, event_id: int) -> None:
    """Email the team that a payer cancelled their Pix Automático mandate."""
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        event = Event.objects.filter(tenant=tenant, pk=event_id).first()
        recipients = merchant_recipients(tenant)
        if event is None or not recipients:
            return
        from customers.models import Customer

        data = event.data
        customer = Customer.objects.filter(tenant=tenant, public_id=data.get("customer")).first()
        who = (customer.name or customer.email) if customer is not None else data.get("customer")
        sub_id = str(data.get("subscription") or "")
        link = settings.SITE_URL.rstrip("/") + reverse(
            "dashboard:subscription", kwargs={"sub_id": sub_id}
        )
        with translation.override(tenant.locale):
            subject = _("Pix Automático cancelled by the payer: %(who)s") % {"who": who}
            body = _(
                "%(who)s cancelled the Pix Automático authorisation %(mandate)s of "
                "subscription %(subscription)s at their bank.\n\n"
                "No more debits will be instructed under it. The subscription's next "
                "invoice goes to the Pix Automático dunning schedule unless the subscriber "
                "chooses another way to pay; they have been told so.\n\n"
                "The subscription: %(link)s"
            ) % {
                "who": who,
                "mandate": data.get("pix_mandate"),
                "subscription": sub_id,
                "link": link,
            }
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # the event, its webhook and the dashboard still say so
        logger.exception("merchant_notice.failed", event_id=event_id)
