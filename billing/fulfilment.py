"""Physical subscriptions: a fulfilment order (the box of the month) per paid
period of a plan that ships goods, and its path pending → packed → shipped →
delivered (or canceled). One transaction per service call.

The order is made when the period's invoice is paid, inside billing's
settlement (``FulfilmentListener`` in ``settings.BILLING_LISTENERS``), at most
once per (subscription, period): a webhook delivered twice finds the order
made, and the unique constraint stops a race. A paused subscription gets no
box; a past-due one gets its box when the overdue invoice is finally paid, since
only a paid invoice makes one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from billing.models import (
    FULFILMENT_TRANSITIONS,
    FulfilmentOrder,
    FulfilmentStatus,
    Invoice,
    PaymentAttempt,
)
from core.actors import SYSTEM, Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from subscriptions.models import Subscription, SubscriptionStatus
from tenants.changes import record_change
from tenants.models import Tenant

TRACKING_MAX = 100
CARRIER_MAX = 60
BULK_MAX = 200
_BOX_REASONS = (Invoice.Reason.SUBSCRIPTION_CREATE, Invoice.Reason.SUBSCRIPTION_CYCLE)


def _event_data(order: FulfilmentOrder) -> dict[str, object]:
    return {
        "fulfilment_order": order.public_id,
        "subscription": order.subscription.public_id,
        "customer": order.customer.public_id,
        "invoice": order.invoice.public_id,
        "status": order.status,
        "carrier": order.carrier,
        "tracking_code": order.tracking_code,
    }


def fulfilment_order_for_invoice(
    *, tenant: Tenant, invoice: Invoice, now: datetime
) -> FulfilmentOrder | None:
    """Make the box a just-paid period invoice pays for (inside billing's
    transaction, with the invoice locked); None when it pays for no box."""
    if (
        invoice.status != Invoice.Status.PAID
        or not invoice.subscription_id
        or invoice.billing_reason not in _BOX_REASONS
        or invoice.period_start is None
        or invoice.period_end is None
    ):
        return None
    sub = (
        Subscription.objects.select_related("plan", "customer")
        .filter(tenant=tenant, pk=invoice.subscription_id)
        .first()
    )
    if sub is None or not sub.plan.ships_goods:
        return None
    if sub.status == SubscriptionStatus.PAUSED:
        return None
    if sub.trial_end is not None and invoice.period_start < sub.trial_end:
        return None  # a trial ships nothing: the first box is the first paid period's
    existing = FulfilmentOrder.objects.filter(
        tenant=tenant, subscription=sub, period_start=invoice.period_start
    ).first()
    if existing is not None:
        return existing
    customer = sub.customer
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin loses on the constraint
            order = FulfilmentOrder.objects.create(
                tenant=tenant,
                subscription=sub,
                customer=customer,
                invoice=invoice,
                period_start=invoice.period_start,
                period_end=invoice.period_end,
                plan_name=sub.plan.name,
                items=sub.plan.box_items,
                quantity=sub.quantity,
                ship_to_name=customer.name,
                shipping_address=dict(customer.address or {}),
                created_at=invoice.paid_at or now,
            )
    except IntegrityError:
        return FulfilmentOrder.objects.filter(
            tenant=tenant, subscription=sub, period_start=invoice.period_start
        ).first()
    record_change(
        tenant=tenant,
        actor=SYSTEM,
        at=now,
        event="fulfilment_order.created",
        subject_type="fulfilment_order",
        subject_id=order.public_id,
        data=_event_data(order),
        target=order,
        changes={"subscription": sub.public_id, "invoice": invoice.public_id},
    )
    return order


class FulfilmentListener:
    """Registered in ``settings.BILLING_LISTENERS``: a paid period ships a box."""

    def invoice_settled(self, *, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
        fulfilment_order_for_invoice(tenant=tenant, invoice=invoice, now=now)

    def payment_unsettled(self, *, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
        return None


# --- the box's path -------------------------------------------------------------------------


def fulfilment_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[FulfilmentOrder]:
    qs = FulfilmentOrder.objects.for_tenant(tenant).select_related(
        "subscription", "customer", "invoice"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def _locked(tenant: Tenant, order_id: int) -> FulfilmentOrder:
    order = (
        FulfilmentOrder.objects.select_for_update()
        .select_related("subscription", "customer", "invoice")
        .filter(tenant=tenant, pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("No such fulfilment order.", param="fulfilment_order")
    return order


def _move(
    *,
    tenant: Tenant,
    order: FulfilmentOrder,
    to: str,
    actor: Actor,
    now: datetime,
    stamp: str,
    changes: dict[str, object] | None = None,
) -> FulfilmentOrder:
    if to not in FULFILMENT_TRANSITIONS[order.status]:
        raise StateConflict(
            f"A {order.status} order cannot be marked {to}.", code="fulfilment_transition"
        )
    previous = order.status
    order.status = to
    setattr(order, stamp, now)
    fields = ["status", stamp, *(changes or {})]
    for field, value in (changes or {}).items():
        setattr(order, field, value)
    order.save(update_fields=fields)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event=f"fulfilment_order.{to}",
        subject_type="fulfilment_order",
        subject_id=order.public_id,
        data=_event_data(order),
        target=order,
        changes={"status": [previous, to], **(changes or {})},
    )
    return order


@transaction.atomic
def fulfilment_pack(
    *, tenant: Tenant, order_id: int, actor: Actor, now: datetime
) -> FulfilmentOrder:
    order = _locked(tenant, order_id)
    return _move(
        tenant=tenant,
        order=order,
        to=FulfilmentStatus.PACKED,
        actor=actor,
        now=now,
        stamp="packed_at",
    )


@transaction.atomic
def fulfilment_pack_many(
    *, tenant: Tenant, order_ids: Iterable[int], actor: Actor, now: datetime
) -> list[FulfilmentOrder]:
    """Mark the pending ones of these orders packed; others are left as they are
    (a bulk action on a list the merchant sees, some of which moved meanwhile)."""
    ids = sorted(set(order_ids))
    if not ids:
        raise ValidationFailed("Choose at least one order.", param="orders")
    if len(ids) > BULK_MAX:
        raise ValidationFailed(f"At most {BULK_MAX} orders at once.", param="orders")
    orders = list(
        FulfilmentOrder.objects.select_for_update()
        .select_related("subscription", "customer", "invoice")
        .filter(tenant=tenant, pk__in=ids)
        .order_by("pk")
    )
    if len(orders) != len(ids):
        raise NotFound("No such fulfilment order.", param="orders")
    return [
        _move(
            tenant=tenant,
            order=o,
            to=FulfilmentStatus.PACKED,
            actor=actor,
            now=now,
            stamp="packed_at",
        )
        for o in orders
        if o.status == FulfilmentStatus.PENDING
    ]


def _clean_text(value: object, *, param: str, limit: int, required: bool, what: str) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"The {what} must be text.", param=param)
    text = value.strip()
    if required and not text:
        raise ValidationFailed(f"Enter the {what}.", param=param)
    if len(text) > limit:
        raise ValidationFailed(f"The {what} is at most {limit} characters.", param=param)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise ValidationFailed(f"The {what} holds a control character.", param=param)
    return text


def clean_tracking_code(value: object) -> str:
    return _clean_text(
        value, param="tracking_code", limit=TRACKING_MAX, required=True, what="tracking code"
    )


def clean_carrier(value: object) -> str:
    return _clean_text(value, param="carrier", limit=CARRIER_MAX, required=False, what="carrier")


@transaction.atomic
def fulfilment_ship(
    *,
    tenant: Tenant,
    order_id: int,
    tracking_code: object,
    actor: Actor,
    now: datetime,
    carrier: object = "",
) -> FulfilmentOrder:
    """Mark the box shipped with its tracking code; the ``fulfilment_order.shipped``
    event tells the subscriber (notifications' ``order_shipped`` message)."""
    code = clean_tracking_code(tracking_code)
    carrier_name = clean_carrier(carrier)
    order = _locked(tenant, order_id)
    return _move(
        tenant=tenant,
        order=order,
        to=FulfilmentStatus.SHIPPED,
        actor=actor,
        now=now,
        stamp="shipped_at",
        changes={"tracking_code": code, "carrier": carrier_name},
    )


@transaction.atomic
def fulfilment_deliver(
    *, tenant: Tenant, order_id: int, actor: Actor, now: datetime
) -> FulfilmentOrder:
    order = _locked(tenant, order_id)
    return _move(
        tenant=tenant,
        order=order,
        to=FulfilmentStatus.DELIVERED,
        actor=actor,
        now=now,
        stamp="delivered_at",
    )


@transaction.atomic
def fulfilment_cancel(
    *, tenant: Tenant, order_id: int, actor: Actor, now: datetime
) -> FulfilmentOrder:
    order = _locked(tenant, order_id)
    return _move(
        tenant=tenant,
        order=order,
        to=FulfilmentStatus.CANCELED,
        actor=actor,
        now=now,
        stamp="canceled_at",
    )
