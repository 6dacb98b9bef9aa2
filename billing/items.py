"""Add-on items (``SubscriptionItem``) added, re-quantified or removed now.

Each command is a billing service, like a plan change (``billing.subscriptions``):
it locks the subscription, lets ``subscriptions.services.items`` check and save
the item, prorates the rest of the current period as a plan change does (the
tenant's precision, change day, day count, rounding and quantity-change lines)
and bills it as ``proration`` says — invoiced now (the default), added to the
next invoice, or not at all — in one transaction. An item's setup fee is charged
when it is added (invoiced now, or with the next invoice). Each has a preview
that runs the command itself in a transaction rolled back, so what it shows is
what confirming writes, to the cent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from billing import pricing
from billing.domain.amounts import prorate, remainder_start, remaining_fraction
from billing.domain.invoicing import PRORATION, ProposedLine, price
from billing.models import Invoice, PendingLine
from billing.subscriptions import _DryRun, _proposed, change_lines
from billing.terms import contract_terms
from core.actors import Actor
from core.errors import ValidationFailed
from subscriptions import engine
from subscriptions.models import Plan, Subscription, SubscriptionItem, SubscriptionStatus
from subscriptions.services import items as item_rules
from subscriptions.services import lifecycle
from subscriptions.services.lifecycle import ProrationBehavior
from tenants import audit
from tenants.models import Tenant

Status = SubscriptionStatus
DEFAULT_PRORATION = ProrationBehavior.INVOICE_NOW


def _window(tenant: Tenant, sub: Subscription) -> tuple[datetime, datetime] | None:
    """The period an item's fee is prorated over now (None: nothing billed yet —
    in a trial or before the start — so nothing to prorate)."""
    if not sub.started or sub.status == Status.TRIALING:
        return None
    return engine.period_bounds(sub, sub.period_index, tenant.time_zone)


def _one_side(
    tenant: Tenant,
    sub: Subscription,
    plan: Plan,
    quantity: int,
    now: datetime,
    *,
    sign: int,
    unit_amount_minor: int | None = None,
) -> list[ProposedLine]:
    """The charge (``sign`` 1) or credit (-1) for ``plan`` × ``quantity`` from
    ``now`` to the period's end: the period's fee × the remaining fraction,
    rounded once (the same sum a plan change makes for each side), at the
    add-on's readjusted unit price when it has one."""
    window = _window(tenant, sub)
    if window is None:
        return []
    fraction = remaining_fraction(
        period_start=window[0],
        period_end=window[1],
        at=now,
        precision=tenant.proration_precision,
        tz=tenant.time_zone,
        day_count=tenant.proration_day_count,
        change_day=tenant.proration_change_day,
    )
    terms = contract_terms(plan, unit_amount_minor)
    amount = prorate(terms.period_amount(quantity), fraction, tenant.rounding_mode)
    if not amount:
        return []
    # The line serves from where the remainder starts (the next midnight under
    # the "old" change-day convention), as a plan change's lines do.
    start = remainder_start(
        period_start=window[0],
        period_end=window[1],
        at=now,
        tz=tenant.time_zone,
        change_day=tenant.proration_change_day,
    )
    return [
        ProposedLine(
            kind=PRORATION,
            description=plan.name,
            amount_minor=sign * amount,
            quantity=quantity,
            period_start=start,
            period_end=sub.current_period_end,
            plan_id=plan.pk,
            tax_percent=terms.tax_percent,
            tax_inclusive=terms.tax_inclusive,
        )
    ]


def _bill(
    tenant: Tenant,
    sub: Subscription,
    lines: Sequence[ProposedLine],
    *,
    proration: str,
    now: datetime,
    event: str,
    data: dict[str, object],
) -> None:
    """Bill ``lines`` as ``proration`` says and announce ``event`` (entitlements
    are pushed from it when the item changed them)."""
    lines = list(lines)
    if proration == ProrationBehavior.NEXT_INVOICE and lines:
        pricing.lines_pend(tenant, sub, lines, now)
    batch = pricing.load(tenant, [sub])
    eng = engine.Engine(batch.lifecycle)
    eng.event(sub, event, now, **data)
    if proration != ProrationBehavior.NEXT_INVOICE and lines:
        pricing.bill(
            batch, sub, at=now, reason=Invoice.Reason.SUBSCRIPTION_UPDATE, lines=lines, period=None
        )
    pricing.write(batch, now)


