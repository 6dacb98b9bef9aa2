"""Reads for the catalog and subscriptions; every one takes the tenant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from customers.models import Customer
from subscriptions.models import Plan, Product, ScheduledChange, Subscription, SubscriptionStatus
from tenants.models import Tenant

# What gives access now (Subscription.has_access): past due keeps it until dunning
# suspends the subscription; paused, canceled and ended ones don't.
HAS_ACCESS = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def product_list(*, tenant: Tenant) -> QuerySet[Product]:
    return Product.objects.for_tenant(tenant).order_by("-created_at", "-id")


def plan_list(*, tenant: Tenant) -> QuerySet[Plan]:
    return (
        Plan.objects.for_tenant(tenant)
        .select_related("product", "tax_rate", "superseded_by")
        .order_by("-created_at", "-id")
    )


def subscription_list(*, tenant: Tenant) -> QuerySet[Subscription]:
    pending = ScheduledChange.objects.filter(status=ScheduledChange.Status.PENDING).select_related(
        "plan"
    )
    return (
        Subscription.objects.for_tenant(tenant)
        .select_related("customer", "plan", "payment_method")
        .prefetch_related(Prefetch("scheduled_changes", queryset=pending, to_attr="pending"))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True, slots=True)
class Entitlements:
    """What a customer may use now, merged over their entitled subscriptions."""

    features: dict[str, Any] = field(default_factory=dict)
    subscriptions: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)


def _merge(old: Any, new: Any) -> Any:
    """Flags: any grants; limits: the highest wins, and null (unlimited) beats all."""
    if old is None or new is None:
        return None
    if isinstance(old, bool) and isinstance(new, bool):
        return old or new
    numbers = (int, float)
    if (
        isinstance(old, numbers)
        and isinstance(new, numbers)
        and not isinstance(old, bool)
        and not isinstance(new, bool)
    ):
        return max(old, new)
    return old  # other values: the newest subscription's (seen first) stands


def entitled_subscriptions(
    *, tenant: Tenant, customer_ids: Iterable[int]
) -> QuerySet[Subscription]:
    """The subscriptions giving access now (``Subscription.has_access``): trialing,
    active, or past due in the grace period before dunning suspends them."""
    return (
        Subscription.objects.for_tenant(tenant)
        .filter(
            customer_id__in=list(customer_ids),
            status__in=HAS_ACCESS,
            access_suspended_at__isnull=True,
        )
        .select_related("plan")
        .order_by("-created_at", "-id")
    )


def entitlements_of(subs: Iterable[Subscription]) -> Entitlements:
    """The union of the subscriptions' plan entitlements (newest first)."""
    subs = list(subs)
    features: dict[str, Any] = {}
    for sub in subs:
        for key, value in (sub.plan.entitlements or {}).items():
            features[key] = _merge(features[key], value) if key in features else value
    return Entitlements(
        features=features,
        subscriptions=[s.public_id for s in subs],
        plans=sorted({s.plan.public_id for s in subs}),
    )


def customer_entitlements(*, tenant: Tenant, customer: Customer) -> Entitlements:
    return entitlements_of(entitled_subscriptions(tenant=tenant, customer_ids=[customer.pk]))
