"""Reads for the dashboard's customer pages and its global search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.models import BalanceTransaction, Invoice, PaymentAttempt
from customers.models import Customer, CustomerNote, PaymentMethod
from dunning.models import DunningCase
from notifications.models import MessageDelivery, WebhookDelivery
from subscriptions.models import Subscription, SubscriptionStatus
from tenants.models import AuditEntry, Tenant

PAGE_SIZE = 25
_MASK = re.compile(r"[\s.\-/]")
LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
DELINQUENT_STATUSES = (SubscriptionStatus.PAST_DUE,)


def _tax_id_key(q: str) -> str:
    """The query as a stored tax id would hold it (no mask, upper case), or ""
    when it cannot be part of one."""
    key = _MASK.sub("", q).upper()
    return key if key.isalnum() and sum(c.isdigit() for c in key) >= 3 else ""


def customer_matches(q: str) -> Q:
    """Customers whose name, email, CPF/CNPJ (typed with or without its mask) or id match ``q``."""
    q = q.strip()
    match = Q(name__icontains=q) | Q(email__icontains=q) | Q(public_id__iexact=q)
    key = _tax_id_key(q)
    if key:
        match |= Q(tax_id__contains=key)
    return match


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    subscription: str = ""  # "active" | "none"
    delinquent: bool = False
    mode: str = ""  # "live" | "test"


def customers_filtered(*, tenant: Tenant, filters: CustomerFilters) -> QuerySet[Customer]:
    rows = Customer.objects.for_tenant(tenant)
    if filters.q.strip():
        rows = rows.filter(customer_matches(filters.q))
    live = Subscription.objects.filter(
        tenant=tenant, customer=OuterRef("pk"), status__in=LIVE_STATUSES
    )
    if filters.subscription == "active":
        rows = rows.filter(Exists(live))
    elif filters.subscription == "none":
        rows = rows.exclude(Exists(live))
    if filters.delinquent:
        rows = rows.filter(
            Exists(
                Subscription.objects.filter(
                    tenant=tenant, customer=OuterRef("pk"), status__in=DELINQUENT_STATUSES
                )
            )
            | Exists(
                DunningCase.objects.filter(
                    tenant=tenant, customer=OuterRef("pk"), status=DunningCase.Status.OPEN
                )
            )
        )
    if filters.mode == "live":
        rows = rows.filter(test_clock__isnull=True)
    elif filters.mode == "test":
        rows = rows.filter(test_clock__isnull=False)
    return rows.select_related("test_clock").order_by("-created_at", "-id")


@dataclass(frozen=True)
class SearchResults:
    customers: list[Customer]
    invoices: list[Invoice]
    subscriptions: list[Subscription]

    @property
    def empty(self) -> bool:
        return not (self.customers or self.invoices or self.subscriptions)


def global_search(*, tenant: Tenant, q: str, limit: int = 20) -> SearchResults:
    q = q.strip()
    if not q:
        return SearchResults([], [], [])
    customers = list(
        Customer.objects.for_tenant(tenant)
        .filter(customer_matches(q))
        .order_by("-created_at", "-id")[:limit]
    )
    invoices = list(
        Invoice.objects.filter(tenant=tenant)
        .filter(Q(number__iexact=q) | Q(number__icontains=q) | Q(public_id__iexact=q))
        .select_related("customer")
        .order_by("-created_at", "-id")[:limit]
    )
    subscriptions = list(
        Subscription.objects.filter(tenant=tenant, public_id__iexact=q)
        .select_related("customer", "plan")
        .order_by("-created_at")[:limit]
    )
    return SearchResults(customers, invoices, subscriptions)


def customer_get(*, tenant: Tenant, public_id: str) -> Customer | None:
    return Customer.objects.for_tenant(tenant).filter(public_id=public_id).first()


def _action_label(action: str) -> str:
    """What an audit action means to a merchant; the code itself when unknown."""
    labels = {
        "customer.created": _("Customer created"),
        "customer.updated": _("Profile edited"),
        "customer.deleted": _("Customer deleted"),
        "customer.balance_adjusted": _("Credit balance adjusted"),
        "customer.portal_link_sent": _("Portal link emailed"),
        "customer.marketing_opted_out": _("Opted out of marketing messages"),
        "customer.marketing_opted_in": _("Opted in to marketing messages"),
        "customer.payment_method_attached": _("Payment method added"),
        "customer.payment_method_detached": _("Payment method removed"),
        "customer.note_added": _("Note added"),
        "customer.data_exported": _("Personal data downloaded by the subscriber"),
        "customer.erasure_requested": _("Personal data erased on request"),
        "customer.marketing_preferences_changed": _("Marketing preferences changed"),
        "customer.portal_password_set": _("Portal password set"),
        "customer.portal_password_changed": _("Portal password changed"),
        "portal.signed_in": _("Signed in to the portal"),
        "portal.sign_in_failed": _("Failed sign-in to the portal"),
    }
    return str(labels.get(action, action))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    label: str
    url: str = ""


def _customer_url(customer: Customer) -> str:
    return reverse("dashboard:customer_detail", kwargs={"public_id": customer.public_id})


def customer_timeline(
    *, tenant: Tenant, customer: Customer, limit: int = 200
) -> list[TimelineEntry]:
    """Everything that happened to the customer, newest first, in one list:
    subscriptions, invoices, payments, dunning cases, balance moves, emails and
    SMS, webhooks about the customer or their documents, and audit entries."""
    own = _customer_url(customer)
    subs = list(
        Subscription.objects.filter(tenant=tenant, customer=customer).select_related("plan")
    )
    invoices = list(Invoice.objects.filter(tenant=tenant, customer=customer))
    entries = [
        TimelineEntry(
            sub.created_at,
            _("Subscription"),
            _("Subscription %(id)s to %(plan)s (%(status)s)")
            % {"id": sub.public_id, "plan": sub.plan, "status": sub.get_status_display()},
            reverse("dashboard:subscription", kwargs={"sub_id": sub.public_id}),
        )
        for sub in subs
    ]
    entries += [
        TimelineEntry(
            inv.issued_at or inv.created_at,
            _("Invoice"),
            _("Invoice %(number)s (%(status)s)")
            % {"number": inv.number or inv.public_id, "status": inv.get_status_display()},
            reverse("dashboard:invoice", kwargs={"ref": inv.public_id}),
        )
        for inv in invoices
    ]
    entries += [
        TimelineEntry(
            pay.settled_at or pay.created_at,
            _("Payment"),
            _("Payment %(id)s: %(status)s")
            % {"id": pay.public_id, "status": pay.get_status_display()},
            reverse("dashboard:invoice", kwargs={"ref": pay.invoice.public_id}),
        )
        for pay in PaymentAttempt.objects.filter(
            tenant=tenant, invoice__customer=customer
        ).select_related("invoice")
    ]
    entries += [
        TimelineEntry(
            case.opened_at,
            _("Dunning"),
            _("Dunning case %(id)s (%(status)s)")
            % {"id": case.public_id, "status": case.get_status_display()},
            reverse("dunning:case_detail", kwargs={"public_id": case.public_id}),
        )
        for case in DunningCase.objects.filter(tenant=tenant, customer=customer)
    ]
    entries += [
        TimelineEntry(row.at, _("Balance"), row.description, own + "#balance")
        for row in BalanceTransaction.objects.filter(tenant=tenant, customer=customer)
    ]
    entries += [
        TimelineEntry(
            msg.sent_at or msg.created_at,
            msg.get_channel_display(),
            _("%(template)s to %(recipient)s (%(status)s)")
            % {
                "template": msg.template,
                "recipient": msg.recipient,
                "status": msg.get_status_display(),
            },
            reverse("notifications:messages"),
        )
        for msg in MessageDelivery.objects.filter(tenant=tenant, customer=customer)
    ]
    subjects = [customer.public_id, *(s.public_id for s in subs), *(i.public_id for i in invoices)]
    entries += [
        TimelineEntry(
            hook.created_at,
            _("Webhook"),
            _("%(event)s to %(url)s (%(status)s)")
            % {
                "event": hook.event.type,
                "url": hook.endpoint.url,
                "status": hook.get_status_display(),
            },
            reverse(
                "notifications:webhook_detail", kwargs={"endpoint_id": hook.endpoint.public_id}
            ),
        )
        for hook in WebhookDelivery.objects.filter(
            tenant=tenant, event__subject_id__in=subjects
        ).select_related("event", "endpoint")
    ]
    entries += [
        TimelineEntry(
            entry.at,
            _("Audit"),
            _("%(action)s by %(actor)s")
            % {"action": _action_label(entry.action), "actor": entry.actor_label},
            reverse("dashboard:audit"),
        )
        for entry in AuditEntry.objects.filter(
            tenant=tenant, target_type="customers.customer", target_id=str(customer.pk)
        ).exclude(action="customer.note_added")  # the note itself is in the timeline
    ]
    entries += [
        TimelineEntry(
            note.created_at,
            _("Note"),
            _("%(author)s: %(text)s")
            % {"author": note.author_label or _("staff"), "text": note.text},
            own + "#notes",
        )
        for note in customer_notes(tenant=tenant, customer=customer, limit=limit)
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def customer_notes(*, tenant: Tenant, customer: Customer, limit: int = 50) -> list[CustomerNote]:
    return list(
        CustomerNote.objects.for_tenant(tenant)
        .filter(customer=customer)
        .order_by("-created_at", "-id")[:limit]
    )


def customer_summary(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    """The detail page's sections."""
    ledger = list(
        BalanceTransaction.objects.filter(tenant=tenant, customer=customer).order_by("-at", "-id")
    )
    balances: dict[str, int] = {}
    for row in ledger:
        balances[row.currency] = balances.get(row.currency, 0) + row.amount_minor
    return {
        "payment_methods": list(
            PaymentMethod.objects.for_tenant(tenant)
            .filter(customer=customer, detached_at__isnull=True)
            .order_by("-created_at", "-id")
        ),
        "ledger": ledger[:50],
        "balances": sorted(balances.items()),
        "subscriptions": list(
            Subscription.objects.filter(tenant=tenant, customer=customer)
            .select_related("plan")
            .order_by("-created_at")
        ),
        "invoices": list(
            Invoice.objects.filter(tenant=tenant, customer=customer).order_by("-created_at")[:50]
        ),
        "payments": list(
            PaymentAttempt.objects.filter(tenant=tenant, invoice__customer=customer)
            .select_related("invoice")
            .order_by("-created_at")[:50]
        ),
        "notes": customer_notes(tenant=tenant, customer=customer),
        "dunning_cases": list(
            DunningCase.objects.filter(tenant=tenant, customer=customer).order_by("-opened_at")
        ),
    }
