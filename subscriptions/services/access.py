"""Dunning's moves on a subscription's access: past due (access kept for the grace
period), suspended (access off), reactivated (access back, active again).
``Subscription.has_access`` reads what these write. One transaction each.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from core.actors import Actor
from subscriptions.models import SubscriptionStatus
from subscriptions.services.lifecycle import lock_subscription
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import emit

Status = SubscriptionStatus


@transaction.atomic
def subscription_mark_past_due(
    *, tenant: Tenant, subscription_id: int, now: datetime, invoice: str = ""
) -> bool:
    """An active subscription whose charge failed is past due; access stays on
    (the grace period) until dunning suspends it. Returns whether it changed."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if sub.status != Status.ACTIVE:
        return False
    sub.move_to(Status.PAST_DUE)
    sub.save(update_fields=["status"])
    emit(
        tenant_id=tenant.pk,
        type="subscription.past_due",
        at=now,
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "status": sub.status, "invoice": invoice},
    )
    return True


@transaction.atomic
def subscription_suspend(
    *, tenant: Tenant, subscription_id: int, actor: Actor, now: datetime, invoice: str = ""
) -> bool:
    """Access off (status past_due) for an unpaid invoice. Returns whether it
    changed: a subscription that is not active or past due, or already
    suspended, is left as it is."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if sub.status not in (Status.ACTIVE, Status.PAST_DUE) or sub.access_suspended_at is not None:
        return False
    previous = sub.status
    sub.move_to(Status.PAST_DUE)
    sub.access_suspended_at = now
    sub.save(update_fields=["status", "access_suspended_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.suspended",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "status": sub.status,
            "previous_status": previous,
            "access": False,
            "invoice": invoice,
        },
        target=sub,
        changes={"invoice": invoice},
    )
    return True


@transaction.atomic
def subscription_reactivate(
    *, tenant: Tenant, subscription_id: int, actor: Actor, now: datetime
) -> bool:
    """A past-due subscription whose overdue invoices are all settled is active
    again, with access. Its periods keep following its anchor, as the plan says:
    the current one runs to its end and renews as usual."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if sub.status != Status.PAST_DUE:
        return False
    sub.move_to(Status.ACTIVE)
    suspended = sub.access_suspended_at is not None
    sub.access_suspended_at = None
    sub.save(update_fields=["status", "access_suspended_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.reactivated",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "status": sub.status,
            "previous_status": Status.PAST_DUE,
            "was_suspended": suspended,
            "access": True,
            "current_period_end": sub.current_period_end.isoformat(),
        },
        target=sub,
    )
    return True
