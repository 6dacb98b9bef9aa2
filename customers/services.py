"""Writes for customers: create, update, delete (if nothing refers to them).

Payment methods are tokenized by a gateway (``billing.payments``, ``billing.setup``)
and their rows written here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import ProtectedError

from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.localtime import to_local
from customers.domain.address import normalize_address
from customers.domain.phone import normalize_phone, phone_region
from customers.domain.taxid import normalize_tax_id
from customers.models import Customer, CustomerNote, PaymentMethod, TestClock
from tenants import audit
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import emit

UPDATABLE = ("name", "email", "phone", "tax_id", "locale", "address", "metadata")
_LOCALES = {code for code, _name in settings.LANGUAGES}
# Control/format/unassigned characters (NUL and friends); newlines and tabs are fine.
_NOTE_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _clean(field: str, value: Any, *, region: str | None = None) -> Any:
    """One field's value, checked and normalized, or ``ValidationFailed``;
    ``region`` reads phone numbers typed without a country code."""
    if field == "metadata":
        if not isinstance(value, dict):
            raise ValidationFailed("metadata must be an object.", param="metadata")
        return value
    if field == "address":
        return normalize_address(value)
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
    address: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    test_clock: Any = None,
) -> Customer:
    """A new subscriber; ``test_clock`` (a ``TestClock``) puts all their
    billing on that clock's frozen time."""
    values = {
        field: _clean(field, value, region=phone_region(tenant))
        for field, value in (
            ("name", name),
            ("email", email),
            ("phone", phone),
            ("tax_id", tax_id),
            ("locale", locale),
            ("address", dict(address or {})),
            ("metadata", dict(metadata or {})),
        )
    }
    if test_clock is not None and test_clock.tenant_id != tenant.pk:
        raise NotFound("No such test clock.", param="test_clock")
    customer = Customer.objects.create(tenant=tenant, test_clock=test_clock, **values)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.created",
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "name": customer.name, "email": customer.email},
        target=customer,
    )
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
    # Values may be personal data: the log keeps which fields changed.
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.updated",
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "changed": sorted(diff)},
        target=customer,
        changes=dict.fromkeys(diff, "changed"),
    )
    return customer


MAX_PASSWORD_LENGTH = 4096  # hashing a megabyte on every try would be a cheap attack


