"""The subscription commands that invoice at once: subscribe, change now (and
its preview), cancel now (with credit for the unused time), resume.

Each one is a billing service: it locks the subscription, lets the lifecycle
(``subscriptions.services.lifecycle`` and ``subscriptions.engine``) make its move, prices
what that move owes and writes the invoice, credit notes and subscription in
one transaction. The moves that owe nothing (pause, scheduled changes, undoing a
cancellation) are the lifecycle's own services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from billing import pricing
from billing.coupons import coupon_redeem
from billing.domain.amounts import prorate, remaining_fraction
from billing.domain.invoicing import PRORATION, ProposedLine, Totals, price, totals
from billing.models import CreditNote, Invoice, InvoiceLine
from billing.services import credit_unused_time
from billing.terms import contract_terms
from core.actors import Actor
from core.errors import ValidationFailed
from customers.models import Customer
from subscriptions import engine
from subscriptions.domain.cycles import local_date
from subscriptions.models import Plan, Subscription, SubscriptionStatus
from subscriptions.services import items as item_rules
from subscriptions.services import lifecycle
from subscriptions.services.lifecycle import ProrationBehavior
from tenants import audit
from tenants.models import Tenant

Status = SubscriptionStatus


@transaction.atomic
def subscription_create(
    *,
    tenant: Tenant,
    customer: Customer,
    plan: Plan,
    actor: Actor,
    now: datetime,
    quantity: int = 1,
    trial_days: int | None = None,
    start_at: datetime | None = None,
    anchor_day: int | None = None,
    calendar_billing: bool = False,
    coupon: str | None = None,
    collection_method: str = "charge_automatically",
    installments: int | None = None,
    payment_method: Any = None,
    items: Sequence[tuple[Plan, int]] = (),
) -> Subscription:
    """Subscribe ``customer`` to ``plan``: now or later, with or without a trial,
    anchored on the start, a day of the month, or the calendar; what is due at
    the start is invoiced now. ``items``: add-ons (plan, quantity) billed with
    the base plan from the start, their setup fees on the first invoice."""
    sub = lifecycle.subscription_open(
        tenant=tenant,
        customer=customer,
        plan=plan,
        now=now,
        quantity=quantity,
        trial_days=trial_days,
        start_at=start_at,
        anchor_day=anchor_day,
        calendar_billing=calendar_billing,
        collection_method=collection_method,
        payment_method=payment_method,
    )
    plan = sub.plan  # the version subscribed (the caller's copy may predate it)
    for item_plan, item_quantity in items:
        item_rules.item_create(
            tenant=tenant, sub=sub, plan=item_plan, quantity=item_quantity, now=now
        )
    if coupon:
        coupon_redeem(tenant=tenant, code=coupon, customer=customer, plan=plan, sub=sub, now=now)
    batch = pricing.load(tenant, [sub])
    eng = engine.Engine(batch.lifecycle)
    eng.advance(sub, now)
    eng.created(sub, now)
    invoices = pricing.write(batch, now)
    if installments is not None:
        # Chosen at checkout, in the same transaction, so the first charge
        # (sent after commit) already takes only the first part.
        from billing.payments import invoice_installments_create

        first = [i for i in invoices if i.billing_reason == Invoice.Reason.SUBSCRIPTION_CREATE]
        if not first or first[0].status != Invoice.Status.OPEN:
            raise ValidationFailed(
                "Nothing is due now to pay in installments.",
                param="installments",
                code="installments_not_allowed",
            )
        invoice_installments_create(
            tenant=tenant, invoice_id=first[0].id, count=installments, actor=actor, now=now
        )
        # Remembered so each renewal is split the same way (billing.run).
        Subscription.objects.filter(pk=sub.pk).update(installments=installments)
        sub.installments = installments
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.created",
        target=sub,
        at=now,
        changes={
            "plan": plan.code,
            "quantity": quantity,
            "coupon": coupon or "",
            **({"items": [[p.code, q] for p, q in items]} if items else {}),
        },
    )
    return sub


@dataclass(frozen=True, slots=True)
class ChangePreview:
    lines: list[ProposedLine]
    effective_at: datetime
    total_minor: int


def change_lines(
    tenant: Tenant, change: engine.PlanChange, *, credit_only: bool = False
) -> list[ProposedLine]:
    """Credit for the unused part of the old price, charge for the rest of the new
    one (``credit_only``: an interval change, whose new period is charged whole)."""
    if change.window is None:
        return []
    fraction = remaining_fraction(
        period_start=change.window[0],
        period_end=change.window[1],
        at=change.at,
        precision=tenant.proration_precision,
        tz=tenant.time_zone,
        day_count=tenant.proration_day_count,
        change_day=tenant.proration_change_day,
    )
    old_terms = contract_terms(change.old_plan, change.old_unit_amount_minor)
    new_terms = contract_terms(change.new_plan, change.new_unit_amount_minor)
    end = change.end
    lines = []
    credit = prorate(old_terms.period_amount(change.old_quantity), fraction, tenant.rounding_mode)
    if credit:
        lines.append(
            ProposedLine(
                kind=PRORATION,
                description=change.old_plan.name,
                amount_minor=-credit,
                quantity=change.old_quantity,
                period_start=change.at,
                period_end=end,
                plan_id=change.old_plan.pk,
                tax_percent=old_terms.tax_percent,
                tax_inclusive=old_terms.tax_inclusive,
            )
        )
    if credit_only:
        return lines
    charge = prorate(new_terms.period_amount(change.new_quantity), fraction, tenant.rounding_mode)
    if (
        tenant.quantity_change_lines == "difference"
        and change.old_plan.pk == change.new_plan.pk
        and old_terms == new_terms
        and change.old_quantity != change.new_quantity
    ):
        # Bill only what changed (Recurly): one line, the charge less the credit as
        # each is rounded today, so totals are the same under either convention.
        difference = charge - credit
        if not difference:
            return []
        return [
            ProposedLine(
                kind=PRORATION,
                description=change.new_plan.name,
                amount_minor=difference,
                quantity=change.new_quantity - change.old_quantity,
                period_start=change.at,
                period_end=end,
                plan_id=change.new_plan.pk,
                tax_percent=new_terms.tax_percent,
                tax_inclusive=new_terms.tax_inclusive,
            )
        ]
    if charge:
        lines.append(
            ProposedLine(
                kind=PRORATION,
                description=change.new_plan.name,
                amount_minor=charge,
                quantity=change.new_quantity,
                period_start=change.at,
                period_end=end,
                plan_id=change.new_plan.pk,
                tax_percent=new_terms.tax_percent,
                tax_inclusive=new_terms.tax_inclusive,
            )
        )
    return lines


def subscription_preview_change(
    *,
    tenant: Tenant,
    subscription: Subscription,
    now: datetime,
    plan: Plan | None = None,
    quantity: int | None = None,
    when: str = "now",
    proration: str = ProrationBehavior.NEXT_INVOICE,
    anchor: str | None = None,
) -> ChangePreview:
    """The exact lines the change would produce, priced, without saving anything."""
    new_plan, new_qty = lifecycle.change_validate(
        tenant, subscription, plan, quantity, when, proration
    )
    lifecycle.anchor_choice(tenant, anchor)
    if _is_interval_change(subscription, new_plan):
        return _preview_interval_change(
            tenant=tenant,
            subscription=subscription,
            now=now,
            plan=new_plan,
            quantity=new_qty,
            proration=proration,
            anchor=anchor,
        )
    if when == "period_end" or proration == ProrationBehavior.NONE:
        return ChangePreview(
            [], subscription.current_period_end if when == "period_end" else now, 0
        )
    # The same pricing the change itself goes through, with the coupon that
    # applies today; reading it changes nothing.
    batch = pricing.load(tenant, [subscription])
    discount, _redemption = pricing.active_discount(batch, subscription, first=False)
    if _splits_arrears(subscription):
        # In arrears: the old plan's use up to now (waiting for the period's
        # invoice, or invoiced now with the prorations waiting); no credit.
        lines = arrears_used_lines(tenant, batch, subscription, now)
        if proration == ProrationBehavior.INVOICE_NOW and lines:
            lines += pricing.pending_as_lines(batch.pending.get(subscription.pk, []))
        lines, _carried = price(lines, discount=discount, rounding=tenant.rounding_mode)
        return ChangePreview(lines, now, sum(line.total_minor for line in lines))
    change = engine.plan_change(subscription, new_plan, new_qty, now, tenant.time_zone)
    lines = change_lines(tenant, change)
    if proration == ProrationBehavior.INVOICE_NOW:
        # Invoicing now also bills the prorations already waiting.
        lines += pricing.pending_as_lines(batch.pending.get(subscription.pk, []))
    lines, _carried = price(lines, discount=discount, rounding=tenant.rounding_mode)
    if proration == ProrationBehavior.NEXT_INVOICE:
        lines = [line for line in lines if line.kind == PRORATION]
    return ChangePreview(lines, now, sum(line.total_minor for line in lines))


@transaction.atomic
def subscription_change(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    plan: Plan | None = None,
    quantity: int | None = None,
    when: str = "now",
    proration: str = ProrationBehavior.NEXT_INVOICE,
    anchor: str | None = None,
) -> Subscription:
    """Change plan and/or quantity now (prorated as ``proration`` says: on the
    next invoice, invoiced now, or not at all) or at the period end. A change of
    billing interval starts the new period now and invoices it at once, with the
    old period's unused part credited (unless ``proration`` is none); ``anchor``
    (default: the tenant's) resets the anchor to now or keeps its day."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    new_plan, new_qty = lifecycle.change_validate(tenant, sub, plan, quantity, when, proration)
    choice = lifecycle.anchor_choice(tenant, anchor)
    old = {"plan": sub.plan.code, "quantity": sub.quantity}
    moved = _is_interval_change(sub, new_plan)
    if moved:
        _change_interval(tenant, sub, new_plan, new_qty, now, proration=proration, anchor=choice)
    elif when == "period_end":
        lifecycle.change_schedule(tenant=tenant, sub=sub, plan=new_plan, quantity=new_qty, now=now)
    elif _splits_arrears(sub):
        _change_arrears(tenant, sub, new_plan, new_qty, now, proration=proration)
    else:
        change = engine.plan_change(sub, new_plan, new_qty, now, tenant.time_zone)
        lines = [] if proration == ProrationBehavior.NONE else change_lines(tenant, change)
        if proration == ProrationBehavior.NEXT_INVOICE:
            pricing.lines_pend(tenant, sub, lines, now)
        batch = pricing.load(tenant, [sub])
        engine.Engine(batch.lifecycle).change_now(change)
        if proration == ProrationBehavior.INVOICE_NOW and lines:
            pricing.bill(
                batch,
                sub,
                at=now,
                reason=Invoice.Reason.SUBSCRIPTION_UPDATE,
                lines=lines,
                period=None,
            )
        pricing.write(batch, now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.changed",
        target=sub,
        at=now,
        changes={
            "plan": [old["plan"], new_plan.code],
            "quantity": [old["quantity"], new_qty],
            "when": when,
            "proration": proration,
            "anchor": choice if moved else "",
        },
    )
    return sub


def _splits_arrears(sub: Subscription) -> bool:
    """A change now on a subscription billed in arrears, in use: the period's use
    splits at the change (``change_validate`` refused a change of timing)."""
    return engine.Engine.bills_in_arrears(sub)


def arrears_used_lines(
    tenant: Tenant, batch: pricing.Batch, sub: Subscription, at: datetime
) -> list[ProposedLine]:
    """In arrears, the current plan's use not billed yet, up to ``at``: one
    recurring line (none at the period's start)."""
    used = engine.Engine(batch.lifecycle).used(sub, at)
    return [pricing.charge_line(tenant, used)] if used is not None else []


def _change_arrears(
    tenant: Tenant, sub: Subscription, plan: Plan, quantity: int, now: datetime, *, proration: str
) -> None:
    """In arrears nothing was paid ahead, so nothing is credited: the old plan's
    use up to now is billed (on the period's invoice, as a pending line, or at
    once with ``invoice_now``) and the new plan's from now, at the period's end."""
    batch = pricing.load(tenant, [sub])
    lines = arrears_used_lines(tenant, batch, sub, now)
    if proration == ProrationBehavior.NEXT_INVOICE and lines:
        pricing.lines_pend(tenant, sub, lines, now)
    change = engine.plan_change(sub, plan, quantity, now, tenant.time_zone)
    engine.Engine(batch.lifecycle).change_now(change)
    if proration == ProrationBehavior.INVOICE_NOW and lines:
        pricing.bill(
            batch, sub, at=now, reason=Invoice.Reason.SUBSCRIPTION_UPDATE, lines=lines, period=None
        )
    pricing.write(batch, now)


def _is_interval_change(sub: Subscription, plan: Plan) -> bool:
    """An interval change that moves the periods: a started subscription out of
    its trial (in a trial, or before the start, nothing was charged and the new
    plan's periods simply begin when billing does)."""
    return (
        lifecycle.interval_changes(sub, plan)
        and sub.started
        and sub.status in (Status.ACTIVE, Status.PAST_DUE, Status.INCOMPLETE)
    )


def _change_interval(
    tenant: Tenant,
    sub: Subscription,
    plan: Plan,
    quantity: int,
    now: datetime,
    *,
    proration: str,
    anchor: str,
) -> None:
    """The new interval's period starts now and is invoiced at once, with the
    credit for the old period's unused part (and the prorations waiting)."""
    change = engine.plan_change(sub, plan, quantity, now, tenant.time_zone)
    credit = (
        []
        if proration == ProrationBehavior.NONE
        else change_lines(tenant, change, credit_only=True)
    )
    batch = pricing.load(tenant, [sub])
    period = engine.Engine(batch.lifecycle).change_interval(
        change, reset_anchor=anchor == lifecycle.AnchorChoice.RESET
    )
    pricing.bill(
        batch,
        sub,
        at=now,
        reason=Invoice.Reason.SUBSCRIPTION_UPDATE,
        lines=[*credit, pricing.charge_line(tenant, period)],
        period=(period.start, period.end),
    )
    pricing.write(batch, now)


def _preview_interval_change(
    *,
    tenant: Tenant,
    subscription: Subscription,
    now: datetime,
    plan: Plan,
    quantity: int,
    proration: str,
    anchor: str | None,
) -> ChangePreview:
    """``subscription_change`` itself, in a transaction rolled back: the preview
    is the invoice confirming writes, to the cent."""
    result: list[ChangePreview] = []
    try:
        with transaction.atomic():
            before = set(
                Invoice.objects.filter(subscription=subscription).values_list("pk", flat=True)
            )
            subscription_change(
                tenant=tenant,
                subscription_id=subscription.pk,
                actor=Actor.system("preview"),
                now=now,
                plan=plan,
                quantity=quantity,
                proration=proration,
                anchor=anchor,
            )
            written = (
                Invoice.objects.filter(subscription=subscription)
                .exclude(pk__in=before)
                .order_by("pk")
                .last()
            )
            lines = (
                [_proposed(line) for line in written.lines.order_by("position", "pk")]
                if written is not None
                else []
            )
            result.append(ChangePreview(lines, now, written.total_minor if written else 0))
            raise _DryRun
    except _DryRun:
        pass
    return result[0]


def _proposed(line: InvoiceLine) -> ProposedLine:
    return ProposedLine(
        kind=line.kind,
        description=line.description,
        amount_minor=line.amount_minor,
        quantity=line.quantity,
        discount_minor=line.discount_minor,
        tax_minor=line.tax_minor,
        tax_inclusive=line.tax_inclusive,
        tax_percent=line.tax_percent,
        period_start=line.period_start,
        period_end=line.period_end,
        plan_id=line.plan_id,
        coupon_id=line.coupon_id,
    )


def _credit_unused_time(
    tenant: Tenant,
    sub: Subscription,
    now: datetime,
    *,
    reason: str = "Unused time after cancellation",
    until: datetime | None = None,
    since: datetime | None = None,
) -> int:
    """Credit notes for the unused share, from ``now`` to ``until`` (the current
    period's end), of everything charged for that period (its renewal, and any
    mid-period changes or resumption), one per invoice, each rounded once.
    Returns the total credited.

    Only lines starting at or after ``since`` (the current period's start) count:
    after a credited mid-period pause and its resumption inside the same period,
    the period's first charge was credited from the pause on already, and only
    what the resumption charged is still unused (never the same days twice)."""
    end = sub.current_period_end if until is None else until
    lines = InvoiceLine.objects.filter(
        invoice__subscription=sub,
        invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
        kind__in=[InvoiceLine.Kind.RECURRING, InvoiceLine.Kind.PRORATION],
        period_end=end,
        period_start__isnull=False,
    ).order_by("invoice_id", "position")
    if since is not None:
        lines = lines.filter(period_start__gte=since)
    # Each line credited as the invoice priced it (billing.services.credit_unused_time:
    # net prorated and rounded, then its discount and tax), one note per invoice.
    notes = credit_unused_time(tenant=tenant, lines=list(lines), at=now, reason=reason)
    return sum(note.total_minor for note in notes)


@transaction.atomic
def subscription_cancel(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    at_period_end: bool = False,
    prorate_credit: bool = False,
) -> Subscription:
    """Cancel at the period end, or now: the prorations waiting are invoiced and,
    with ``prorate_credit``, the unused time is credited to the customer."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if at_period_end:
        return lifecycle.cancel_at_period_end(
            tenant=tenant, sub=sub, actor=actor, now=now, prorate_credit=prorate_credit
        )
    lifecycle.cancel_now_begin(sub=sub)
    # Prorations still waiting are billed first, so the credit below covers them.
    batch = pricing.load(tenant, [sub])
    eng = engine.Engine(batch.lifecycle)
    eng.stop(sub, now)
    eng.end_items(sub, now)
    pricing.write(batch, now)
    credit = 0
    if prorate_credit and sub.status in (Status.ACTIVE, Status.PAST_DUE):
        credit = _credit_unused_time(tenant, sub, now, since=sub.current_period_start)
    elif prorate_credit and sub.paused_at is not None and sub.pause_carry_until is not None:
        # Paused with its unused time carried: that time is still owed back.
        credit = _credit_unused_time(
            tenant, sub, sub.paused_at, until=sub.pause_carry_until, since=None
        )
    return lifecycle.cancel_now_finish(tenant=tenant, sub=sub, actor=actor, now=now, credit=credit)


@transaction.atomic
def subscription_resume(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    resume_at: datetime | None = None,
) -> Subscription:
    """Resume early: a scheduled pause is called off; a running one ends now and
    the rest of the current period is billed, prorated. With ``resume_at``, a
    pause begun mid-period ends on that date instead (nothing is billed now)."""
    if resume_at is not None:
        return lifecycle.subscription_resume_on(
            tenant=tenant, subscription_id=subscription_id, actor=actor, now=now, at=resume_at
        )
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if lifecycle.pause_call_off(tenant=tenant, sub=sub, actor=actor, now=now):
        return sub
    batch = pricing.load(tenant, [sub])
    eng = engine.Engine(batch.lifecycle)
    if sub.paused_at is not None:
        eng.resume_from_pause(sub, now)
    else:
        eng.resume(sub, now)
    pricing.write(batch, now)
    audit.record(tenant=tenant, actor=actor, action="subscription.resumed", target=sub, at=now)
    return sub


@transaction.atomic
def subscription_pause_now(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    resume_at: datetime | None = None,
    unused: str | None = None,
) -> Subscription:
    """Pause now, mid-period, until ``resume_at`` (default: the plan's longest
    pause): billing stops, and the paid time left in the period is credited to
    the customer's balance or carried past the pause (``unused``, default: the
    tenant's). A pause scheduled for the period end is brought forward."""
    sub = lifecycle.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    until, choice, brought_forward = lifecycle.pause_now_prepare(
        tenant=tenant, sub=sub, now=now, resume_at=resume_at, unused=unused
    )
    credit = 0
    if engine.Engine.bills_in_arrears(sub):
        # In arrears nothing was paid ahead: the use until now is invoiced now
        # (with the prorations waiting) and the pause owes nothing.
        batch = pricing.load(tenant, [sub])
        engine.Engine(batch.lifecycle).stop(sub, now)
        pricing.write(batch, now)
        choice = lifecycle.PauseUnused.CREDIT
    elif choice == lifecycle.PauseUnused.CREDIT:
        # Prorations waiting are billed first, so the credit below covers them
        # (as a cancellation now does).
        batch = pricing.load(tenant, [sub])
        engine.Engine(batch.lifecycle).stop(sub, now)
        pricing.write(batch, now)
        credit = _credit_unused_time(
            tenant, sub, now, reason="Unused time after pause", since=sub.current_period_start
        )
    carried = sub.current_period_end
    batch = pricing.load(tenant, [sub])
    engine.Engine(batch.lifecycle).pause_now(
        sub, now, resume_at=until, carry=choice == lifecycle.PauseUnused.CARRY
    )
    pricing.write(batch, now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="subscription.paused",
        target=sub,
        at=now,
        changes={
            "resumes_at": until.isoformat(),
            "unused": choice,
            "credit": credit,
            "carried_until": carried.isoformat() if choice == "carry" else "",
            "brought_forward": brought_forward,
        },
    )
    return sub


@dataclass(frozen=True, slots=True)
class PausePreview:
    """What ``subscription_pause_now`` would do: the credit (one note per invoice),
    or the paid time carried, and when billing resumes."""

    unused: str
    resumes_at: datetime
    credit_minor: int
    credits: list[tuple[str, int]]  # (invoice number, amount credited)
    carried_from: datetime | None  # the paid-through date carried past the pause
    carried_days: int


def subscription_preview_pause(
    *,
    tenant: Tenant,
    subscription_id: int,
    now: datetime,
    resume_at: datetime | None = None,
    unused: str | None = None,
) -> PausePreview:
    """The pause itself, run in a transaction that is rolled back: the credit
    shown is the credit confirming writes. Raises the same errors."""
    result: list[PausePreview] = []
    try:
        with transaction.atomic():
            before = set(
                CreditNote.objects.filter(
                    tenant=tenant, invoice__subscription_id=subscription_id
                ).values_list("pk", flat=True)
            )
            sub = subscription_pause_now(
                tenant=tenant,
                subscription_id=subscription_id,
                actor=Actor.system("preview"),
                now=now,
                resume_at=resume_at,
                unused=unused,
            )
            notes = (
                CreditNote.objects.filter(tenant=tenant, invoice__subscription=sub)
                .exclude(pk__in=before)
                .select_related("invoice")
                .order_by("pk")
            )
            credits = [(n.invoice.number or "", n.total_minor) for n in notes]
            carried = sub.pause_carry_until
            days = (
                (local_date(carried, tenant.time_zone) - local_date(now, tenant.time_zone)).days
                if carried
                else 0
            )
            result.append(
                PausePreview(
                    unused="carry" if carried else "credit",
                    resumes_at=sub.current_period_end,
                    credit_minor=sum(amount for _n, amount in credits),
                    credits=credits,
                    carried_from=carried,
                    carried_days=days,
                )
            )
            raise _DryRun
    except _DryRun:
        pass
    return result[0]


@dataclass
class NextInvoicePreview:
    """The invoice the subscription's next event will write, as things stand."""

    lines: list[ProposedLine]
    issued_at: datetime
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    totals: Totals


def subscription_preview_next_invoice(
    *, tenant: Tenant, subscription_id: int
) -> NextInvoicePreview | None:
    """The next invoice, priced exactly as the billing run will price it: the
    engine runs the next event on a fresh, unsaved copy (scheduled changes, the
    prorations waiting and the coupon included). Nothing is saved; None when the
    next event writes no invoice (canceled, ending, paused)."""
    sub = (
        Subscription.objects.select_related("plan", "plan__tax_rate")
        .filter(tenant=tenant, pk=subscription_id)
        .first()
    )
    if sub is None or sub.next_event_at is None:
        return None
    at = sub.current_period_end if sub.started else sub.start_at
    batch = pricing.load(tenant, [sub])
    engine.Engine(batch.lifecycle).advance(sub, max(at, sub.next_event_at))
    pricing.price_owed(batch)
    if not batch.drafts:
        return None
    draft = batch.drafts[-1]
    return NextInvoicePreview(
        lines=draft.lines,
        issued_at=draft.issued_at,
        currency=draft.currency,
        period_start=draft.period_start,
        period_end=draft.period_end,
        totals=totals(draft.lines),
    )


# --- the first invoice of a new subscription, before it is made (dashboard) ----------


@dataclass(frozen=True, slots=True)
class FirstInvoiceLine:
    kind: str
    kind_label: str
    description: str
    quantity: int
    amount_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True, slots=True)
