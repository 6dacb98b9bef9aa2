"""Reads for the catalog and subscriptions; every one takes the tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.localtime import from_local, local_date
from customers.models import Customer
from subscriptions.domain import readjustment as rdj
from subscriptions.domain.catalog import recurring_amount, tiers_of
from subscriptions.engine import period_bounds
from subscriptions.models import (
    IndexSeries,
    IndexValue,
    Plan,
    Product,
    Readjustment,
    ReadjustmentPolicy,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
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
    readjustments = Readjustment.objects.select_related("subscription").order_by("-due_on", "-id")
    return (
        Subscription.objects.for_tenant(tenant)
        .select_related("customer", "plan", "payment_method")
        .prefetch_related(Prefetch("scheduled_changes", queryset=pending, to_attr="pending"))
        .prefetch_related(
            Prefetch("readjustments", queryset=readjustments, to_attr="readjustment_rows")
        )
        .prefetch_related(live_items_prefetch())
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
        .prefetch_related(live_items_prefetch())
        .order_by("-created_at", "-id")
    )


def live_items_prefetch() -> Prefetch[Any]:
    """A subscription's live add-on items, with their plans, as ``live_items``."""
    return Prefetch(
        "items",
        queryset=SubscriptionItem.objects.filter(ended_at__isnull=True)
        .select_related("plan", "plan__tax_rate")
        .order_by("added_at", "id"),
        to_attr="live_items",
    )


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A live add-on as its pages show it: what it costs a period, since when,
    and, with a fixed term, when it ends (None when the date is not known yet:
    in a trial or a pause)."""

    public_id: str
    plan: Plan
    quantity: int
    unit_amount_minor: int
    period_amount_minor: int
    added_at: datetime
    term_cycles: int | None
    cycles_billed: int
    ends_at: datetime | None


def item_rows(*, tenant: Tenant, sub: Subscription) -> list[ItemRow]:
    """``sub``'s live add-ons (prefetched with ``live_items_prefetch``, else read),
    oldest first."""
    items = getattr(sub, "live_items", None)
    if items is None:
        items = list(
            SubscriptionItem.objects.for_tenant(tenant)
            .filter(subscription=sub, ended_at__isnull=True)
            .select_related("plan")
            .order_by("added_at", "id")
        )
    billing = sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
    rows = []
    for item in items:
        plan = item.plan
        ends_at = None
        if plan.term_cycles and billing and sub.paused_at is None:
            # It ends at the start of the period after its last full one
            # (``engine.Engine.end_items_due``); the current one is billed already.
            left = max(plan.term_cycles - item.cycles_billed, 0)
            ends_at = period_bounds(sub, sub.period_index + left, tenant.time_zone)[1]
        rows.append(
            ItemRow(
                public_id=item.public_id,
                plan=plan,
                quantity=item.quantity,
                # The contract's own price after a readjustment covering add-ons.
                unit_amount_minor=item.unit_amount,
                period_amount_minor=recurring_amount(
                    model=plan.pricing_model,
                    unit_amount_minor=item.unit_amount,
                    quantity=item.quantity,
                    tiers=tiers_of(plan.tiers),
                ),
                added_at=item.added_at,
                term_cycles=plan.term_cycles,
                cycles_billed=item.cycles_billed,
                ends_at=ends_at,
            )
        )
    return rows


def plans_of(sub: Subscription) -> list[Plan]:
    """The base plan, then the live add-ons' (prefetched with ``live_items_prefetch``)."""
    return [sub.plan, *(item.plan for item in getattr(sub, "live_items", ()))]


def entitlements_of(subs: Iterable[Subscription]) -> Entitlements:
    """The union of the subscriptions' entitlements (newest first): each one's
    base plan's and its live add-ons'."""
    subs = list(subs)
    features: dict[str, Any] = {}
    for sub in subs:
        for plan in plans_of(sub):
            for key, value in (plan.entitlements or {}).items():
                features[key] = _merge(features[key], value) if key in features else value
    return Entitlements(
        features=features,
        subscriptions=[s.public_id for s in subs],
        plans=sorted({p.public_id for s in subs for p in plans_of(s)}),
    )