@transaction.atomic
def customer_portal_password_set(
    *, tenant: Tenant, customer_id: int, password: str, actor: Actor, now: datetime
) -> Customer:
    """Set (or replace) the subscriber's portal password: checked by Django's
    password validators, stored as a Django hash. Audited without any value."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.password_validation import validate_password

    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    if (
        not isinstance(password, str)
        or not password
        or "\x00" in password
        or len(password) > MAX_PASSWORD_LENGTH
    ):
        raise ValidationFailed("Enter a password.", param="password")
    try:
        # The validators read attributes (email, name) the customer has too.
        validate_password(password, user=customer)  # type: ignore[arg-type]
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), param="password") from None
    had_one = bool(customer.portal_password)
    customer.portal_password = make_password(password)
    customer.save(update_fields=["portal_password"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.portal_password_changed" if had_one else "customer.portal_password_set",
        target=customer,
        at=now,
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
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.deleted",
        subject_type="customer",
        subject_id=public_id,
        data={"customer": public_id},
        target=customer,
    )
    try:
        with transaction.atomic():
            customer.delete()
    except ProtectedError:
        raise in_use from None
    return public_id


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
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.updated",
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "marketing_opt_out": opted_out},
        target=customer,
        action="customer.marketing_opted_out" if opted_out else "customer.marketing_opted_in",
        changes={"marketing_opt_out": opted_out},
    )
    return customer


# --- payment methods (billing's gateways tokenize them; the rows are written here)


NOTE_MAX = 2000


@transaction.atomic
def customer_note_add(
    *, tenant: Tenant, customer_id: int, text: str, actor: Actor, now: datetime
) -> CustomerNote:
    """A staff note on the customer (internal: no event, no webhook; audited)."""
    if not isinstance(text, str):
        raise ValidationFailed("A note must be text.", param="text")
    if any(c not in "\n\r\t" and unicodedata.category(c) in _NOTE_FORBIDDEN for c in text):
        raise ValidationFailed("The note contains characters that are not allowed.", param="text")
    text = text.strip()
    if not text:
        raise ValidationFailed("Write the note first.", param="text")
    if len(text) > NOTE_MAX:
        raise ValidationFailed(f"A note has at most {NOTE_MAX} characters.", param="text")
    customer = Customer.objects.filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    note = CustomerNote.objects.create(
        tenant=tenant,
        customer=customer,
        author_id=int(actor.id) if actor.type == "staff" and actor.id.isdigit() else None,
        author_label=actor.label[:254],
        text=text,
        created_at=now,
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="customer.note_added",
        at=now,
        target=customer,
        changes={"note": note.pk},
    )
    return note


@transaction.atomic
def payment_method_add(
    *,
    tenant: Tenant,
    customer: Customer,
    kind: str,
    gateway: str,
    token: str,
    actor: Actor,
    now: datetime,
    brand: str = "",
    last4: str = "",
    exp_month: int | None = None,
    exp_year: int | None = None,
    make_default: bool = True,
) -> PaymentMethod:
    """Save a method a gateway tokenized (billing calls the gateway first)."""
    if customer.tenant_id != tenant.pk:
        raise NotFound("No such customer.", param="customer")
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # serialise defaults
    has_default = PaymentMethod.objects.filter(
        customer=customer, is_default=True, detached_at__isnull=True
    ).exists()
    if make_default or not has_default:
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)
    method = PaymentMethod.objects.create(
        tenant=tenant,
        customer=customer,
        kind=kind,
        gateway=gateway,
        token=token,
        brand=brand,
        last4=last4,
        exp_month=exp_month,
        exp_year=exp_year,
        is_default=make_default or not has_default,
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.payment_method_attached",
        subject_type="customer",
        subject_id=customer.public_id,
        data={
            "customer": customer.public_id,
            "payment_method": method.public_id,
            "brand": method.brand,
            "last4": method.last4,
        },
        target=method,
        action="payment_method.attached",
    )
    return method


@transaction.atomic
def payment_method_detach(
    *, tenant: Tenant, payment_method_id: int, actor: Actor, now: datetime
) -> PaymentMethod:
    method = (
        PaymentMethod.objects.select_for_update()
        .filter(tenant=tenant, pk=payment_method_id, detached_at__isnull=True)
        .first()
    )
    if method is None:
        raise NotFound("No such payment method.", param="payment_method")
    method.detached_at, method.is_default = now, False
    method.save(update_fields=["detached_at", "is_default"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.payment_method_detached",
        subject_type="customer",
        subject_id=method.customer.public_id,
        data={"payment_method": method.public_id},
        target=method,
        action="payment_method.detached",
    )
    return method


@transaction.atomic
def payment_method_set_default(
    *, tenant: Tenant, payment_method_id: int, actor: Actor, now: datetime
) -> PaymentMethod:
    method = (
        PaymentMethod.objects.select_for_update()
        .filter(tenant=tenant, pk=payment_method_id, detached_at__isnull=True)
        .first()
    )
    if method is None:
        raise NotFound("No such payment method.", param="payment_method")
    if method.is_default:
        return method
    PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).update(
        is_default=False
    )
    method.is_default = True
    method.save(update_fields=["is_default"])
    audit.record(
        tenant=tenant, actor=actor, action="payment_method.made_default", target=method, at=now
    )
    return method


def payment_methods_expiring_notify(*, tenant: Tenant, now: datetime) -> int:
    """Tell subscribers whose card expires by the end of next month, once per card
    (the event feeds the "card expiring" notification)."""
    local = to_local(now, tenant.time_zone)
    year, month = divmod(local.year * 12 + local.month, 12)  # next month
    month += 1
    soon = (
        PaymentMethod.objects.filter(
            kind=PaymentMethod.Kind.CARD,
            detached_at__isnull=True,
            expiry_notice_at__isnull=True,
            exp_year__isnull=False,
        )
        .filter(models.Q(exp_year__lt=year) | models.Q(exp_year=year, exp_month__lte=month))
        .select_related("customer")
    )
    count = 0
    for method in soon:
        with transaction.atomic():
            if not PaymentMethod.objects.filter(pk=method.pk, expiry_notice_at__isnull=True).update(
                expiry_notice_at=now
            ):
                continue  # another sweep got it first
            emit(
                tenant_id=tenant.pk,
                type="customer.payment_method_expiring",
                at=now,
                subject_type="customer",
                subject_id=method.customer.public_id,
                data={
                    "customer": method.customer.public_id,
                    "payment_method": method.public_id,
                    "brand": method.brand,
                    "last4": method.last4,
                    "exp_month": method.exp_month,
                    "exp_year": method.exp_year,
                },
            )
            count += 1
    return count


# --- test clocks (billing/clocks.py advances them) -------------------------------


@transaction.atomic
def clock_row_create(*, tenant: Tenant, frozen_time: datetime, name: str = "") -> TestClock:
    return TestClock.objects.create(tenant=tenant, frozen_time=frozen_time, name=name[:200])


@transaction.atomic
def clock_move_to(*, tenant: Tenant, clock: TestClock, to: datetime) -> TestClock:
    """Set the clock's frozen time (billing has run everything due up to ``to``)."""
    TestClock.objects.filter(tenant=tenant, pk=clock.pk).update(frozen_time=to)
    clock.frozen_time = to
    return clock


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: TestClock) -> None:
    """Deleting a clock (``settings.TEST_CLOCK_DELETERS``, last): its customers, then itself."""
    Customer.objects.filter(tenant=tenant, test_clock=clock).delete()
    clock.delete()


MARKETING_CHANNELS = ("email", "sms")


@transaction.atomic
def customer_marketing_channels_set(
    *, tenant: Tenant, customer_id: int, channels_on: set[str], actor: Actor, now: datetime
) -> Customer:
    """The subscriber's marketing consent per channel (``MARKETING_CHANNELS``):
    the channels in ``channels_on`` may carry optional messages, the others not.
    Turning any channel on lifts a global opt-out (a newer, more precise choice)."""
    unknown = set(channels_on) - set(MARKETING_CHANNELS)
    if unknown:
        raise ValidationFailed("Unknown channel.", param="channels")
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    off = [c for c in MARKETING_CHANNELS if c not in channels_on]
    opted_out_at = customer.marketing_opted_out_at
    if channels_on:
        opted_out_at = None
    elif opted_out_at is None:
        opted_out_at = now
    before = {c: not customer.marketing_off(c) for c in MARKETING_CHANNELS}
    customer.marketing_channels_off = off
    customer.marketing_opted_out_at = opted_out_at
    after = {c: not customer.marketing_off(c) for c in MARKETING_CHANNELS}
    customer.save(update_fields=["marketing_channels_off", "marketing_opted_out_at"])
    if before == after:
        return customer
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="customer.updated",
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "marketing_channels": after},
        target=customer,
        action="customer.marketing_preferences_changed",
        changes={c: [before[c], after[c]] for c in MARKETING_CHANNELS if before[c] != after[c]},
    )
    return customer