class CreatePreview:
    """What ``subscription_create`` would do: the subscription's state and dates
    and the invoice it writes at once (``lines`` empty when nothing is due now)."""

    status: str
    start_at: datetime
    trial_end: datetime | None
    period_end: datetime
    currency: str
    lines: list[FirstInvoiceLine]
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    amount_due_minor: int
    installments: list[tuple[datetime, int]]
    next_charge_at: datetime | None  # the invoice after this one, as the run will write it
    next_total_minor: int | None


class _DryRun(Exception):
    """Rolls the preview's transaction back (never escapes)."""


def subscription_preview_create(
    *, tenant: Tenant, customer: Customer | None, plan: Plan, now: datetime, **options: Any
) -> CreatePreview:
    """The exact first invoice of a new subscription, and the one after it:
    ``subscription_create`` itself runs, with the same ``options``, in a
    transaction that is then rolled back, so the preview is what confirming
    writes, to the cent. Nothing stays: no rows, no events, and the charge it
    would queue on commit is discarded with the transaction. ``customer`` None
    prices for a visitor who is not a customer yet (a checkout): a stand-in row
    lives inside the same rolled-back transaction. Raises the same
    ``DomainError`` confirming would."""
    result: list[CreatePreview] = []
    try:
        with transaction.atomic():
            if customer is None:
                customer = Customer.objects.create(tenant=tenant, name="preview")
            sub = subscription_create(
                tenant=tenant,
                customer=customer,
                plan=plan,
                actor=Actor.system("preview"),
                now=now,
                **options,
            )
            first = (
                Invoice.objects.filter(
                    tenant=tenant,
                    subscription=sub,
                    billing_reason=Invoice.Reason.SUBSCRIPTION_CREATE,
                )
                .order_by("pk")
                .first()
            )
            lines = (
                [
                    FirstInvoiceLine(
                        kind=line.kind,
                        kind_label=str(line.get_kind_display()),
                        description=line.description,
                        quantity=line.quantity,
                        amount_minor=line.amount_minor,
                        discount_minor=line.discount_minor,
                        tax_minor=line.tax_minor,
                        total_minor=line.total_minor,
                        period_start=line.period_start,
                        period_end=line.period_end,
                    )
                    for line in InvoiceLine.objects.filter(tenant=tenant, invoice=first).order_by(
                        "position", "pk"
                    )
                ]
                if first is not None
                else []
            )
            parts = (
                [(i.due_at, i.amount_minor) for i in first.installments.order_by("number")]
                if first is not None
                else []
            )
            following = subscription_preview_next_invoice(tenant=tenant, subscription_id=sub.pk)
            result.append(
                CreatePreview(
                    status=sub.status,
                    start_at=sub.start_at,
                    trial_end=sub.trial_end,
                    period_end=sub.current_period_end,
                    currency=sub.plan.currency,
                    lines=lines,
                    subtotal_minor=first.subtotal_minor if first else 0,
                    discount_minor=first.discount_minor if first else 0,
                    tax_minor=first.tax_minor if first else 0,
                    total_minor=first.total_minor if first else 0,
                    amount_due_minor=first.amount_due_minor if first else 0,
                    installments=parts,
                    next_charge_at=following.issued_at if following else None,
                    next_total_minor=following.totals.total_minor if following else None,
                )
            )
            raise _DryRun
    except _DryRun:
        pass
    return result[0]