def _setup_now(sub: Subscription, plan: Plan) -> list[ProposedLine]:
    """An item's setup fee, charged when it is added to a started subscription
    (one added before the start is charged with the first invoice, as the base
    plan's is)."""
    if not sub.started or not plan.setup_fee_minor:
        return []
    return [pricing.setup_line(plan)]


@transaction.atomic
def subscription_item_add(
    *,
    tenant: Tenant,
    subscription_id: int,
    plan: Plan,
    actor: Actor,
    now: datetime,
    quantity: int = 1,
    proration: str = DEFAULT_PRORATION,
) -> SubscriptionItem:
    """Add ``plan`` × ``quantity`` as an add-on now: the rest of the current
    period is charged, prorated, with the add-on's setup fee."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    item_rules.check_proration(proration)
    item = item_rules.item_create(tenant=tenant, sub=sub, plan=plan, quantity=quantity, now=now)
    lines = (
        []
        if proration == ProrationBehavior.NONE
        else _one_side(tenant, sub, plan, item.quantity, now, sign=1)
    )
    _bill(
        tenant,
        sub,
        [*lines, *_setup_now(sub, plan)],
        proration=proration,
        now=now,
        event="subscription.item_added",
        data={"item": item.public_id, "plan": plan.public_id, "quantity": item.quantity},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.item_added",
        target=sub,
        at=now,
        changes={"item": item.public_id, "plan": plan.code, "quantity": item.quantity},
    )
    return item


@transaction.atomic
def subscription_item_update(
    *,
    tenant: Tenant,
    subscription_id: int,
    item_id: str,
    quantity: int,
    actor: Actor,
    now: datetime,
    proration: str = DEFAULT_PRORATION,
) -> SubscriptionItem:
    """Change an add-on's quantity now: credit for the old quantity's unused
    part, charge for the new one (or one line for the difference, as the
    tenant's ``quantity_change_lines`` says)."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    item = item_rules.item_get_live(tenant=tenant, sub=sub, item_id=item_id)
    item_rules.item_check_state(sub)
    item_rules.check_proration(proration)
    qty = item_rules.item_check_quantity(item.plan, quantity)
    if qty == item.quantity:
        raise ValidationFailed(
            "That is the add-on's current quantity.", param="quantity", code="no_change"
        )
    window = _window(tenant, sub)
    lines: list[ProposedLine] = []
    if proration != ProrationBehavior.NONE and window is not None:
        change = engine.PlanChange(
            subscription=sub,
            at=now,
            old_plan=item.plan,
            old_quantity=item.quantity,
            new_plan=item.plan,
            new_quantity=qty,
            window=window,
            end=sub.current_period_end,
            old_unit_amount_minor=item.unit_amount_minor,
            new_unit_amount_minor=item.unit_amount_minor,
        )
        lines = change_lines(tenant, change)
    old = item.quantity
    item.quantity = qty
    item.save(update_fields=["quantity"])
    _bill(
        tenant,
        sub,
        lines,
        proration=proration,
        now=now,
        event="subscription.item_updated",
        data={
            "item": item.public_id,
            "plan": item.plan.public_id,
            "previous_quantity": old,
            "quantity": qty,
        },
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.item_updated",
        target=sub,
        at=now,
        changes={"item": item.public_id, "quantity": [old, qty]},
    )
    return item


@transaction.atomic
def subscription_item_remove(
    *,
    tenant: Tenant,
    subscription_id: int,
    item_id: str,
    actor: Actor,
    now: datetime,
    proration: str = DEFAULT_PRORATION,
) -> SubscriptionItem:
    """Remove an add-on now: the unused part of its fee for the current period
    is credited (invoiced now as a negative line, so the customer's balance
    takes it)."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    item = item_rules.item_get_live(tenant=tenant, sub=sub, item_id=item_id)
    item_rules.item_check_state(sub)
    item_rules.check_proration(proration)
    lines = (
        []
        if proration == ProrationBehavior.NONE
        else _one_side(
            tenant,
            sub,
            item.plan,
            item.quantity,
            now,
            sign=-1,
            unit_amount_minor=item.unit_amount_minor,
        )
    )
    item.ended_at = now
    item.save(update_fields=["ended_at"])
    _bill(
        tenant,
        sub,
        lines,
        proration=proration,
        now=now,
        event="subscription.item_removed",
        data={"item": item.public_id, "plan": item.plan.public_id, "quantity": item.quantity},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.item_removed",
        target=sub,
        at=now,
        changes={"item": item.public_id, "plan": item.plan.code},
    )
    return item


# --- previews: the command itself, rolled back ------------------------------------


@dataclass(frozen=True, slots=True)
class ItemPreview:
    """What an item command writes: the invoice's lines (``invoiced``), or the
    lines added to the next invoice (``pending``), priced as they will be."""

    lines: list[ProposedLine]
    effective_at: datetime
    total_minor: int
    invoiced: bool


def _preview(tenant: Tenant, sub_id: int, now: datetime, run: Callable[[], object]) -> ItemPreview:
    result: list[ItemPreview] = []
    try:
        with transaction.atomic():
            invoices = set(
                Invoice.objects.filter(subscription_id=sub_id).values_list("pk", flat=True)
            )
            pending = set(
                PendingLine.objects.filter(subscription_id=sub_id).values_list("pk", flat=True)
            )
            run()
            written = (
                Invoice.objects.filter(subscription_id=sub_id)
                .exclude(pk__in=invoices)
                .order_by("pk")
                .last()
            )
            if written is not None:
                lines = [_proposed(line) for line in written.lines.order_by("position", "pk")]
            else:
                added = PendingLine.objects.filter(
                    subscription_id=sub_id, invoice__isnull=True
                ).exclude(pk__in=pending)
                lines, _carried = price(
                    pricing.pending_as_lines(list(added.order_by("created_at", "id"))),
                    discount=None,
                    rounding=tenant.rounding_mode,
                )
            result.append(
                ItemPreview(
                    lines=lines,
                    effective_at=now,
                    total_minor=sum(line.total_minor for line in lines),
                    invoiced=written is not None,
                )
            )
            raise _DryRun
    except _DryRun:
        pass
    return result[0]


def subscription_item_preview_add(
    *,
    tenant: Tenant,
    subscription_id: int,
    plan: Plan,
    now: datetime,
    quantity: int = 1,
    proration: str = DEFAULT_PRORATION,
) -> ItemPreview:
    return _preview(
        tenant,
        subscription_id,
        now,
        lambda: subscription_item_add(
            tenant=tenant,
            subscription_id=subscription_id,
            plan=plan,
            actor=Actor.system("preview"),
            now=now,
            quantity=quantity,
            proration=proration,
        ),
    )


def subscription_item_preview_update(
    *,
    tenant: Tenant,
    subscription_id: int,
    item_id: str,
    quantity: int,
    now: datetime,
    proration: str = DEFAULT_PRORATION,
) -> ItemPreview:
    return _preview(
        tenant,
        subscription_id,
        now,
        lambda: subscription_item_update(
            tenant=tenant,
            subscription_id=subscription_id,
            item_id=item_id,
            quantity=quantity,
            actor=Actor.system("preview"),
            now=now,
            proration=proration,
        ),
    )


def subscription_item_preview_remove(
    *,
    tenant: Tenant,
    subscription_id: int,
    item_id: str,
    now: datetime,
    proration: str = DEFAULT_PRORATION,
) -> ItemPreview:
    return _preview(
        tenant,
        subscription_id,
        now,
        lambda: subscription_item_remove(
            tenant=tenant,
            subscription_id=subscription_id,
            item_id=item_id,
            actor=Actor.system("preview"),
            now=now,
            proration=proration,
        ),
    )
