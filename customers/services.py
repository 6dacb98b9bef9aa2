"""Writes for customers: create, update, delete (if nothing refers to them).

Payment methods are written by ``billing.payments`` (they go through a gateway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import ProtectedError

from core import audit
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.outbox import emit
from customers.domain.phone import normalize_phone, phone_region
from customers.domain.taxid import normalize_tax_id
from customers.models import Customer
from tenants.models import Tenant

UPDATABLE = ("name", "email", "phone", "tax_id", "locale", "metadata")
_LOCALES = {code for code, _name in settings.LANGUAGES}


def _clean(field: str, value: Any, *, region: str | None = None) -> Any:
    """One field's value, checked and normalized, or ``ValidationFailed``;
    ``region`` reads phone numbers typed without a country code."""
    if field == "metadata":
        if not isinstance(value, dict):
            raise ValidationFailed("metadata must be an object.", param="metadata")
        return value
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string.", param=field)
    value = value.strip()
    if field == "name":
        if not value or len(value) > 200:
            raise ValidationFailed(
                "A customer needs a name of at most 200 characters.", param=field
            )
    elif field == "email" and value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValidationFailed("Enter a valid email address.", param=field) from None
        if len(value) > 254:
            raise ValidationFailed("That email address is too long.", param=field)
    elif field == "phone" and len(value) > 40:
        raise ValidationFailed("A phone number has at most 40 characters.", param=field)
    elif field == "phone" and value:
        value = normalize_phone(value, region=region, param=field)
    elif field == "tax_id" and value:
        value = normalize_tax_id(value).value
    elif field == "locale" and value and value not in _LOCALES:
        raise ValidationFailed(f"Unknown language: {value}", param=field)
    return value


@transaction.atomic
def customer_create(
    *,
    tenant: Tenant,
    name: str,
    actor: Actor,
    now: datetime,
    email: str = "",
    phone: str = "",
    tax_id: str = "",
    locale: str = "",
    metadata: Mapping[str, Any] | None = None,
    test_clock: Any = None,
) -> Customer:
    """A new subscriber; ``test_clock`` (a ``billing.TestClock``) puts all their
    billing on that clock's frozen time."""
    values = {
        field: _clean(field, value, region=phone_region(tenant))
        for field, value in (
            ("name", name),
            ("email", email),
            ("phone", phone),
            ("tax_id", tax_id),
            ("locale", locale),
            ("metadata", dict(metadata or {})),
        )
    }
    if test_clock is not None and test_clock.tenant_id != tenant.pk:
        raise NotFound("No such test clock.", param="test_clock")
    customer = Customer.objects.create(tenant=tenant, test_clock=test_clock, **values)
    emit(
        tenant_id=tenant.pk,
        type="customer.created",
        at=now,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "name": customer.name, "email": customer.email},
    )
    audit.record(tenant=tenant, actor=actor, action="customer.created", target=customer, at=now)
    return customer


@transaction.atomic
def customer_update(
    *,
    tenant: Tenant,
    customer_id: int,
    changes: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> Customer:
    """Change some of ``UPDATABLE``; a change to the values it has is a no-op."""
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationFailed(f"{unknown[0]} cannot be changed.", param=unknown[0])
    diff: dict[str, list[Any]] = {}
    for field, raw in changes.items():
        value = _clean(field, raw, region=phone_region(tenant))
        if getattr(customer, field) != value:
            diff[field] = [getattr(customer, field), value]
            setattr(customer, field, value)
    if not diff:
        return customer
    customer.save(update_fields=list(diff))
    emit(
        tenant_id=tenant.pk,
        type="customer.updated",
        at=now,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "changed": sorted(diff)},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.updated",
        target=customer,
        at=now,
        # Values may be personal data: the log keeps which fields changed.
        changes=dict.fromkeys(diff, "changed"),
    )
    return customer


@transaction.atomic
def customer_delete(*, tenant: Tenant, customer_id: int, actor: Actor, now: datetime) -> str:
    """Delete a customer nothing refers to (no subscription, invoice or balance);
    their payment methods go with them. Returns the deleted public id."""
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    in_use = StateConflict(
        "This customer has subscriptions, invoices or a balance; it cannot be deleted.",
        code="customer_in_use",
    )
    if (
        customer.subscriptions.exists()
        or customer.invoices.exists()
        or customer.balance_transactions.exists()
    ):
        raise in_use
    public_id = customer.public_id
    audit.record(tenant=tenant, actor=actor, action="customer.deleted", target=customer, at=now)
    emit(
        tenant_id=tenant.pk,
        type="customer.deleted",
        at=now,
        subject_type="customer",
        subject_id=public_id,
        data={"customer": public_id},
    )
    try:
        with transaction.atomic():
            customer.delete()
    except ProtectedError:
        raise in_use from None
    return public_id