def customer_entitlements(*, tenant: Tenant, customer: Customer) -> Entitlements:
    return entitlements_of(entitled_subscriptions(tenant=tenant, customer_ids=[customer.pk]))


# --- readjustment (reajuste) ---------------------------------------------------------------


def index_series_list(*, tenant: Tenant) -> QuerySet[IndexSeries]:
    return IndexSeries.objects.for_tenant(tenant).order_by("name", "id")


def index_rates(*, tenant: Tenant, series_ids: Iterable[int]) -> dict[int, dict[date, Decimal]]:
    """Every monthly rate of these series, by series then month."""
    out: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for series_id, month, rate in IndexValue.objects.filter(
        tenant=tenant, series_id__in=list(series_ids)
    ).values_list("series_id", "month", "rate_percent"):
        out[series_id][month] = rate
    return out


def policy_list(*, tenant: Tenant) -> QuerySet[ReadjustmentPolicy]:
    return (
        ReadjustmentPolicy.objects.for_tenant(tenant)
        .select_related("series")
        .order_by("plan_code", "id")
    )


# The pricing models a readjustment moves (a unit price; tiers are priced per tier).
READJUSTABLE_MODELS = (Plan.PricingModel.FLAT, Plan.PricingModel.PER_SEAT)
# A readjustment whose date passed while its index was missing still comes due
# (late) for this long; after that its year is lost and the next one is listed.
LATE_DAYS = 62
# Statuses whose contracts are readjusted (a cancelled or ended one never is).
READJUSTABLE = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAUSED,
)


@dataclass(frozen=True, slots=True)
class DueReadjustment:
    """A contract's next readjustment, as it stands today."""

    subscription: Subscription
    policy: ReadjustmentPolicy
    due_on: date
    notice_on: date
    effective_at: datetime
    currency: str
    old_amount_minor: int
    computed_factor: Decimal | None  # None: an index month is missing
    factor: Decimal | None  # after floor and cap
    new_amount_minor: int | None
    index_months: tuple[date, ...]
    missing_months: tuple[date, ...]
    scheduled: Readjustment | None  # decided already (notice sent)
    # The add-ons readjusted with it (a policy covering add-ons; empty otherwise).
    item_changes: tuple[rdj.ItemChange, ...] = ()
    # What a period of the contract costs before and after: the recurring fee
    # and every live add-on's (at its new price when readjusted), None while waiting.
    old_total_minor: int = 0
    new_total_minor: int | None = None

    @property
    def waiting(self) -> bool:
        return self.factor is None


def _due_on(policy: ReadjustmentPolicy, start: date, today: date) -> date:
    if policy.period == ReadjustmentPolicy.Period.FIXED_MONTH and policy.month:
        return rdj.fixed_month_due(start, today, policy.month)
    return rdj.anniversary_due(start, today)


def effective_from(sub: Subscription, due_on: date, now: datetime, tz: str) -> datetime:
    """The start of the first period beginning on or after ``due_on`` (and not
    in the past): the new price applies from the next period."""
    from subscriptions.engine import period_bounds

    earliest = max(from_local(datetime.combine(due_on, datetime.min.time()), tz), now)
    index = max(sub.period_index + 1, 0)
    for _ in range(5000):  # bounded: daily plans over a decade
        start = period_bounds(sub, index, tz)[0]
        if start >= earliest:
            return start
        index += 1
    return period_bounds(sub, index, tz)[0]


