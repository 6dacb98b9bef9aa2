"""The renewal engine: everything due on a subscription, up to ``now``, in order.

Used by the billing run (batches of due subscriptions), by test clocks (the
same code with the clock's frozen time) and by the commands that start, change,
resume or stop a subscription. A batch is loaded in a fixed number of queries
and advanced in memory. The engine prices nothing and writes no invoice: it
says what is owed (``ToInvoice``: a period of the plan, a setup fee, a stop
that bills the prorations waiting; ``PlanChange``: a change with its proration
window) and billing prices that and writes the invoices (``billing.pricing``)
in the same transaction; ``write`` then saves the batch in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from core.bulk import bulk_set
from subscriptions.domain.cycles import (
    boundary,
    calendar_anchor,
    calendar_grid,
    from_local,
    to_local,
)
from subscriptions.models import (
    Plan,
    Readjustment,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
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
    "unit_amount_minor",
]
# Written only for the few subscriptions whose anchor or mid-period pause moved
# (``Batch.rare``), so the billing run's bulk update keeps its width.
RARE_FIELDS = [
    "billing_anchor",
    "billing_day",
    "calendar_billing",
    "paused_at",
    "pause_carry_until",
    "arrears_from",
]


class InvoiceReason(StrEnum):
    """Why a subscription is invoiced (billing maps these to its invoice reasons)."""

    CREATE = "subscription_create"
    CYCLE = "subscription_cycle"
    UPDATE = "subscription_update"


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    """The plan's fee for ``quantity`` over ``[start, end)``; when that is only
    part of the nominal period ``[nominal_start, nominal_end)`` (a short first
    period, a resumption mid-period) the fee is prorated against it."""

    plan: Plan
    quantity: int
    start: datetime
    end: datetime
    nominal_start: datetime
    nominal_end: datetime
    # The contract's readjusted unit price, when it has one (else the plan's).
    unit_amount_minor: int | None = None
    # In the plan's introductory phase: (cycle, cycles), priced at the intro
    # price (cycle 0: a partial period, which uses none of the phase's cycles).
    intro: tuple[int, int] | None = None
    # In arrears, use split by a change or a cancellation: the tenant's
    # change-day convention applies at a ``start`` / ``end`` that is one
    # (billing prices ``[start, end)`` as the difference of the two remainders).
    split_start: bool = False
    split_end: bool = False


@dataclass(frozen=True, slots=True)
class SetupFee:
    """The plan's one-off setup fee."""

    plan: Plan


@dataclass(frozen=True, slots=True)
class TrialPeriod:
    """The trial ``[start, end)``, free: the zero line of a trial invoice
    (the tenant's ``trial_invoice`` convention)."""

    plan: Plan
    quantity: int
    start: datetime
    end: datetime


Charge = PlanPeriod | SetupFee | TrialPeriod


def intro_phase(sub: Subscription, plan: Plan, *, counted: bool) -> tuple[int, int] | None:
    """Whether a period of ``plan`` falls in its introductory phase: (cycle, cycles).

    Phase cycles are the subscription's paid cycles (``paid_cycles``, counted
    whatever the plan): a trial is none, a paused cycle is none. A period that
    is not a whole cycle (``counted`` False: a short first period up to a
    calendar or billing-day anchor, the rest of a period after an early resume)
    is in the phase while cycles of it are left, and uses none."""
    cycles = plan.intro_cycles
    if not cycles or plan.intro_amount_minor is None:
        return None
    n = sub.paid_cycles
    if counted:
        return (n, cycles) if 1 <= n <= cycles else None
    return (0, cycles) if n < cycles else None


@dataclass(frozen=True, slots=True)
class ToInvoice:
    """One invoice a subscription owes at ``at``: its ``charges`` plus the
    prorations waiting for it. A stop (cancellation, end of term) has no charge
    of its own: it bills the prorations waiting, if any. ``first`` marks the
    subscription's first invoice (a coupon may discount its setup fee)."""

    subscription: Subscription
    at: datetime
    reason: InvoiceReason
    currency: str
    charges: tuple[Charge, ...] = ()
    period: tuple[datetime, datetime] | None = None
    first: bool = False


