"""The renewal engine: everything due on a subscription, up to ``now``, in order.

Used by the billing run (batches of due subscriptions), by test clocks (the
same code with the clock's frozen time) and by ``subscription_create``. A batch
is loaded in a fixed number of queries, advanced in memory, and written in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction

from billing.domain.amounts import prorate, remaining_fraction
from billing.domain.invoicing import (
    RECURRING,
    SETUP_FEE,
    Discount,
    ProposedLine,
    price,
)
from billing.models import CouponRedemption, Invoice, PendingLine
from billing.services import InvoiceDraft, WrittenInvoice, invoices_write
from core.bulk import bulk_set
from customers.models import Customer
from subscriptions.domain.cycles import boundary
from subscriptions.models import Plan, ScheduledChange, Subscription, SubscriptionStatus
from subscriptions.terms import coupon_discount, plan_terms
from tenants.models import Tenant
from tenants.outbox import PendingEvent, emit_many

Status = SubscriptionStatus
SUB_FIELDS = [
    "plan",
    "quantity",
    "status",
    "period_index",
    "current_period_start",
    "current_period_end",
    "next_event_at",
    "paid_cycles",
    "pause_cycles_left",
    "term_notice_sent",
    "canceled_at",
    "ended_at",
]


@dataclass
class Batch:
    tenant: Tenant
    subs: list[Subscription]
    changes: dict[int, list[ScheduledChange]] = field(default_factory=dict)
    pending: dict[int, list[PendingLine]] = field(default_factory=dict)
    redemptions: dict[int, CouponRedemption] = field(default_factory=dict)
    locales: dict[int, str] = field(default_factory=dict)
    drafts: list[InvoiceDraft] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)
    touched_changes: list[ScheduledChange] = field(default_factory=list)
    touched_redemptions: list[CouponRedemption] = field(default_factory=list)


def load(tenant: Tenant, subs: Sequence[Subscription]) -> Batch:
    """The rows the engine reads beside the subscriptions: a fixed number of
    queries a batch, whatever its size. Plans are loaded once each and shared."""
    ids = [s.pk for s in subs]
    batch = Batch(tenant=tenant, subs=list(subs))
    plans = Plan.objects.select_related("tax_rate").in_bulk({s.plan_id for s in subs})
    for sub in subs:
        if not Subscription.plan.is_cached(sub):
            sub.plan = plans[sub.plan_id]
    batch.locales = dict(
        Customer.objects.filter(pk__in={s.customer_id for s in subs}).values_list("id", "locale")
    )
    changes: dict[int, list[ScheduledChange]] = defaultdict(list)
    for change in (
        ScheduledChange.objects.filter(subscription_id__in=ids, status="pending")
        .select_related("plan", "plan__tax_rate")
        .order_by("effective_at", "id")
    ):
        changes[change.subscription_id].append(change)
    pending: dict[int, list[PendingLine]] = defaultdict(list)
    for line in PendingLine.objects.filter(subscription_id__in=ids, invoice__isnull=True).order_by(
        "created_at", "id"
    ):
        pending[line.subscription_id].append(line)
    batch.changes, batch.pending = changes, pending
    batch.redemptions = {
        r.subscription_id: r
        for r in CouponRedemption.objects.filter(subscription_id__in=ids).select_related("coupon")
    }
    return batch


def period_bounds(sub: Subscription, index: int, tz: str) -> tuple[datetime, datetime]:
    plan = sub.plan
    return (
        boundary(
            sub.billing_anchor, plan.interval, plan.interval_count, index, tz, sub.billing_day
        ),
        boundary(
            sub.billing_anchor, plan.interval, plan.interval_count, index + 1, tz, sub.billing_day
        ),
    )


def recurring_line(
    *,
    tenant: Tenant,
    plan: Plan,
    quantity: int,
    start: datetime,
    end: datetime,
    nominal_start: datetime,
    nominal_end: datetime,
) -> ProposedLine:
    """The plan's charge for ``[start, end)``; a short first period is prorated
    against the full period it is part of."""
    terms = plan_terms(plan)
    full = terms.period_amount(quantity)
    amount = full
    if (start, end) != (nominal_start, nominal_end):
        fraction = remaining_fraction(
            period_start=nominal_start,
            period_end=nominal_end,
            at=start,
            precision=tenant.proration_precision,
            tz=tenant.time_zone,
        )
        amount = prorate(full, fraction, tenant.rounding_mode)
    return ProposedLine(
        kind=RECURRING,
        description=plan.name,
        quantity=quantity,
        amount_minor=amount,
        tax_percent=terms.tax_percent,
        tax_inclusive=terms.tax_inclusive,
        period_start=start,
        period_end=end,
        plan_id=plan.pk,
    )


def pending_as_lines(lines: Sequence[PendingLine]) -> list[ProposedLine]:
    return [
        ProposedLine(
            kind=p.kind,
            description=p.description,
            quantity=p.quantity,
            amount_minor=p.amount_minor,
            period_start=p.period_start,
            period_end=p.period_end,
            plan_id=p.plan_id,
            tax_percent=p.tax_percent,
            tax_inclusive=p.tax_inclusive,
        )
        for p in lines
    ]


class Engine:
    def __init__(self, batch: Batch):
        self.b = batch
        self.tenant = batch.tenant
        self.tz = batch.tenant.time_zone

    # -- events and invoices -------------------------------------------------

    def event(self, sub: Subscription, type: str, at: datetime, **data: object) -> None:
        self.b.events.append(
            PendingEvent(
                self.tenant.pk,
                type,
                at,
                "subscription",
                sub.public_id,
                {"subscription": sub.public_id, "status": sub.status, **data},
            )
        )

    def active_discount(
        self, sub: Subscription, *, first: bool
    ) -> tuple[Discount | None, CouponRedemption | None]:
        redemption = self.b.redemptions.get(sub.pk)
        if redemption is None:
            return None, None
        recurring = redemption.cycles_left is None or redemption.cycles_left > 0
        setup = first and not redemption.setup_applied
        if not recurring and not setup:
            return None, None
        discount = coupon_discount(redemption.coupon, recurring=recurring)
        if not setup:
            discount = _without_setup(discount)
        if (
            discount.amount_off_minor is not None
            and redemption.recurring_uses == 0
            and redemption.setup_discount_minor
        ):
            # The first cycle's pool was partly spent on the setup fee already.
            discount = replace(
                discount,
                amount_off_minor=max(
                    0, discount.amount_off_minor - redemption.setup_discount_minor
                ),
            )
        return discount, redemption

    def bill(
        self,
        sub: Subscription,
        *,
        at: datetime,
        reason: str,
        lines: list[ProposedLine],
        period: tuple[datetime, datetime] | None,
        first: bool = False,
    ) -> None:
        pending = self.b.pending.pop(sub.pk, [])
        all_lines = lines + pending_as_lines(pending)
        if not all_lines:
            return
        discount, redemption = self.active_discount(sub, first=first)
        priced, carried = price(all_lines, discount=discount, rounding=self.tenant.rounding_mode)
        if redemption is not None and discount is not None:
            used_recurring = any(line.coupon_id and line.kind == RECURRING for line in priced)
            setup_off = sum(line.discount_minor for line in priced if line.kind == SETUP_FEE)
            used_setup = (
                first and discount.on_setup and any(line.kind == SETUP_FEE for line in priced)
            )
            if used_recurring:
                redemption.recurring_uses += 1
                if redemption.cycles_left is not None:
                    redemption.cycles_left -= 1
            if used_setup:
                redemption.setup_applied = True
                redemption.setup_discount_minor = setup_off
            if used_recurring or used_setup:
                self.b.touched_redemptions.append(redemption)
        self.b.drafts.append(
            InvoiceDraft(
                customer_id=sub.customer_id,
                currency=sub.plan.currency,
                reason=reason,
                lines=priced,
                issued_at=at,
                subscription_id=sub.pk,
                subscription_public_id=sub.public_id,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                credit_carried_minor=carried,
                locale=self.b.locales.get(sub.customer_id, ""),
                pending_line_ids=[p.pk for p in pending],
            )
        )

    def final_invoice(self, sub: Subscription, at: datetime) -> None:
        """Prorations still waiting when a subscription stops are billed now."""
        if self.b.pending.get(sub.pk):
            self.bill(sub, at=at, reason=Invoice.Reason.SUBSCRIPTION_UPDATE, lines=[], period=None)

    # -- the lifecycle ---------------------------------------------------------

    def begin(self, sub: Subscription, at: datetime) -> None:
        """Start a subscription at ``at``: its trial, or its first (maybe short) period."""
        # Until it starts, a subscription's placeholder period begins when it was
        # created: a start later than that is news (subscription_create
        # announces the subscription itself).
        later = sub.start_at > sub.current_period_start
        sub.started = True
        plan = sub.plan
        if sub.trial_end is not None and sub.trial_end > at:
            sub.move_to(Status.TRIALING)
            sub.period_index = -1
            sub.current_period_start, sub.current_period_end = at, sub.trial_end
            if plan.setup_fee_minor:
                self.bill(
                    sub,
                    at=at,
                    reason=Invoice.Reason.SUBSCRIPTION_CREATE,
                    lines=[self.setup_line(plan)],
                    period=(at, sub.trial_end),
                    first=True,
                )
        else:
            self.start_first_period(sub, at, reason=Invoice.Reason.SUBSCRIPTION_CREATE, first=True)
        if later:
            self.event(sub, "subscription.started", at)

    def setup_line(self, plan: Plan) -> ProposedLine:
        terms = plan_terms(plan)
        return ProposedLine(
            kind=SETUP_FEE,
            description=plan.name,
            amount_minor=plan.setup_fee_minor,
            tax_percent=terms.tax_percent,
            tax_inclusive=terms.tax_inclusive,
            plan_id=plan.pk,
        )

    def start_first_period(
        self, sub: Subscription, at: datetime, *, reason: str, first: bool
    ) -> None:
        if sub.billing_anchor == at:
            index, (start, end) = 0, period_bounds(sub, 0, self.tz)
        else:
            index, start, end = -1, at, sub.billing_anchor
        nominal = period_bounds(sub, index, self.tz)
        sub.period_index = index
        sub.current_period_start, sub.current_period_end = start, end
        lines = [
            recurring_line(
                tenant=self.tenant,
                plan=sub.plan,
                quantity=sub.quantity,
                start=start,
                end=end,
                nominal_start=nominal[0],
                nominal_end=nominal[1],
            )
        ]
        if first and sub.plan.setup_fee_minor:
            lines.append(self.setup_line(sub.plan))
        if index >= 0:
            sub.paid_cycles += 1
        charge_now = sub.collection_method == "charge_automatically"
        sub.move_to(Status.INCOMPLETE if first and charge_now else Status.ACTIVE)
        self.bill(sub, at=at, reason=reason, lines=lines, period=(start, end), first=first)

    def apply_changes(self, sub: Subscription, at: datetime) -> bool:
        """Apply the changes due at ``at``; False when the subscription stopped."""
        due = [
            c
            for c in self.b.changes.get(sub.pk, [])
            if c.effective_at <= at and c.status == "pending"
        ]
        for change in due:
            change.status = ScheduledChange.Status.APPLIED
            self.b.touched_changes.append(change)
            if change.kind == ScheduledChange.Kind.CANCEL:
                sub.move_to(Status.CANCELED)
                sub.ended_at = at
                sub.canceled_at = sub.canceled_at or at
                self.final_invoice(sub, at)
                self.event(sub, "subscription.canceled", at)
                return False
            if change.kind == ScheduledChange.Kind.CHANGE:
                old = (sub.plan.public_id, sub.quantity)
                if change.plan is not None:
                    sub.plan = change.plan
                if change.quantity is not None:
                    sub.quantity = change.quantity
                self.event(
                    sub,
                    "subscription.updated",
                    at,
                    previous_plan=old[0],
                    previous_quantity=old[1],
                    plan=sub.plan.public_id,
                    quantity=sub.quantity,
                )
            if change.kind == ScheduledChange.Kind.PAUSE:
                sub.move_to(Status.PAUSED)
                sub.pause_cycles_left = change.pause_cycles or 0
                self.event(sub, "subscription.paused", at, cycles=sub.pause_cycles_left)
        return True

    def term_ends_at(self, sub: Subscription) -> datetime | None:
        cycles = sub.plan.term_cycles
        if not cycles or sub.status in (Status.CANCELED, Status.ENDED, Status.TRIALING):
            return None
        remaining = max(0, cycles - sub.paid_cycles) + sub.pause_cycles_left
        return period_bounds(sub, sub.period_index + remaining, self.tz)[1]

    def next_event(self, sub: Subscription) -> datetime | None:
        if sub.status in (Status.CANCELED, Status.ENDED):
            return None
        if not sub.started:
            return sub.start_at
        candidates = [sub.current_period_end]
        term_end = self.term_ends_at(sub)
        if term_end is not None and not sub.term_notice_sent:
            notice = term_end - timedelta(days=sub.plan.term_notice_days)
            candidates.append(max(notice, sub.current_period_start))
        return min(candidates)

    def period_end(self, sub: Subscription, at: datetime) -> None:
        if not self.apply_changes(sub, at):
            return
        if sub.status == Status.TRIALING:
            self.event(sub, "subscription.trial_ended", at)
            self.start_first_period(sub, at, reason=Invoice.Reason.SUBSCRIPTION_CYCLE, first=False)
            return
        cycles = sub.plan.term_cycles
        if cycles and sub.paid_cycles >= cycles and sub.status != Status.PAUSED:
            sub.move_to(Status.ENDED)
            sub.ended_at = at
            self.final_invoice(sub, at)
            self.event(sub, "subscription.ended", at)
            return
        sub.period_index += 1
        start, end = period_bounds(sub, sub.period_index, self.tz)
        sub.current_period_start, sub.current_period_end = start, end
        if sub.status == Status.PAUSED:
            if sub.pause_cycles_left > 0:
                sub.pause_cycles_left -= 1
                return
            sub.move_to(Status.ACTIVE)
            self.event(sub, "subscription.resumed", at)
        sub.paid_cycles += 1
        line = recurring_line(
            tenant=self.tenant,
            plan=sub.plan,
            quantity=sub.quantity,
            start=start,
            end=end,
            nominal_start=start,
            nominal_end=end,
        )
        self.bill(
            sub, at=at, reason=Invoice.Reason.SUBSCRIPTION_CYCLE, lines=[line], period=(start, end)
        )

    def advance(self, sub: Subscription, now: datetime) -> None:
        guard = 0
        while sub.next_event_at is not None and sub.next_event_at <= now:
            at = sub.next_event_at
            if not sub.started:
                self.begin(sub, at)
            elif at >= sub.current_period_end:
                self.period_end(sub, at)
            else:
                sub.term_notice_sent = True
                self.event(
                    sub,
                    "subscription.term_ending",
                    at,
                    ends_at=(self.term_ends_at(sub) or at).isoformat(),
                )
            sub.next_event_at = self.next_event(sub)
            guard += 1
            if guard > 10_000:  # a bug, not a business case: never loop forever
                raise RuntimeError(f"Subscription {sub.pk} does not advance past {at}")

    def advance_all(self, now: datetime) -> None:
        for sub in self.b.subs:
            self.advance(sub, now)


def _without_setup(discount: Discount) -> Discount:
    return replace(discount, on_setup=False)


def write(batch: Batch, now: datetime) -> list[WrittenInvoice]:
    """Write what the engine decided: a few bulk statements for the whole batch."""
    invoices = invoices_write(tenant=batch.tenant, drafts=batch.drafts, now=now)
    subs = {s.pk: s for s in batch.subs}
    for invoice in invoices:
        sub = subs.get(invoice.subscription_id or 0)
        if (
            sub is not None
            and invoice.status == Invoice.Status.PAID
            and sub.status == Status.INCOMPLETE
            and invoice.billing_reason == Invoice.Reason.SUBSCRIPTION_CREATE
        ):
            sub.move_to(Status.ACTIVE)
    bulk_set(Subscription, batch.subs, [*SUB_FIELDS, "started"])
    bulk_set(ScheduledChange, batch.touched_changes, ["status"])
    bulk_set(
        CouponRedemption,
        list({r.pk: r for r in batch.touched_redemptions}.values()),
        ["cycles_left", "setup_applied", "setup_discount_minor", "recurring_uses"],
    )
    emit_many(batch.events)
    auto = {s.pk for s in batch.subs if s.collection_method == "charge_automatically"}
    _charge_after_commit(
        batch.tenant,
        [
            i.id
            for i in invoices
            if i.status == Invoice.Status.OPEN
            and i.amount_due_minor > 0
            and i.subscription_id in auto
        ],
    )
    return invoices


def _charge_after_commit(tenant: Tenant, invoice_ids: list[int]) -> None:
    """One charging task for the batch's new invoices, sent once the batch commits
    (a task sent inside the transaction could run before the rows exist)."""
    if not invoice_ids:
        return
    from billing.tasks import charge_invoices_task

    transaction.on_commit(
        lambda: charge_invoices_task.delay(tenant_id=tenant.pk, invoice_ids=invoice_ids)
    )
