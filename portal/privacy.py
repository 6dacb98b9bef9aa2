"""A subscriber's right of access (LGPD art. 18, GDPR art. 15): every personal row
Ciclo holds about one customer of one tenant, as one zip with a JSON file and a
CSV per kind of row.

What is exported is listed in ``SECTIONS`` (one query per kind, always filtered
by the tenant *and* the customer); secrets are never exported: payment method
tokens, gateway credentials and the like are left out by ``EXCLUDED_FIELDS``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from billing.models import (
    BalanceTransaction,
    CreditNote,
    Installment,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    Refund,
)
from core.actors import Actor
from customers.models import Customer, PaymentMethod
from notifications.models import MessageDelivery
from subscriptions.models import Subscription
from tenants import audit
from tenants.models import Tenant

# Never in an export: what lets someone charge or impersonate, not what describes the person.
EXCLUDED_FIELDS = frozenset(
    {"token", "tenant", "secret", "credentials", "password", "portal_password"}
)


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    rows: Callable[[Tenant, Customer], Iterable[models.Model]]


def _q(model: type[models.Model], **path: Any) -> Callable[[Tenant, Customer], Any]:
    def rows(tenant: Tenant, customer: Customer) -> Any:
        filters = dict.fromkeys(path.get("customer", ["customer"]), customer)
        return model._default_manager.filter(tenant=tenant, **filters).order_by("pk")

    return rows


SECTIONS: tuple[Section, ...] = (
    Section("customer", lambda t, c: Customer.objects.filter(tenant=t, pk=c.pk)),
    Section("payment_methods", _q(PaymentMethod)),
    Section("subscriptions", _q(Subscription)),
    Section("invoices", _q(Invoice)),
    Section("invoice_lines", _q(InvoiceLine, customer=["invoice__customer"])),
    Section("installments", _q(Installment, customer=["invoice__customer"])),
    Section("payments", _q(PaymentAttempt, customer=["invoice__customer"])),
    Section("refunds", _q(Refund, customer=["attempt__invoice__customer"])),
    Section("credit_notes", _q(CreditNote)),
    Section("balance_transactions", _q(BalanceTransaction)),
    Section("messages", _q(MessageDelivery)),
)


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if f.name not in EXCLUDED_FIELDS and not f.name.endswith("_token")
    ]


def _row(obj: models.Model, fields: list[models.Field[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        if field.name == "id":
            continue
        if isinstance(field, models.ForeignKey):
            related = getattr(obj, field.name)
            value = getattr(related, "public_id", None) if related is not None else None
            out[field.name] = value if value is not None else getattr(obj, field.attname)
        else:
            out[field.name] = _value(field.value_from_object(obj))
    return out


def collect(*, tenant: Tenant, customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Every section's rows about ``customer`` at ``tenant``, as plain values."""
    if customer.tenant_id != tenant.pk:
        raise ValueError("A customer is exported by its own tenant only.")
    data: dict[str, list[dict[str, Any]]] = {}
    for section in SECTIONS:
        rows = list(section.rows(tenant, customer))
        fields = _fields(type(rows[0])) if rows else []
        data[section.name] = [_row(obj, fields) for obj in rows]
    return data


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return buffer.getvalue()


def export_zip(*, tenant: Tenant, customer: Customer, actor: Actor, at: datetime) -> bytes:
    """The zip a subscriber downloads: ``data.json`` with every section and one
    CSV per section. The download is audited (who, when; not what it held)."""
    data = collect(tenant=tenant, customer=customer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json",
            json.dumps(
                {"tenant": tenant.name, "exported_at": at.isoformat(), **data},
                ensure_ascii=False,
                indent=2,
                default=str,
            ),
        )
        for name, rows in data.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.data_exported",
        target=customer,
        changes={"sections": {name: len(rows) for name, rows in data.items()}},
        at=at,
    )
    return buffer.getvalue()


# --- Erasure (LGPD art. 18 VI, GDPR art. 17) ---------------------------------

ERASED = "[erased]"
ERASED_NAME = "Erased customer"
_LIVE = (
    Subscription.Status.INCOMPLETE,
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.PAUSED,
)