def readjustments_due(
    *,
    tenant: Tenant,
    now: datetime,
    days: int,
    subscription_ids: Collection[int] | None = None,
    live_only: bool = False,
    clock: Any = None,
) -> list[DueReadjustment]:
    """Contracts whose next readjustment falls within ``days`` from today (the
    tenant's), with the old price, the factor and the new price; the ones whose
    index month is missing are listed as waiting. A contract cancelling before
    the new price would apply is left out."""
    tz = tenant.time_zone
    policies = {p.plan_code: p for p in policy_list(tenant=tenant).filter(active=True)}
    if not policies:
        return []
    subs = (
        Subscription.objects.for_tenant(tenant)
        .filter(plan__code__in=list(policies), status__in=READJUSTABLE)
        .select_related("plan", "customer", "customer__test_clock")
        .order_by("id")
    )
    if subscription_ids is not None:
        subs = subs.filter(pk__in=list(subscription_ids))
    if clock is not None:
        subs = subs.filter(customer__test_clock=clock)
    elif live_only:  # test clocks' customers live at their clock's time, not now
        subs = subs.filter(customer__test_clock__isnull=True)
    sub_list = list(subs)
    ids = [s.pk for s in sub_list]
    existing: dict[tuple[int, date], Readjustment] = {
        (r.subscription_id, r.due_on): r
        for r in Readjustment.objects.filter(tenant=tenant, subscription_id__in=ids)
    }
    cancels = dict(
        ScheduledChange.objects.filter(
            tenant=tenant,
            subscription_id__in=ids,
            kind=ScheduledChange.Kind.CANCEL,
            status=ScheduledChange.Status.PENDING,
        ).values_list("subscription_id", "effective_at")
    )
    rates = index_rates(
        tenant=tenant, series_ids={p.series_id for p in policies.values() if p.series_id}
    )
    due_now: list[tuple[Subscription, ReadjustmentPolicy, date, datetime, Readjustment | None]]
    due_now = []
    for sub in sub_list:
        # A test clock's customer lives at its clock's time (a sweep on that clock
        # passes the moment it replays as ``now``).
        at = now
        if clock is None and sub.customer.test_clock is not None:
            at = sub.customer.test_clock.frozen_time
        today = local_date(at, tz)
        horizon = today + timedelta(days=days)
        policy = policies[sub.plan.code]
        start = local_date(sub.start_at, tz)
        due = _due_on(policy, start, today - timedelta(days=LATE_DAYS))
        scheduled = existing.get((sub.pk, due))
        while scheduled is not None and scheduled.status != Readjustment.Status.SCHEDULED:
            due = _due_on(policy, start, due + timedelta(days=1))
            scheduled = existing.get((sub.pk, due))
        if due > horizon:
            continue
        effective = scheduled.effective_at if scheduled else effective_from(sub, due, at, tz)
        cancel_at = cancels.get(sub.pk)
        if cancel_at is not None and cancel_at <= effective:
            continue
        due_now.append((sub, policy, due, effective, scheduled))
    items = live_items_of(tenant=tenant, subscription_ids=[row[0].pk for row in due_now])
    out = [
        _due_item(tenant, sub, policy, due, effective, rates, scheduled, items.get(sub.pk, []))
        for sub, policy, due, effective, scheduled in due_now
    ]
    out.sort(key=lambda d: (d.due_on, d.subscription.pk))
    return out


def live_items_of(
    *, tenant: Tenant, subscription_ids: Collection[int]
) -> dict[int, list[SubscriptionItem]]:
    """The live add-ons of these subscriptions, with their plans, in one query."""
    out: dict[int, list[SubscriptionItem]] = defaultdict(list)
    if not subscription_ids:
        return out
    for item in (
        SubscriptionItem.objects.for_tenant(tenant)
        .filter(subscription_id__in=list(subscription_ids), ended_at__isnull=True)
        .select_related("plan")
        .order_by("added_at", "id")
    ):
        out[item.subscription_id].append(item)
    return out


def _fee(plan: Plan, unit_amount_minor: int, quantity: int) -> int:
    return recurring_amount(
        model=plan.pricing_model,
        unit_amount_minor=unit_amount_minor,
        quantity=quantity,
        tiers=tiers_of(plan.tiers),
    )


def _totals(
    sub: Subscription,
    old: int,
    new: int | None,
    items: Sequence[SubscriptionItem],
    changes: Sequence[rdj.ItemChange],
) -> tuple[int, int | None]:
    """A period's recurring fee plus every live add-on's, before and after (an
    add-on readjusted at its new price when its price is still the one decided)."""
    by_item = {c.item: c for c in changes}
    old_total = _fee(sub.plan, old, sub.quantity)
    new_total = None if new is None else _fee(sub.plan, new, sub.quantity)
    for item in items:
        unit = item.unit_amount
        change = by_item.get(item.public_id)
        after = change.new if change is not None and change.old == unit else unit
        old_total += _fee(item.plan, unit, item.quantity)
        if new_total is not None:
            new_total += _fee(item.plan, after, item.quantity)
    return old_total, new_total


