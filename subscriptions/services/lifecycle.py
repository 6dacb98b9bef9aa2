"""The subscription lifecycle: open, change, cancel (and undo), pause and resume,
activation on the first paid invoice. One transaction each.

Every service takes ``now`` (DESIGN.md invariant 3); for a customer on a test
clock the entry point passes the clock's frozen time.

Nothing here has a price beyond the catalog's list price: the commands that
must invoice at once (subscribe, change now, cancel now, resume) are billing's
(``billing.subscriptions``); they call the lifecycle moves below, which run in
their transaction on a subscription they locked (``lock_subscription``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer, PaymentMethod
from subscriptions import engine
from subscriptions.domain.catalog import PricingModel
from subscriptions.domain.cycles import (
    Interval,
    boundary,
    calendar_anchor,
    calendar_grid,
    next_anchor_on_day,
)
from subscriptions.models import Plan, ScheduledChange, Subscription, SubscriptionStatus
from subscriptions.services.catalog import _check_period_amount, is_whole
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import emit

Status = SubscriptionStatus
CHANGEABLE = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE, Status.INCOMPLETE)


class ProrationBehavior:
    NEXT_INVOICE = "next_invoice"
    INVOICE_NOW = "invoice_now"
    NONE = "none"
    ALL = (NEXT_INVOICE, INVOICE_NOW, NONE)


def subscription_open(
    *,
    tenant: Tenant,
    customer: Customer,
    plan: Plan,
    now: datetime,
    quantity: int = 1,
    trial_days: int | None = None,
    start_at: datetime | None = None,
    anchor_day: int | None = None,
    calendar_billing: bool = False,
    collection_method: str = "charge_automatically",
    payment_method: Any = None,
) -> Subscription:
    """A new subscription of ``customer`` to ``plan``, not started yet: now or
    later, with or without a trial, anchored on the start, a day of the month, or
    the calendar. Runs in the caller's transaction: billing's
    ``subscription_create`` starts it (``engine.Engine.advance``) and invoices
    what it owes at once."""
    if customer.tenant_id != tenant.pk:
        raise NotFound("No such customer.", param="customer")
    # Read again: the caller's copy may predate a new price version.
    fresh = Plan.objects.select_related("tax_rate").filter(tenant=tenant, pk=plan.pk).first()
    if fresh is None:
        raise NotFound("No such plan.", param="plan")
    plan = fresh
    if not plan.active:
        raise StateConflict("This plan is not sold any more.", code="plan_inactive")
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 1 <= quantity <= 1_000_000
    ):
        raise ValidationFailed(
            "quantity must be a whole number from 1 to 1,000,000.", param="quantity"
        )
    if plan.pricing_model == PricingModel.FLAT and quantity != 1:
        raise ValidationFailed("A flat plan is sold one at a time.", param="quantity")
    _check_period_amount(plan, quantity)
    trial = plan.trial_days if trial_days is None else trial_days
    if not isinstance(trial, int) or isinstance(trial, bool) or not 0 <= trial <= 730:
        raise ValidationFailed("trial_days must be from 0 to 730.", param="trial_days")
    if collection_method not in ("charge_automatically", "send_invoice"):
        raise ValidationFailed(
            f"Unknown collection method: {collection_method}", param="collection_method"
        )
    start = now if start_at is None else start_at
    if start < now:
        raise ValidationFailed("A subscription cannot start in the past.", param="start_at")
    trial_end = start + timedelta(days=trial) if trial else None
    first_billing = trial_end or start
    tz = tenant.time_zone
    if anchor_day is not None and calendar_billing:
        raise ValidationFailed(
            "Choose a billing day or calendar billing, not both.", param="anchor_day"
        )
    if anchor_day is not None or calendar_billing:
        # Monthly, quarterly (3 months), annual … alike: periods of days or weeks
        # have no day of the month, nor a calendar grid.
        if plan.interval not in (Interval.MONTH, Interval.YEAR):
            raise ValidationFailed(
                "A billing day or calendar billing only applies to plans billed "
                "by the month or the year.",
                param="calendar_billing" if calendar_billing else "anchor_day",
                code="anchor_needs_months",
            )
        if calendar_billing and not calendar_grid(plan.interval, plan.interval_count):
            raise ValidationFailed(
                "Calendar billing needs periods that divide the year "
                "(1, 2, 3, 4, 6 or 12 months, or years).",
                param="calendar_billing",
            )
        if anchor_day is not None and not is_whole(anchor_day, 1, 31):
            raise ValidationFailed("anchor_day must be from 1 to 31.", param="anchor_day")
        anchor = (
            calendar_anchor(first_billing, plan.interval, plan.interval_count, tz)
            if calendar_billing
            else next_anchor_on_day(first_billing, anchor_day or 1, tz)
        )
        billing_day = anchor_day if anchor_day and anchor_day > 28 else None
    else:
        anchor, billing_day = first_billing, None
    if payment_method is not None and (
        payment_method.customer_id != customer.pk or payment_method.detached_at is not None
    ):
        raise NotFound("No such payment method for this customer.", param="payment_method")
    return Subscription.objects.create(
        tenant=tenant,
        payment_method=payment_method,
        customer=customer,
        plan=plan,
        quantity=quantity,
        status=Status.INCOMPLETE,
        collection_method=collection_method,
        billing_anchor=anchor,
        billing_day=billing_day,
        calendar_billing=calendar_billing,
        # A placeholder period until the subscription starts; the engine below
        # replaces it with the trial or the first billing period.
        period_index=-1,
        current_period_start=now,
        current_period_end=start if start > now else now + timedelta(seconds=1),
        start_at=start,
        trial_end=trial_end,
        next_event_at=start,
    )


def lock_subscription(*, tenant: Tenant, subscription_id: int) -> Subscription:
    sub = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "plan__tax_rate", "customer")
        .filter(tenant=tenant, pk=subscription_id)
        .first()
    )
    if sub is None:
        raise NotFound("No such subscription.", param="subscription")
    return sub


class AnchorChoice:
    """Where the billing anchor goes on an interval change."""

    RESET = "reset"  # periods start again from the change (Stripe)
    KEEP = "keep"  # the old anchor's day stays; the first new period is prorated to it
    ALL = (RESET, KEEP)


class PauseUnused:
    """What becomes of the paid, unused time when pausing now."""

    CREDIT = "credit"  # a credit note to the customer's balance
    CARRY = "carry"  # the paid-through date moves past the pause
    ALL = (CREDIT, CARRY)


def interval_changes(sub: Subscription, plan: Plan) -> bool:
    return (plan.interval, plan.interval_count) != (sub.plan.interval, sub.plan.interval_count)


def anchor_choice(tenant: Tenant, anchor: str | None) -> str:
    """The call's choice, or the tenant's default."""
    choice = tenant.interval_change_anchor if anchor is None else anchor
    if choice not in AnchorChoice.ALL:
        raise ValidationFailed("anchor must be 'reset' or 'keep'.", param="anchor")
    return choice


def change_validate(
    tenant: Tenant,
    sub: Subscription,
    plan: Plan | None,
    quantity: int | None,
    when: str,
    behavior: str,
) -> tuple[Plan, int]:
    if sub.status not in CHANGEABLE:
        raise StateConflict(
            f"A {sub.status} subscription cannot be changed.", code="subscription_not_changeable"
        )
    new_plan = plan or sub.plan
    if new_plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="plan")
    if not new_plan.active and new_plan.pk != sub.plan_id:
        raise StateConflict("This plan is not sold any more.", code="plan_inactive")
    new_qty = sub.quantity if quantity is None else quantity
    if not isinstance(new_qty, int) or isinstance(new_qty, bool) or not 1 <= new_qty <= 1_000_000:
        raise ValidationFailed(
            "quantity must be a whole number from 1 to 1,000,000.", param="quantity"
        )
    if new_plan.pricing_model == PricingModel.FLAT and new_qty != 1:
        raise ValidationFailed("A flat plan is sold one at a time.", param="quantity")
    _check_period_amount(new_plan, new_qty)
    if new_plan.currency != sub.plan.currency:
        raise ValidationFailed(
            f"A subscription cannot change currency: it bills in {sub.plan.currency}, "
            f"the plan {new_plan.code} in {new_plan.currency}.",
            param="plan",
            code="plan_currency_mismatch",
        )
    if when not in ("now", "period_end"):
        raise ValidationFailed("when must be 'now' or 'period_end'.", param="when")
    if when == "now" and sub.started and sub.status != Status.TRIALING:
        _check_arrears_change(sub, new_plan, behavior)
    if new_plan.in_arrears and sub.items.filter(ended_at__isnull=True).exists():
        raise ValidationFailed(
            "A subscription with add-ons cannot move to a plan billed in arrears; "
            "remove the add-ons first.",
            param="plan",
            code="arrears_change_with_items",
        )
    if interval_changes(sub, new_plan):
        # The new interval starts a new period at once (credit for the old one's
        # unused part, charge for the new one): a change made now, never scheduled.
        if when != "now":
            raise ValidationFailed(
                "A change of billing interval takes effect now.",
                param="when",
                code="interval_change_now_only",
            )
        if sub.items.filter(ended_at__isnull=True).exists():
            raise ValidationFailed(
                "A subscription with add-ons cannot change its billing interval; "
                "remove the add-ons first.",
                param="plan",
                code="interval_change_with_items",
            )
        if new_plan.term_cycles or sub.plan.term_cycles:
            raise ValidationFailed(
                "A plan with a fixed term cannot change its billing interval.",
                param="plan",
                code="interval_change_fixed_term",
            )
        if ScheduledChange.objects.filter(subscription=sub, status="pending").exists():
            raise StateConflict(
                "The subscription has a change scheduled for its period end; "
                "call it off before changing the interval.",
                code="change_already_scheduled",
            )
    if behavior not in ProrationBehavior.ALL:
        raise ValidationFailed(f"Unknown proration behaviour: {behavior}", param="proration")
    if new_plan.pk == sub.plan_id and new_qty == sub.quantity:
        raise ValidationFailed(
            "That is the subscription's current plan and quantity.", param="plan", code="no_change"
        )
    return new_plan, new_qty


def _check_arrears_change(sub: Subscription, new_plan: Plan, behavior: str) -> None:
    """In arrears, a change now splits the period's use between the plans
    (issue 16, item 6). Between an in-advance and an in-arrears plan it is
    refused (what was paid ahead and what is owed behind do not mix within a
    period); at the period end it is exact, so that is allowed. A change of
    interval in arrears is refused too."""
    if sub.plan.billing_timing != new_plan.billing_timing:
        raise ValidationFailed(
            _(
                "A subscription cannot move now between a plan billed in advance and one "
                "billed in arrears: change at the period end, or cancel and subscribe again."
            ),
            param="plan",
            code="billing_timing_change",
        )
    if not new_plan.in_arrears:
        return
    if interval_changes(sub, new_plan):
        raise ValidationFailed(
            _(
                "A plan billed in arrears cannot change its billing interval: cancel and "
                "subscribe again."
            ),
            param="plan",
            code="arrears_interval_change",
        )
    if behavior == ProrationBehavior.NONE:
        raise ValidationFailed(
            _(
                "In arrears a change bills what each plan was used for: proration "
                "'none' does not apply."
            ),
            param="proration",
            code="arrears_proration_none",
        )


def change_schedule(
    *, tenant: Tenant, sub: Subscription, plan: Plan, quantity: int, now: datetime
) -> None:
    """Change plan and/or quantity at the period end (replacing a change already
    scheduled). ``sub`` is locked and the change validated (``change_validate``)
    by the caller, in its transaction."""
    ScheduledChange.objects.filter(subscription=sub, kind="change", status="pending").update(
        status=ScheduledChange.Status.CANCELED
    )
    ScheduledChange.objects.create(
        tenant=tenant,
        subscription=sub,
        kind=ScheduledChange.Kind.CHANGE,
        effective_at=sub.current_period_end,
        plan=plan,
        quantity=quantity,
    )
    emit(
        tenant_id=tenant.pk,
        type="subscription.change_scheduled",
        at=now,
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "plan": plan.public_id,
            "quantity": quantity,
            "effective_at": sub.current_period_end.isoformat(),
        },
    )


def _check_cancelable(sub: Subscription) -> None:
    if sub.status in (Status.CANCELED, Status.ENDED):
        raise StateConflict(
            f"The subscription is already {sub.status}.", code="subscription_not_changeable"
        )


def cancel_at_period_end(
    *, tenant: Tenant, sub: Subscription, actor: Actor, now: datetime, prorate_credit: bool
) -> Subscription:
    """Schedule the cancellation for the end of the current period. ``sub`` is
    locked by the caller, in its transaction."""
    _check_cancelable(sub)
    if prorate_credit:
        raise ValidationFailed(
            "A cancellation at period end leaves nothing to credit.", param="prorate_credit"
        )
    if not sub.started:
        raise StateConflict(
            "A subscription that has not started is cancelled now.",
            code="subscription_not_started",
        )
    ScheduledChange.objects.get_or_create(
        tenant=tenant,
        subscription=sub,
        kind=ScheduledChange.Kind.CANCEL,
        status=ScheduledChange.Status.PENDING,
        defaults={"effective_at": sub.current_period_end},
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.cancel_scheduled",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "cancel_at": sub.current_period_end.isoformat()},
        target=sub,
    )
    return sub


def cancel_now_begin(*, sub: Subscription) -> None:
    """The first half of a cancellation now: nothing scheduled happens any more.
    Billing then bills the prorations waiting (``engine.Engine.stop``) and
    credits the unused time before ``cancel_now_finish``."""
    _check_cancelable(sub)
    ScheduledChange.objects.filter(subscription=sub, status="pending").update(
        status=ScheduledChange.Status.CANCELED
    )


def cancel_now_finish(
    *, tenant: Tenant, sub: Subscription, actor: Actor, now: datetime, credit: int
) -> Subscription:
    """The subscription ends now; ``credit`` is what billing credited for the
    unused time (told in the event and the audit)."""
    sub.move_to(Status.CANCELED)
    sub.canceled_at, sub.ended_at, sub.next_event_at = now, now, None
    sub.save(update_fields=["status", "canceled_at", "ended_at", "next_event_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.canceled",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "status": sub.status, "credit": credit},
        target=sub,
        changes={"credit": credit},
    )
    return sub


def cancel_reason_record(*, sub: Subscription, code: str, label: str, comment: str) -> None:
    """Keep why ``sub`` is cancelled (now or at period end): the reason's code
    and the label the subscriber was shown. ``sub`` is locked by the caller,
    which also records the event and the audit entry."""
    sub.cancel_reason_code, sub.cancel_reason_label = code[:64], label[:200]
    sub.cancel_comment = comment
    sub.save(update_fields=["cancel_reason_code", "cancel_reason_label", "cancel_comment"])


@transaction.atomic
def subscription_cancel_undo(
    *, tenant: Tenant, subscription_id: int, actor: Actor, now: datetime
) -> Subscription:
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    undone = ScheduledChange.objects.filter(
        subscription=sub, kind="cancel", status="pending"
    ).update(status=ScheduledChange.Status.CANCELED)
    if not undone:
        raise StateConflict("No cancellation is scheduled.", code="no_scheduled_cancellation")
    # The subscription goes on: the reason given for ending it no longer applies.
    sub.cancel_reason_code = sub.cancel_reason_label = sub.cancel_comment = ""
    sub.save(update_fields=["cancel_reason_code", "cancel_reason_label", "cancel_comment"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.cancel_undone",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id},
        target=sub,
    )
    return sub


@transaction.atomic
def subscription_payment_method_set(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    payment_method_id: int | None,
) -> Subscription:
    """Charge this subscription with one of its customer's payment methods, or
    (None) with the customer's default again."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if sub.status in (Status.CANCELED, Status.ENDED):
        raise StateConflict(
            f"A subscription that is {sub.status} is not charged any more.",
            code="subscription_not_changeable",
        )
    method = None
    if payment_method_id is not None:
        # Another customer's (or tenant's) method reads as missing: never charge it.
        method = PaymentMethod.objects.filter(
            tenant=tenant,
            pk=payment_method_id,
            customer_id=sub.customer_id,
            detached_at__isnull=True,
        ).first()
        if method is None:
            raise NotFound("No such payment method for this customer.", param="payment_method")
    old = sub.payment_method.public_id if sub.payment_method_id and sub.payment_method else None
    sub.payment_method = method
    sub.save(update_fields=["payment_method"])
    new = method.public_id if method else None
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.updated",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "payment_method": new},
        target=sub,
        action="subscription.payment_method_changed",
        changes={"payment_method": [old, new]},
    )
    return sub