def _personal_values(customer: Customer) -> list[str]:
    values = [customer.name, customer.email, customer.phone, customer.tax_id]
    values += [str(v) for v in (customer.address or {}).values() if v]
    return [v for v in {v.strip() for v in values if v} if len(v) >= 3]


def _scrub(value: Any, personal: list[str]) -> Any:
    """``value`` with every string holding one of ``personal`` replaced."""
    if isinstance(value, dict):
        return {k: _scrub(v, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, personal) for v in value]
    if isinstance(value, str):
        lowered = value.lower()
        if any(p.lower() in lowered for p in personal):
            return ERASED
    return value


def erase_customer(*, tenant: Tenant, customer: Customer, actor: Actor, now: datetime) -> None:
    """Honour an erasure request: cancel the customer's live subscriptions now,
    keep on every issued invoice the name, tax id and address it was issued to
    (fiscal records must keep them), then anonymise everything else that names
    the person: the customer row, saved cards, messages, events and audit
    labels. The request is audited and told to the merchant as
    ``customer.erased`` (webhooks and the dashboard read it)."""
    from django.db import transaction

    from billing.services import customer_snapshots
    from billing.subscriptions import subscription_cancel
    from tenants.changes import record_change
    from tenants.models import AuditEntry, Event, IdempotencyKey

    if customer.tenant_id != tenant.pk:
        raise ValueError("A customer is erased by its own tenant only.")
    for sub_id in Subscription.objects.filter(
        tenant=tenant, customer=customer, status__in=_LIVE
    ).values_list("pk", flat=True):
        subscription_cancel(tenant=tenant, subscription_id=sub_id, actor=actor, now=now)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(tenant=tenant, pk=customer.pk)
        personal = _personal_values(customer)
        issued = Invoice.objects.filter(tenant=tenant, customer=customer).exclude(
            status=Invoice.Status.DRAFT
        )
        # Older invoices without a snapshot get one now; then the email, which no
        # fiscal rule requires keeping, leaves every snapshot.
        issued.filter(customer_snapshot={}).update(
            customer_snapshot=customer_snapshots(tenant=tenant, customer_ids={customer.pk})[
                customer.pk
            ]
        )
        for invoice_id, held in issued.values_list("pk", "customer_snapshot"):
            if "email" in (held or {}):
                kept = {k: v for k, v in held.items() if k != "email"}
                Invoice.objects.filter(pk=invoice_id).update(customer_snapshot=kept)
        Customer.objects.filter(pk=customer.pk).update(
            name=ERASED_NAME,
            email="",
            phone="",
            tax_id="",
            address={},
            metadata={},
            marketing_opted_out_at=now,
            portal_password="",
        )
        # The subscriber's own words may name them; the reason code and label stay.
        Subscription.objects.filter(tenant=tenant, customer=customer).update(cancel_comment="")
        PaymentMethod.objects.filter(tenant=tenant, customer=customer).update(
            token=ERASED, last4="", detached_at=now, is_default=False
        )
        MessageDelivery.objects.filter(tenant=tenant, customer=customer).update(
            recipient=ERASED, subject="", error=""
        )
        if personal:
            for event in Event.objects.filter(
                tenant=tenant, data__icontains=customer.public_id
            ) | Event.objects.filter(tenant=tenant, subject_id=customer.public_id):
                Event.objects.filter(pk=event.pk).update(data=_scrub(event.data, personal))
            for entry in AuditEntry.objects.filter(
                tenant=tenant, target_type="customers.customer", target_id=str(customer.pk)
            ) | AuditEntry.objects.filter(
                tenant=tenant, actor_type="subscriber", actor_id=str(customer.pk)
            ):
                AuditEntry.objects.filter(pk=entry.pk).update(
                    changes=_scrub(entry.changes, personal),
                    target_label=_scrub(entry.target_label, personal),
                    actor_label=_scrub(entry.actor_label, personal),
                )
            IdempotencyKey.objects.filter(
                tenant=tenant, response_body__icontains=customer.public_id
            ).update(response_body="")
        customer.refresh_from_db()
        if actor.type == "subscriber":  # its label was the email: keep the id only
            actor = Actor("subscriber", actor.id, customer.public_id)
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="customer.erased",
            subject_type="customer",
            subject_id=customer.public_id,
            data={"customer": customer.public_id, "requested_by": actor.type},
            target=customer,
            action="customer.erasure_requested",
        )