@dataclass(frozen=True, slots=True)
class PlanChange:
    """A change of plan and/or quantity taking effect at ``at``, mid-period.

    ``window`` is the nominal period the old and new fees are prorated over
    (None in a trial: nothing was charged, nothing to prorate); the unused part
    runs from ``at`` to ``end``, the current period's end."""

    subscription: Subscription
    at: datetime
    old_plan: Plan
    old_quantity: int
    new_plan: Plan
    new_quantity: int
    window: tuple[datetime, datetime] | None
    end: datetime
    # The contract's unit price before and after (None: the plan's): readjusted,
    # or the plan's intro price while the period is in its introductory phase.
    old_unit_amount_minor: int | None = None
    new_unit_amount_minor: int | None = None


@dataclass
class Batch:
    tenant: Tenant
    subs: list[Subscription]
    changes: dict[int, list[ScheduledChange]] = field(default_factory=dict)
    to_invoice: list[ToInvoice] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)
    touched_changes: list[ScheduledChange] = field(default_factory=list)
    readjustments: dict[int, list[Readjustment]] = field(default_factory=dict)
    touched_readjustments: list[Readjustment] = field(default_factory=list)
    rare: list[Subscription] = field(default_factory=list)
    # Live add-on items (``SubscriptionItem``), only for the subscriptions that have some.
    items: dict[int, list[SubscriptionItem]] = field(default_factory=dict)
    touched_items: list[SubscriptionItem] = field(default_factory=list)


def load(tenant: Tenant, subs: Sequence[Subscription]) -> Batch:
    """The rows the engine reads beside the subscriptions: a fixed number of
    queries a batch, whatever its size. Plans are loaded once each and shared."""
    ids = [s.pk for s in subs]
    batch = Batch(tenant=tenant, subs=list(subs))
    plans = Plan.objects.select_related("tax_rate").in_bulk({s.plan_id for s in subs})
    for sub in subs:
        if not Subscription.plan.is_cached(sub):
            sub.plan = plans[sub.plan_id]
    changes: dict[int, list[ScheduledChange]] = defaultdict(list)
    for change in (
        ScheduledChange.objects.filter(subscription_id__in=ids, status="pending")
        .select_related("plan", "plan__tax_rate")
        .order_by("effective_at", "id")
    ):
        changes[change.subscription_id].append(change)
    batch.changes = changes
    readjustments: dict[int, list[Readjustment]] = defaultdict(list)
    for readjustment in Readjustment.objects.filter(
        subscription_id__in=ids, status=Readjustment.Status.SCHEDULED
    ).order_by("effective_at", "id"):
        readjustments[readjustment.subscription_id].append(readjustment)
    batch.readjustments = readjustments
    items: dict[int, list[SubscriptionItem]] = defaultdict(list)
    for item in (
        SubscriptionItem.objects.filter(subscription_id__in=ids, ended_at__isnull=True)
        .select_related("plan", "plan__tax_rate")
        .order_by("added_at", "id")
    ):
        items[item.subscription_id].append(item)
    batch.items = items
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