def readjusted_items(
    policy: ReadjustmentPolicy,
    items: Sequence[SubscriptionItem],
    factor: Decimal,
    rounding: str,
) -> tuple[rdj.ItemChange, ...]:
    """The live add-ons a policy covering add-ons readjusts, by the recurring
    fee's factor (after floor and cap) and rounding. Tiered add-ons are priced
    per tier, not per unit: they keep their prices (as tiered plans cannot have
    a policy of their own)."""
    if not policy.covers_add_ons:
        return ()
    return tuple(
        rdj.ItemChange(
            item=item.public_id,
            plan=item.plan.code,
            quantity=item.quantity,
            old=item.unit_amount,
            new=rdj.readjusted(item.unit_amount, factor, rounding),
        )
        for item in items
        if item.plan.pricing_model in READJUSTABLE_MODELS
    )


def _due_item(
    tenant: Tenant,
    sub: Subscription,
    policy: ReadjustmentPolicy,
    due: date,
    effective: datetime,
    rates: dict[int, dict[date, Decimal]],
    scheduled: Readjustment | None,
    items: Sequence[SubscriptionItem] = (),
) -> DueReadjustment:
    notice_on = due - timedelta(days=policy.notice_days)
    if scheduled is not None:
        changes = tuple(rdj.ItemChange.from_json(row) for row in scheduled.item_changes or [])
        old_total, new_total = _totals(
            sub, scheduled.old_amount_minor, scheduled.new_amount_minor, items, changes
        )
        return DueReadjustment(
            subscription=sub,
            policy=policy,
            due_on=due,
            notice_on=notice_on,
            effective_at=scheduled.effective_at,
            currency=scheduled.currency,
            old_amount_minor=scheduled.old_amount_minor,
            computed_factor=scheduled.computed_factor,
            factor=scheduled.factor,
            new_amount_minor=scheduled.new_amount_minor,
            index_months=tuple(date.fromisoformat(f"{m}-01") for m in scheduled.index_months),
            missing_months=(),
            scheduled=scheduled,
            item_changes=changes,
            old_total_minor=old_total,
            new_total_minor=new_total,
        )
    months: tuple[date, ...] = ()
    missing: tuple[date, ...] = ()
    computed: Decimal | None
    if policy.method == ReadjustmentPolicy.Method.FIXED:
        computed = Decimal(policy.fixed_percent or 0) / 100
    else:
        months = tuple(rdj.index_months(due))
        series_rates = rates.get(policy.series_id or 0, {})
        computed = rdj.accumulated(series_rates, months)
        missing = tuple(rdj.missing_months(series_rates, months))
    factor = new = None
    old = sub.unit_amount
    item_changes: tuple[rdj.ItemChange, ...] = ()
    if computed is not None:
        factor = rdj.bounded(
            computed, floor_percent=policy.floor_percent, cap_percent=policy.cap_percent
        )
        new = rdj.readjusted(old, factor, tenant.rounding_mode)
        item_changes = readjusted_items(policy, items, factor, tenant.rounding_mode)
    old_total, new_total = _totals(sub, old, new, items, item_changes)
    return DueReadjustment(
        subscription=sub,
        policy=policy,
        due_on=due,
        notice_on=notice_on,
        effective_at=effective,
        currency=sub.plan.currency,
        old_amount_minor=old,
        computed_factor=computed,
        factor=factor,
        new_amount_minor=new,
        index_months=months,
        missing_months=missing,
        scheduled=None,
        item_changes=item_changes,
        old_total_minor=old_total,
        new_total_minor=new_total,
    )


def readjustment_list(*, tenant: Tenant, subscription: Subscription) -> QuerySet[Readjustment]:
    return (
        Readjustment.objects.for_tenant(tenant)
        .filter(subscription=subscription)
        .order_by("-due_on", "-id")
    )
