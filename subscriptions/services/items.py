"""Add-on items of a subscription (``SubscriptionItem``): the checks and the rows.

An item is a plan of the base plan's currency and interval, times a quantity,
billed on the subscription's invoices. Adding, re-quantifying or removing one
mid-period is prorated and invoiced by billing (``billing.items``), which locks
the subscription and calls these in its transaction.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import NotFound, StateConflict, ValidationFailed
from subscriptions.models import Plan, Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.services.catalog import _check_period_amount
from subscriptions.services.lifecycle import ProrationBehavior
from tenants.models import Tenant

Status = SubscriptionStatus
# Items change only while the subscription bills (or is about to).
ITEMS_CHANGEABLE = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE, Status.INCOMPLETE)
MAX_ITEMS = 20
MAX_QUANTITY = 1_000_000


def item_check_state(sub: Subscription) -> None:
    if sub.status not in ITEMS_CHANGEABLE:
        raise StateConflict(
            f"A {sub.status} subscription's items cannot be changed.",
            code="subscription_not_changeable",
        )


def item_check_quantity(plan: Plan, quantity: object) -> int:
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise ValidationFailed(
            "quantity must be a whole number from 1 to 1,000,000.", param="quantity"
        )
    if plan.pricing_model == Plan.PricingModel.FLAT and quantity != 1:
        raise ValidationFailed("A flat plan is sold one at a time.", param="quantity")
    _check_period_amount(plan, quantity)
    return quantity


def item_check_plan(tenant: Tenant, base: Plan, plan: Plan) -> None:
    """An add-on is another plan of the same tenant, currency and billing interval."""
    if plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="plan")
    if not plan.active:
        raise StateConflict("This plan is not sold any more.", code="plan_inactive")
    if plan.currency != base.currency:
        raise ValidationFailed(
            f"An add-on must be billed in the subscription's currency ({base.currency}).",
            param="plan",
            code="item_currency_mismatch",
        )
    if (plan.interval, plan.interval_count) != (base.interval, base.interval_count):
        raise ValidationFailed(
            "An add-on must have the base plan's billing interval "
            f"({base.interval_count} {base.interval}).",
            param="plan",
            code="item_interval_mismatch",
        )
    if base.in_arrears or plan.in_arrears:
        # Add-ons are billed with each period's start; an in-arrears period is
        # invoiced at its end, and one invoice would mix both timings.
        raise ValidationFailed(
            "Add-ons are for plans billed in advance; this one is billed in arrears.",
            param="plan",
            code="item_in_arrears",
        )
    if plan.code == base.code:
        raise ValidationFailed(
            "The base plan cannot be added as an add-on; change the quantity instead.",
            param="plan",
            code="item_is_base_plan",
        )


def check_proration(proration: str) -> None:
    if proration not in ProrationBehavior.ALL:
        raise ValidationFailed(f"Unknown proration behaviour: {proration}", param="proration")


def live_items(sub: Subscription) -> list[SubscriptionItem]:
    return list(
        SubscriptionItem.objects.filter(subscription=sub, ended_at__isnull=True)
        .select_related("plan", "plan__tax_rate")
        .order_by("added_at", "id")
    )


def item_create(
    *, tenant: Tenant, sub: Subscription, plan: Plan, quantity: object, now: datetime
) -> SubscriptionItem:
    """Validate and save a new item of ``sub`` (locked by the caller)."""
    item_check_state(sub)
    item_check_plan(tenant, sub.plan, plan)
    qty = item_check_quantity(plan, quantity)
    live = live_items(sub)
    if any(i.plan.code == plan.code for i in live):
        raise StateConflict(
            "The subscription has this add-on already; change its quantity instead.",
            code="item_exists",
        )
    if len(live) >= MAX_ITEMS:
        raise ValidationFailed(
            f"A subscription holds at most {MAX_ITEMS} add-ons.", param="plan", code="too_many"
        )
    return SubscriptionItem.objects.create(
        tenant=tenant, subscription=sub, plan=plan, quantity=qty, added_at=now
    )


def item_get_live(*, tenant: Tenant, sub: Subscription, item_id: str) -> SubscriptionItem:
    """A live item of ``sub`` by its public id (another subscription's: not found)."""
    item = (
        SubscriptionItem.objects.for_tenant(tenant)
        .select_related("plan", "plan__tax_rate")
        .filter(subscription=sub, public_id=item_id, ended_at__isnull=True)
        .first()
    )
    if item is None:
        raise NotFound("No such item on this subscription.", param="item")
    return item