@transaction.atomic
def subscription_pause(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    cycles: int | None = None,
    until: datetime | None = None,
) -> Subscription:
    """Skip billing for ``cycles`` periods (or until ``until``) from the period end."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    plan = sub.plan
    if sub.status != Status.ACTIVE:
        raise StateConflict(
            f"Only an active subscription can pause; this one is {sub.status}.",
            code="subscription_not_pausable",
        )
    if ScheduledChange.objects.filter(subscription=sub, status="pending").exists():
        raise StateConflict(
            "The subscription already has a change scheduled.", code="change_already_scheduled"
        )
    if sub.pauses_used >= plan.max_pauses:
        raise ValidationFailed(
            f"This plan allows {plan.max_pauses} pause(s) per subscription, all used.",
            param="cycles",
            code="pause_limit_reached",
        )
    if (cycles is None) == (until is None):
        raise ValidationFailed("Give either cycles or until.", param="cycles")
    if until is not None:
        if until <= sub.current_period_end:
            raise ValidationFailed("A pause must end after the current period.", param="until")
        cycles, index = 0, sub.period_index + 1
        while engine.period_bounds(sub, index, tenant.time_zone)[0] < until:
            cycles += 1
            index += 1
            if cycles > plan.max_pause_cycles:
                break
    if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 1:
        raise ValidationFailed("cycles must be a whole number of at least 1.", param="cycles")
    if cycles > plan.max_pause_cycles:
        raise ValidationFailed(
            f"This plan allows pauses of at most {plan.max_pause_cycles} cycle(s).",
            param="cycles",
            code="pause_too_long",
        )
    ScheduledChange.objects.create(
        tenant=tenant,
        subscription=sub,
        kind=ScheduledChange.Kind.PAUSE,
        effective_at=sub.current_period_end,
        pause_cycles=cycles,
    )
    Subscription.objects.filter(pk=sub.pk).update(pauses_used=F("pauses_used") + 1)
    sub.pauses_used += 1
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.pause_scheduled",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "cycles": cycles,
            "from": sub.current_period_end.isoformat(),
        },
        target=sub,
        changes={"cycles": cycles},
    )
    return sub


def pause_call_off(*, tenant: Tenant, sub: Subscription, actor: Actor, now: datetime) -> bool:
    """The first half of a resumption: a scheduled pause is called off (True);
    otherwise the subscription must be paused (False), and billing resumes it
    now (``engine.Engine.resume``), invoicing the rest of the period. ``sub`` is
    locked by the caller, in its transaction."""
    scheduled = ScheduledChange.objects.filter(subscription=sub, kind="pause", status="pending")
    if scheduled.update(status=ScheduledChange.Status.CANCELED):
        Subscription.objects.filter(pk=sub.pk).update(pauses_used=F("pauses_used") - 1)
        sub.pauses_used -= 1
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="subscription.pause_canceled",
            subject_type="subscription",
            subject_id=sub.public_id,
            data={"subscription": sub.public_id, "status": sub.status},
            target=sub,
        )
        return True
    if sub.status != Status.PAUSED:
        raise StateConflict("The subscription is not paused.", code="subscription_not_paused")
    return False


# --- pauses that begin now, mid-period (issue 16) ---------------------------------


def pause_latest_end(sub: Subscription, began: datetime, tz: str) -> datetime:
    """The latest a pause begun at ``began`` may last to: the plan's longest pause,
    in its periods."""
    plan = sub.plan
    return boundary(began, plan.interval, plan.interval_count, plan.max_pause_cycles, tz)


def pause_now_prepare(
    *,
    tenant: Tenant,
    sub: Subscription,
    now: datetime,
    resume_at: datetime | None,
    unused: str | None,
) -> tuple[datetime, str, bool]:
    """Check a pause starting now; returns (resumption, what becomes of the unused
    time, whether a pause scheduled for the period end is brought forward). A
    pause brought forward replaces the scheduled one (it is not a second pause).
    ``sub`` is locked by the caller, in its transaction; the only write (calling
    off the scheduled pause) comes after every check."""
    choice = tenant.pause_unused if unused is None else unused
    if choice not in PauseUnused.ALL:
        raise ValidationFailed("unused must be 'credit' or 'carry'.", param="unused")
    plan = sub.plan
    if sub.status != Status.ACTIVE:
        raise StateConflict(
            f"Only an active subscription can pause; this one is {sub.status}.",
            code="subscription_not_pausable",
        )
    if plan.term_cycles:
        raise ValidationFailed(
            "A plan with a fixed term pauses at a period end.",
            param="when",
            code="pause_fixed_term",
        )
    pending = list(ScheduledChange.objects.filter(subscription=sub, status="pending"))
    scheduled = [c for c in pending if c.kind == ScheduledChange.Kind.PAUSE]
    if len(pending) > len(scheduled):
        raise StateConflict(
            "The subscription already has a change scheduled.", code="change_already_scheduled"
        )
    if not scheduled and sub.pauses_used >= plan.max_pauses:
        raise ValidationFailed(
            f"This plan allows {plan.max_pauses} pause(s) per subscription, all used.",
            param="when",
            code="pause_limit_reached",
        )
    tz = tenant.time_zone
    latest = pause_latest_end(sub, now, tz)
    if resume_at is None:
        resume_at = latest
        if scheduled:
            # Brought forward, it still ends when the scheduled one would have.
            cycles = scheduled[0].pause_cycles or 0
            resume_at = min(latest, engine.period_bounds(sub, sub.period_index + cycles, tz)[1])
    elif resume_at <= now:
        raise ValidationFailed(
            "A pause cannot end in the past.", param="resume_at", code="resume_in_past"
        )
    if latest <= now or resume_at > latest:
        raise ValidationFailed(
            f"This plan allows pauses of at most {plan.max_pause_cycles} cycle(s).",
            param="resume_at",
            code="pause_too_long",
        )
    if scheduled:
        ScheduledChange.objects.filter(pk=scheduled[0].pk).update(
            status=ScheduledChange.Status.CANCELED
        )
    else:
        Subscription.objects.filter(pk=sub.pk).update(pauses_used=F("pauses_used") + 1)
        sub.pauses_used += 1
    return resume_at, choice, bool(scheduled)


@transaction.atomic
def subscription_resume_on(
    *, tenant: Tenant, subscription_id: int, actor: Actor, now: datetime, at: datetime
) -> Subscription:
    """Set (or move) the date a mid-period pause ends; billing resumes then,
    through the billing run (``engine.Engine.resume_from_pause``)."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if sub.status != Status.PAUSED:
        raise StateConflict("The subscription is not paused.", code="subscription_not_paused")
    if sub.paused_at is None:
        raise StateConflict(
            "This pause skips whole periods; resume it now instead.",
            code="resume_date_unsupported",
        )
    if at <= now:
        raise ValidationFailed(
            "A resumption date must be in the future.", param="resume_at", code="resume_in_past"
        )
    if at > pause_latest_end(sub, sub.paused_at, tenant.time_zone):
        raise ValidationFailed(
            f"This plan allows pauses of at most {sub.plan.max_pause_cycles} cycle(s).",
            param="resume_at",
            code="pause_too_long",
        )
    previous = sub.current_period_end
    sub.current_period_end = sub.next_event_at = at
    sub.save(update_fields=["current_period_end", "next_event_at"])
    # A cancellation scheduled for the end of the pause follows it.
    ScheduledChange.objects.filter(subscription=sub, status="pending").update(effective_at=at)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.resume_scheduled",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "resumes_at": at.isoformat()},
        target=sub,
        changes={"resumes_at": [previous.isoformat(), at.isoformat()]},
    )
    return sub


def subscription_invoice_paid(*, tenant: Tenant, subscription_id: int, now: datetime) -> None:
    """A paid invoice brings an incomplete subscription to active. (A past-due
    one comes back through dunning, once none of its invoices is in dunning:
    ``subscription_reactivate``.)"""
    sub = Subscription.objects.select_for_update().filter(tenant=tenant, pk=subscription_id).first()
    if sub is None or sub.status != Status.INCOMPLETE:
        return
    if not sub.started:
        return
    previous = sub.status
    sub.move_to(Status.ACTIVE)
    sub.save(update_fields=["status"])
    emit(
        tenant_id=tenant.pk,
        type="subscription.activated",
        at=now,
        subject_type="subscription",
        subject_id=sub.public_id,
        data={"subscription": sub.public_id, "previous_status": previous},
    )