def index_at(sub: Subscription, plan: Plan, at: datetime, tz: str) -> int:
    """The period ``n`` of ``plan``'s interval, from ``sub``'s anchor, holding ``at``:
    ``boundary(n) <= at < boundary(n + 1)``. Only the commands that move a
    subscription onto another grid (an interval change, a mid-period resumption)
    ask; it steps from the anchor, a few iterations a year."""

    def start(n: int) -> datetime:
        return boundary(
            sub.billing_anchor, plan.interval, plan.interval_count, n, tz, sub.billing_day
        )

    n = 0
    while start(n) > at:
        n -= 1
    while start(n + 1) <= at:
        n += 1
    return n


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

    def invoice(
        self,
        sub: Subscription,
        *,
        at: datetime,
        reason: InvoiceReason,
        charges: tuple[Charge, ...] = (),
        period: tuple[datetime, datetime] | None = None,
        first: bool = False,
    ) -> None:
        self.b.to_invoice.append(
            ToInvoice(
                subscription=sub,
                at=at,
                reason=reason,
                currency=sub.plan.currency,
                charges=charges,
                period=period,
                first=first,
            )
        )

    def stop(self, sub: Subscription, at: datetime) -> None:
        """Prorations still waiting when a subscription stops are billed now;
        in arrears, with the part of the period used until ``at``."""
        used = self.used(sub, at)
        self.invoice(
            sub,
            at=at,
            reason=InvoiceReason.UPDATE,
            charges=(used,) if used else (),
            period=(sub.current_period_start, at) if used else None,
        )
        if sub.arrears_from is not None:
            sub.arrears_from = None
            self.b.rare.append(sub)

    # -- in arrears (issue 16, item 6) -------------------------------------------

    @staticmethod
    def bills_in_arrears(sub: Subscription) -> bool:
        """The subscription is using an in-arrears plan it has not been billed
        for yet (not in a trial, not paused)."""
        return (
            sub.plan.in_arrears
            and sub.started
            and sub.paused_at is None
            and sub.status in (Status.ACTIVE, Status.PAST_DUE, Status.INCOMPLETE)
        )

    def used(self, sub: Subscription, until: datetime) -> PlanPeriod | None:
        """In arrears, the current plan's use not billed yet, up to ``until``
        (inside the current period: a change or a cancellation); None in advance."""
        if not self.bills_in_arrears(sub):
            return None
        start = sub.arrears_from or sub.current_period_start
        if not start < until < sub.current_period_end:
            return None
        nominal = period_bounds(sub, sub.period_index, self.tz)
        return PlanPeriod(
            plan=sub.plan,
            quantity=sub.quantity,
            start=start,
            end=until,
            nominal_start=nominal[0],
            nominal_end=nominal[1],
            unit_amount_minor=sub.unit_amount_minor,
            split_start=sub.arrears_from is not None,
            split_end=True,
        )

    def bill_period_used(self, sub: Subscription, at: datetime) -> None:
        """In arrears, at the period's end: the period just ended is invoiced
        (from the last change in it, if any; the use before waits as a pending
        line, billed on the same invoice)."""
        if not self.bills_in_arrears(sub):
            return
        start = sub.arrears_from or sub.current_period_start
        nominal = period_bounds(sub, sub.period_index, self.tz)
        charge = PlanPeriod(
            plan=sub.plan,
            quantity=sub.quantity,
            start=start,
            end=sub.current_period_end,
            nominal_start=nominal[0],
            nominal_end=nominal[1],
            unit_amount_minor=sub.unit_amount_minor,
            split_start=sub.arrears_from is not None,
        )
        self.invoice(
            sub,
            at=at,
            reason=InvoiceReason.CYCLE,
            charges=(charge,),
            period=(sub.current_period_start, sub.current_period_end),
        )
        if sub.arrears_from is not None:
            sub.arrears_from = None
            self.b.rare.append(sub)

    # -- the lifecycle ---------------------------------------------------------

    def begin(self, sub: Subscription, at: datetime) -> None:
        """Start a subscription at ``at``: its trial, or its first (maybe short) period."""
        # Until it starts, a subscription's placeholder period begins when it was
        # created: a start later than that is news (``created`` announces the
        # subscription itself).
        later = sub.start_at > sub.current_period_start
        sub.started = True
        if sub.trial_end is not None and sub.trial_end > at:
            sub.move_to(Status.TRIALING)
            sub.period_index = -1
            sub.current_period_start, sub.current_period_end = at, sub.trial_end
            trial: tuple[Charge, ...] = ()
            if self.tenant.trial_invoice == "zero":
                trial = (TrialPeriod(sub.plan, sub.quantity, at, sub.trial_end),)
            setup = self.setup_fees(sub)
            if setup or trial:
                self.invoice(
                    sub,
                    at=at,
                    reason=InvoiceReason.CREATE,
                    charges=(*trial, *setup),
                    period=(at, sub.trial_end),
                    first=True,
                )
        else:
            self.start_first_period(sub, at, reason=InvoiceReason.CREATE, first=True)
        if later:
            self.event(sub, "subscription.started", at)

    def start_first_period(
        self, sub: Subscription, at: datetime, *, reason: InvoiceReason, first: bool
    ) -> None:
        if sub.billing_anchor == at:
            index, (start, end) = 0, period_bounds(sub, 0, self.tz)
        else:
            index, start, end = -1, at, sub.billing_anchor
        nominal = period_bounds(sub, index, self.tz)
        sub.period_index = index
        sub.current_period_start, sub.current_period_end = start, end
        if index >= 0:
            sub.paid_cycles += 1
        charges: tuple[Charge, ...] = (
            PlanPeriod(
                plan=sub.plan,
                quantity=sub.quantity,
                start=start,
                end=end,
                nominal_start=nominal[0],
                nominal_end=nominal[1],
                unit_amount_minor=sub.unit_amount_minor,
                intro=intro_phase(sub, sub.plan, counted=index >= 0),
            ),
        )
        charges += self.item_periods(sub, start, end, nominal, full=index >= 0)
        if first:
            charges += self.setup_fees(sub)
        charge_now = sub.collection_method == "charge_automatically"
        if sub.plan.in_arrears:
            # The period is invoiced at its end: only a setup fee is due now,
            # on an invoice of its own (no $0 invoice without one); its period
            # stays empty, the period's own invoice comes at its end.
            # (Add-ons are refused on in-arrears plans: only setup fees here.)
            setup = self.setup_fees(sub) if first else ()
            sub.move_to(Status.INCOMPLETE if setup and charge_now else Status.ACTIVE)
            if setup:
                self.invoice(sub, at=at, reason=reason, charges=setup, first=first)
            return
        sub.move_to(Status.INCOMPLETE if first and charge_now else Status.ACTIVE)
        self.invoice(sub, at=at, reason=reason, charges=charges, period=(start, end), first=first)

    # -- add-on items (issue 16) ------------------------------------------------

    def setup_fees(self, sub: Subscription) -> tuple[Charge, ...]:
        """The setup fees of a first invoice: the base plan's, then its items'."""
        plans = [sub.plan, *(i.plan for i in self.b.items.get(sub.pk, ()))]
        return tuple(SetupFee(p) for p in plans if p.setup_fee_minor)

    def item_periods(
        self,
        sub: Subscription,
        start: datetime,
        end: datetime,
        nominal: tuple[datetime, datetime],
        *,
        full: bool,
    ) -> tuple[Charge, ...]:
        """Each live item's fee for ``[start, end)``, beside the base plan's
        (prorated against ``nominal`` like it); ``full``: a whole period, which
        counts towards an item's fixed term."""
        charges: list[Charge] = []
        for item in self.b.items.get(sub.pk, ()):
            if item.ended_at is not None:
                continue
            charges.append(
                PlanPeriod(
                    plan=item.plan,
                    quantity=item.quantity,
                    start=start,
                    end=end,
                    nominal_start=nominal[0],
                    nominal_end=nominal[1],
                    unit_amount_minor=item.unit_amount_minor,
                )
            )
            if full:
                item.cycles_billed += 1
                self.b.touched_items.append(item)
        return tuple(charges)

    def end_items_due(self, sub: Subscription, at: datetime) -> None:
        """Items whose fixed term (their plan's ``term_cycles`` full periods) is
        served end at ``at``, the boundary after their last period."""
        for item in self.b.items.get(sub.pk, ()):
            cycles = item.plan.term_cycles
            if item.ended_at is None and cycles and item.cycles_billed >= cycles:
                item.ended_at = at
                self.b.touched_items.append(item)
                self.event(
                    sub,
                    "subscription.item_ended",
                    at,
                    item=item.public_id,
                    plan=item.plan.public_id,
                    reason="term",
                )

    def end_items(self, sub: Subscription, at: datetime) -> None:
        """The subscription stops at ``at`` (cancelled or its term ended): its
        live items end with it. The batch's items are already loaded, so this
        adds no query; ``write`` saves them with the rest. No event of their
        own: the subscription's (``canceled``, ``ended``) says it, and one per
        item would reach the MRR log before the subscription's status does
        (a cancellation now saves the status after billing)."""
        for item in self.b.items.get(sub.pk, ()):
            if item.ended_at is None:
                item.ended_at = at
                self.b.touched_items.append(item)

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
                self.stop(sub, at)
                self.end_items(sub, at)
                self.event(sub, "subscription.canceled", at)
                return False
            if change.kind == ScheduledChange.Kind.CHANGE:
                old = (sub.plan.public_id, sub.quantity)
                if change.plan is not None:
                    if change.plan.pk != sub.plan_id:
                        sub.unit_amount_minor = None  # the new plan's price applies
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
        # In arrears the period just ended is billed first, on the plan it used
        # (a change scheduled for its end applies to the next one).
        self.bill_period_used(sub, at)
        if not self.apply_changes(sub, at):
            return
        if sub.paused_at is not None:
            # A mid-period pause reached the resumption date it was given.
            self.resume_from_pause(sub, at)
            return
        if sub.status == Status.TRIALING:
            self.event(sub, "subscription.trial_ended", at)
            self.start_first_period(sub, at, reason=InvoiceReason.CYCLE, first=False)
            return
        cycles = sub.plan.term_cycles
        if cycles and sub.paid_cycles >= cycles and sub.status != Status.PAUSED:
            sub.move_to(Status.ENDED)
            sub.ended_at = at
            self.stop(sub, at)
            self.end_items(sub, at)
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
        self.readjust(sub, start)
        if sub.plan.in_arrears:
            return  # billed at its end (``bill_period_used``)
        charge = PlanPeriod(
            plan=sub.plan,
            quantity=sub.quantity,
            start=start,
            end=end,
            nominal_start=start,
            nominal_end=end,
            unit_amount_minor=sub.unit_amount_minor,
            intro=intro_phase(sub, sub.plan, counted=True),
        )
        self.end_items_due(sub, at)
        charges = (charge, *self.item_periods(sub, start, end, (start, end), full=True))
        self.invoice(sub, at=at, reason=InvoiceReason.CYCLE, charges=charges, period=(start, end))

    def readjust(self, sub: Subscription, start: datetime) -> None:
        """The readjustments scheduled to take effect by the period starting at
        ``start`` take it (the new price applies from that period on). One decided
        on a price the contract no longer has (it changed plan since) is skipped,
        add-ons and all. The add-ons it readjusts take their new prices with it:
        one removed since is skipped, one added since was not decided on and
        keeps its list price (the batch's live items, saved in bulk by ``write``)."""
        for readjustment in self.b.readjustments.get(sub.pk, []):
            if readjustment.status != Readjustment.Status.SCHEDULED:
                continue
            if readjustment.effective_at > start:
                continue
            self.b.touched_readjustments.append(readjustment)
            previous = sub.unit_amount
            if previous != readjustment.old_amount_minor:
                readjustment.status = Readjustment.Status.SKIPPED
                continue
            readjustment.status = Readjustment.Status.APPLIED
            readjustment.applied_at = start
            sub.unit_amount_minor = readjustment.new_amount_minor
            add_ons = self.readjust_items(sub, readjustment)
            self.event(
                sub,
                "subscription.readjusted",
                start,
                readjustment=readjustment.public_id,
                previous_amount=previous,
                amount=readjustment.new_amount_minor,
                currency=readjustment.currency,
                factor=str(readjustment.factor),
                **({"add_ons": add_ons} if add_ons else {}),
            )

    def readjust_items(
        self, sub: Subscription, readjustment: Readjustment
    ) -> list[dict[str, object]]:
        """Give the live add-ons a readjustment decided on their new prices; what
        changed, for the event (an add-on whose price moved since is left alone)."""
        if not readjustment.item_changes:
            return []
        live = {i.public_id: i for i in self.b.items.get(sub.pk, ()) if i.ended_at is None}
        applied: list[dict[str, object]] = []
        for row in readjustment.item_changes:
            item = live.get(str(row["item"]))
            if item is None or item.unit_amount != row["old"]:
                continue
            item.unit_amount_minor = int(row["new"])
            self.b.touched_items.append(item)
            applied.append(
                {
                    "item": item.public_id,
                    "plan": item.plan.public_id,
                    "previous_amount": int(row["old"]),
                    "amount": int(row["new"]),
                }
            )
        return applied

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

    # -- moves the commands make now (billing prices what they owe) -------------

    def created(self, sub: Subscription, at: datetime) -> None:
        """Announce a new subscription (after ``advance`` started it, if due)."""
        self.event(
            sub,
            "subscription.created",
            at,
            plan=sub.plan.public_id,
            quantity=sub.quantity,
            start_at=sub.start_at.isoformat(),
            trial_end=sub.trial_end.isoformat() if sub.trial_end else None,
        )

    def change_now(self, change: PlanChange) -> None:
        """The new plan and quantity from ``change.at``; billing prorates the window."""
        sub = change.subscription
        if change.new_plan.pk != sub.plan_id:
            sub.unit_amount_minor = None  # the new plan's price applies
        if self.bills_in_arrears(sub) and sub.current_period_start < change.at:
            # The use until now is billed apart (``used``); the new plan's from now.
            sub.arrears_from = change.at
            self.b.rare.append(sub)
        sub.plan, sub.quantity = change.new_plan, change.new_quantity
        self.event(
            sub,
            "subscription.updated",
            change.at,
            previous_plan=change.old_plan.public_id,
            previous_quantity=change.old_quantity,
            plan=change.new_plan.public_id,
            quantity=change.new_quantity,
        )
        sub.next_event_at = self.next_event(sub)

    def resume(self, sub: Subscription, at: datetime) -> None:
        """End a running pause at ``at``: the rest of the current period is owed,
        prorated against the full period."""
        nominal = period_bounds(sub, sub.period_index, self.tz)
        sub.move_to(Status.ACTIVE)
        sub.pause_cycles_left = 0
        if sub.plan.in_arrears:
            # Billed at the period's end, from the resumption on.
            sub.current_period_start = at
            self.event(sub, "subscription.resumed", at)
            sub.next_event_at = self.next_event(sub)
            return
        charge = PlanPeriod(
            plan=sub.plan,
            quantity=sub.quantity,
            start=at,
            end=sub.current_period_end,
            nominal_start=nominal[0],
            nominal_end=nominal[1],
            unit_amount_minor=sub.unit_amount_minor,
            intro=intro_phase(sub, sub.plan, counted=False),
        )
        items = self.item_periods(sub, at, sub.current_period_end, nominal, full=False)
        self.invoice(sub, at=at, reason=InvoiceReason.UPDATE, charges=(charge, *items))
        self.event(sub, "subscription.resumed", at)
        sub.next_event_at = self.next_event(sub)

    # -- interval changes and mid-period pauses (issue 16) -----------------------

    def change_interval(self, change: PlanChange, *, reset_anchor: bool) -> PlanPeriod:
        """Move onto the new plan's interval at ``change.at``: a new period starts
        there and runs to the next boundary of the new grid, anchored on the
        change itself (``reset_anchor``, a full period) or on the old anchor's day
        (a prorated part of the period holding ``change.at``). Returns the charge
        for it; billing adds the credit for the old period's unused part."""
        sub, at = change.subscription, change.at
        sub.plan, sub.quantity = change.new_plan, change.new_quantity
        if reset_anchor:
            sub.billing_anchor, sub.billing_day = at, None
            sub.calendar_billing = False
        elif sub.calendar_billing and calendar_grid(sub.plan.interval, sub.plan.interval_count):
            # Calendar billing stays on the calendar: the new grid's boundaries
            # (the 1st, calendar quarters, Jan 1st) rather than the old anchor's.
            sub.billing_anchor = calendar_anchor(
                at, sub.plan.interval, sub.plan.interval_count, self.tz
            )
            sub.billing_day = None
        elif sub.calendar_billing:
            # Weeks, days, 5 months …: no calendar grid; the old anchor's day stays.
            sub.calendar_billing = False
        n = index_at(sub, sub.plan, at, self.tz)
        start, end = period_bounds(sub, n, self.tz)
        sub.period_index = n
        sub.current_period_start, sub.current_period_end = at, end
        if at == start:
            sub.paid_cycles += 1
        self.b.rare.append(sub)
        self.event(
            sub,
            "subscription.updated",
            at,
            previous_plan=change.old_plan.public_id,
            previous_quantity=change.old_quantity,
            plan=change.new_plan.public_id,
            quantity=change.new_quantity,
            interval=f"{sub.plan.interval_count} {sub.plan.interval}",
            anchor="reset" if reset_anchor else "keep",
        )
        sub.next_event_at = self.next_event(sub)
        return PlanPeriod(
            plan=sub.plan,
            quantity=sub.quantity,
            start=at,
            end=end,
            nominal_start=start,
            nominal_end=end,
            intro=intro_phase(sub, sub.plan, counted=at == start),
        )

    def pause_now(
        self, sub: Subscription, at: datetime, *, resume_at: datetime, carry: bool
    ) -> None:
        """Billing stops at ``at`` until ``resume_at``: the pause is the current
        period. With ``carry`` the paid-through date it interrupts is kept, to
        be carried past the pause; otherwise billing has credited the unused
        time already."""
        sub.pause_carry_until = sub.current_period_end if carry else None
        sub.paused_at = at
        sub.move_to(Status.PAUSED)
        sub.pause_cycles_left = 0
        sub.current_period_start, sub.current_period_end = at, resume_at
        self.b.rare.append(sub)
        self.event(
            sub,
            "subscription.paused",
            at,
            cycles=0,
            resumes_at=resume_at.isoformat(),
            unused="carry" if carry else "credit",
        )
        sub.next_event_at = self.next_event(sub)

    def resume_from_pause(self, sub: Subscription, at: datetime) -> None:
        """End a mid-period pause at ``at``. Carried: the paid time left when it
        began runs from ``at`` (free) and the anchor moves to its end. Credited:
        the period of the anchor's grid holding ``at`` is owed from ``at``,
        prorated against it."""
        assert sub.paused_at is not None
        sub.move_to(Status.ACTIVE)
        sub.pause_cycles_left = 0
        if sub.pause_carry_until is not None:
            left = to_local(sub.pause_carry_until, self.tz) - to_local(sub.paused_at, self.tz)
            end = from_local(to_local(at, self.tz) + left, self.tz)
            sub.billing_anchor, sub.billing_day = end, None
            sub.calendar_billing = False
            sub.period_index = -1
            sub.current_period_start, sub.current_period_end = at, end
        else:
            n = index_at(sub, sub.plan, at, self.tz)
            start, end = period_bounds(sub, n, self.tz)
            sub.period_index = n
            sub.current_period_start, sub.current_period_end = at, end
            if at == start:
                sub.paid_cycles += 1
            charge = PlanPeriod(
                plan=sub.plan,
                quantity=sub.quantity,
                start=at,
                end=end,
                nominal_start=start,
                nominal_end=end,
                intro=intro_phase(sub, sub.plan, counted=at == start),
            )
            if not sub.plan.in_arrears:  # in arrears, billed at the period's end
                items = self.item_periods(sub, at, end, (start, end), full=at == start)
                self.invoice(
                    sub,
                    at=at,
                    reason=InvoiceReason.UPDATE,
                    charges=(charge, *items),
                    period=(at, end),
                )
        sub.paused_at = sub.pause_carry_until = None
        self.b.rare.append(sub)
        self.event(sub, "subscription.resumed", at)
        sub.next_event_at = self.next_event(sub)


