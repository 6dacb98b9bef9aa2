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
EXCLUDED_FIELDS = frozenset({"token", "tenant", "secret", "credentials", "password"})


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