def plan_change(sub: Subscription, plan: Plan, quantity: int, at: datetime, tz: str) -> PlanChange:
    """What changing ``sub`` to ``plan`` × ``quantity`` at ``at`` replaces (reads only)."""
    window = None if sub.status == Status.TRIALING else period_bounds(sub, sub.period_index, tz)
    # In an introductory phase the current period was priced, and is prorated,
    # at the phase's price (the old plan's; the new plan's own phase, if the
    # subscription's cycles are still within it).
    counted = window is not None and sub.current_period_start == window[0]
    old_intro = intro_phase(sub, sub.plan, counted=counted)
    new_intro = intro_phase(sub, plan, counted=counted)
    new_unit = sub.unit_amount_minor if plan.pk == sub.plan_id else None
    return PlanChange(
        subscription=sub,
        at=at,
        old_plan=sub.plan,
        old_quantity=sub.quantity,
        new_plan=plan,
        new_quantity=quantity,
        window=window,
        end=sub.current_period_end,
        old_unit_amount_minor=sub.plan.intro_amount_minor if old_intro else sub.unit_amount_minor,
        new_unit_amount_minor=plan.intro_amount_minor if new_intro else new_unit,
    )


def write(batch: Batch, now: datetime, *, first_invoice_paid: Collection[int] = ()) -> None:
    """Save what the engine decided: a few bulk statements for the whole batch.

    ``first_invoice_paid``: the subscriptions whose first invoice billing found
    already settled (nothing due), which start active rather than incomplete."""
    for sub in batch.subs:
        if sub.pk in first_invoice_paid and sub.status == Status.INCOMPLETE:
            sub.move_to(Status.ACTIVE)
    bulk_set(Subscription, batch.subs, [*SUB_FIELDS, "started"])
    bulk_set(ScheduledChange, batch.touched_changes, ["status"])
    bulk_set(Readjustment, batch.touched_readjustments, ["status", "applied_at"])
    if batch.touched_items:
        bulk_set(
            SubscriptionItem,
            list({i.pk: i for i in batch.touched_items}.values()),
            ["cycles_billed", "ended_at", "unit_amount_minor"],
        )
    if batch.rare:
        bulk_set(Subscription, list({s.pk: s for s in batch.rare}.values()), RARE_FIELDS)
    emit_many(batch.events)
