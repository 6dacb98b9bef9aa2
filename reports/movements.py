"""The MRR movement log, written in the transaction of every subscription change.

``tenants.outbox.emit_many`` calls ``events_written`` (``settings.OUTBOX_LISTENERS``)
with the events it just wrote. For the subscriptions those events are about,
this module reads each one's MRR now (``subscription_mrr``), compares it with
the sum of its logged movements, and logs the difference classified at the
customer's level: new business, expansion, contraction, churn, reactivation
(reports/README.md). A batch of the billing run is a fixed number of queries,
whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

from django.db.models import Count, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, Least

from billing.models import Coupon, CouponRedemption
from core.localtime import to_local
from reports.models import MovementKind, MrrMovement, ReportState
from subscriptions.domain.catalog import recurring_amount, tiers_of
from subscriptions.domain.cycles import Interval
from subscriptions.models import Plan, Subscription, SubscriptionItem, SubscriptionStatus
from tenants.context import current_tenant, tenant_context
from tenants.models import Tenant
from tenants.outbox import PendingEvent

Status = SubscriptionStatus
# The states whose subscription is in MRR: past due counts until it is canceled.
IN_MRR = (Status.ACTIVE, Status.PAST_DUE)
ENDED = (Status.CANCELED, Status.ENDED)
_MONTHS_PER = {
    Interval.DAY: Decimal(12) / Decimal(365),
    Interval.WEEK: Decimal(12) / Decimal(52),
    Interval.MONTH: Decimal(1),
    Interval.YEAR: Decimal(12),
}


def monthly(amount_minor: int | Decimal, interval: str, interval_count: int) -> Decimal:
    """A period's amount normalised to a month (annual / 12, weekly × 52 / 12 …)."""
    return Decimal(amount_minor) / (_MONTHS_PER[Interval(interval)] * interval_count)


def subscription_mrr(
    *,
    plan: Plan,
    quantity: int,
    status: str,
    coupon: Coupon | None = None,
    unit_amount_minor: int | None = None,
    items: Sequence[tuple[Plan, int, int | None]] = (),
) -> int:
    """One subscription's MRR in minor units: the recurring list price for its
    quantity (at the contract's readjusted unit price, if any) plus its live
    add-ons' (``items``: each plan, quantity and contract's readjusted unit
    price, ``None`` for the plan's price), after a
    forever coupon, before tax, normalised to a month and rounded once (half
    even). Zero unless active or past due."""
    if status not in IN_MRR:
        return 0
    amount = Decimal(
        recurring_amount(
            model=plan.pricing_model,
            unit_amount_minor=plan.amount_minor if unit_amount_minor is None else unit_amount_minor,
            quantity=quantity,
            tiers=tiers_of(plan.tiers),
        )
    )
    # An add-on has the base plan's currency and interval (subscriptions.services.items),
    # so its period amount adds before the one normalisation; the coupon applies to the
    # whole, as it does on the invoice's lines.
    for item_plan, item_quantity, own_unit in items:
        unit = item_plan.amount_minor if own_unit is None else own_unit
        amount += recurring_amount(
            model=item_plan.pricing_model,
            unit_amount_minor=unit,
            quantity=item_quantity,
            tiers=tiers_of(item_plan.tiers),
        )
    if coupon is not None:
        if coupon.percent_off is not None:
            amount -= amount * Decimal(coupon.percent_off) / Decimal(100)
        elif coupon.amount_off_minor is not None and coupon.currency == plan.currency:
            amount = max(Decimal(0), amount - coupon.amount_off_minor)
    value = monthly(amount, plan.interval, plan.interval_count)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _month(day: date) -> date:
    return day.replace(day=1)


@dataclass
class _Customer:
    mrr: int = 0
    subs: int = 0  # live subscriptions (sum of live_delta)
    counted: int = 0  # 1 while a paying customer (sum of customer_delta)
    rows: int = 0
    cohort: date | None = None
    joined: date | None = None


def events_written(events: Sequence[PendingEvent]) -> None:
    """``settings.OUTBOX_LISTENERS``: log the MRR movements of the subscriptions
    these events are about, and mark late-written days for the snapshot."""
    by_tenant: dict[int, dict[str, list[PendingEvent]]] = defaultdict(lambda: defaultdict(list))
    earliest: dict[int, datetime] = {}
    for event in events:
        if event.subject_type == "subscription" and event.subject_id:
            by_tenant[event.tenant_id][event.subject_id].append(event)
        if event.tenant_id not in earliest or event.at < earliest[event.tenant_id]:
            earliest[event.tenant_id] = event.at
    for tenant_id, first_at in earliest.items():
        current = current_tenant()
        tenant = (
            current
            if current is not None and current.pk == tenant_id
            else Tenant.objects.filter(pk=tenant_id).only("pk", "time_zone").first()
        )
        if tenant is None:
            continue
        with tenant_context(tenant):
            _mark_dirty(tenant, to_local(first_at, tenant.time_zone).date())
            if by_tenant.get(tenant_id):
                record(tenant, by_tenant[tenant_id])


def _mark_dirty(tenant: Tenant, day: date) -> None:
    """A day the snapshot already covers got news: the next snapshot rebuilds it."""
    ReportState.objects.filter(tenant=tenant, through_day__gte=day).update(
        dirty_from=Least(Coalesce(F("dirty_from"), Value(day)), Value(day))
    )


@dataclass(frozen=True, slots=True)
class _State:
    """A subscription as one of its events left it."""

    at: datetime
    event_type: str
    status: str
    plan: Plan
    quantity: int
    unit_amount: int | None = None


def _states(
    sub: Subscription, events: Sequence[PendingEvent], plans: Mapping[str, Plan]
) -> list[_State]:
    """The subscription after each of ``events``, oldest first. The engine may move a
    subscription through several states in one batch (a test clock's jump, a run
    catching up): each event says the status it left and, for a change, the plan
    and quantity before and after. The last state is the subscription as saved."""
    ordered = sorted(events, key=lambda e: e.at)
    # The plan and quantity before the first change in the batch (else as saved).
    plan, quantity = sub.plan, sub.quantity
    for event in ordered:
        data = event.data
        if "previous_plan" in data:
            plan = plans.get(str(data["previous_plan"]), plan)
            quantity = int(data.get("previous_quantity") or quantity)
            break
    # The contract's unit price before the first readjustment in the batch
    # (``subscription.readjusted`` says the price it left), else as saved.
    unit = sub.unit_amount_minor
    for event in ordered:
        if "previous_amount" in event.data and event.type == "subscription.readjusted":
            unit = int(event.data["previous_amount"])
            break
    status = ""
    out = []
    for event in ordered[:-1]:
        data = event.data
        if "plan" in data and "previous_plan" in data:
            if data["plan"] != data["previous_plan"]:
                unit = None  # a new plan is billed at its own price
            plan = plans.get(str(data["plan"]), plan)
            quantity = int(data.get("quantity") or quantity)
        if event.type == "subscription.readjusted" and "amount" in data:
            unit = int(data["amount"])
        status = str(data.get("status") or status)
        if status:
            out.append(_State(event.at, event.type, status, plan, quantity, unit))
    last = ordered[-1]
    out.append(
        _State(last.at, last.type, sub.status, sub.plan, sub.quantity, sub.unit_amount_minor)
    )
    return out


def record(tenant: Tenant, events: Mapping[str, Sequence[PendingEvent]]) -> list[MrrMovement]:
    """Log what changed in the MRR of the subscriptions ``events`` name (by public id)."""
    subs = list(
        Subscription.objects.filter(tenant=tenant, public_id__in=list(events))
        .select_related("plan")
        .order_by("pk")
    )
    if not subs:
        return []
    ids = [s.pk for s in subs]
    named = {
        str(value)
        for batch in events.values()
        for e in batch
        for key in ("plan", "previous_plan")
        if (value := e.data.get(key))
    }
    plans = {p.public_id: p for p in Plan.objects.filter(tenant=tenant, public_id__in=named)}
    coupons: dict[int, Coupon] = {
        cast(int, r.subscription_id): r.coupon  # filtered on subscriptions: never None
        for r in CouponRedemption.objects.filter(
            tenant=tenant,
            subscription_id__in=ids,
            ended_at__isnull=True,
            coupon__duration=Coupon.Duration.FOREVER,
            coupon__applies_to__in=[Coupon.AppliesTo.RECURRING, Coupon.AppliesTo.BOTH],
        ).select_related("coupon")
    }
    # The add-ons live at any of these events: live now, or ended since the first.
    first_at = min((e.at for batch in events.values() for e in batch), default=None)
    since = Q(ended_at__isnull=True)
    if first_at is not None:
        since |= Q(ended_at__gte=first_at)
    items: dict[int, list[SubscriptionItem]] = defaultdict(list)
    for item in (
        SubscriptionItem.objects.filter(tenant=tenant, subscription_id__in=ids)
        .filter(since)
        .select_related("plan")
        .order_by("added_at", "id")
    ):
        items[item.subscription_id].append(item)
    logged: dict[int, dict[str, Any]] = {
        row["subscription_id"]: row
        for row in MrrMovement.objects.filter(tenant=tenant, subscription_id__in=ids)
        .values("subscription_id")
        .annotate(mrr=Sum("delta_minor"), live=Sum("live_delta"))
    }
    customers: dict[tuple[int, str], _Customer] = defaultdict(_Customer)
    for row in (
        MrrMovement.objects.filter(tenant=tenant, customer_id__in={s.customer_id for s in subs})
        .values("customer_id", "currency")
        .annotate(
            mrr=Sum("delta_minor"),
            subs=Sum("live_delta"),
            counted=Sum("customer_delta"),
            rows=Count("id"),
            cohort=Min("cohort"),
            joined=Max("day", filter=Q(customer_delta=1)),
        )
    ):
        customers[(row["customer_id"], row["currency"])] = _Customer(
            row["mrr"], row["subs"], row["counted"], row["rows"], row["cohort"], row["joined"]
        )
    movements: list[MrrMovement] = []
    for sub in subs:
        before = logged.get(sub.pk, {"mrr": 0, "live": 0})
        mrr, live = int(before["mrr"] or 0), int(before["live"] or 0)
        currency = sub.plan.currency
        customer = customers[(sub.customer_id, currency)]
        states = _states(sub, events[sub.public_id], plans)
        for n, state in enumerate(states):
            new_mrr = subscription_mrr(
                plan=state.plan,
                quantity=state.quantity,
                status=state.status,
                coupon=coupons.get(sub.pk),
                unit_amount_minor=state.unit_amount,
                items=_items_at(items.get(sub.pk, ()), state.at, saved=n == len(states) - 1),
            )
            live_delta = 0
            if live <= 0 and new_mrr > 0:
                live_delta = 1
            elif live > 0 and state.status in ENDED:
                live_delta = -1
            delta = new_mrr - mrr
            if delta == 0 and live_delta == 0:
                continue
            movements.append(
                _movement(tenant, sub, state, customer, delta, new_mrr, live_delta, currency)
            )
            mrr, live = new_mrr, live + live_delta
    MrrMovement.objects.bulk_create(movements)
    return movements


def _items_at(
    items: Sequence[SubscriptionItem], at: datetime, *, saved: bool
) -> list[tuple[Plan, int, int | None]]:
    """The add-ons (plan, quantity, readjusted unit price) live at ``at``; for the
    last state, the ones live as saved. An ended item no longer counts; a quantity
    and a price are the current ones."""
    if saved:
        return [
            (item.plan, item.quantity, item.unit_amount_minor)
            for item in items
            if item.ended_at is None
        ]
    return [
        (item.plan, item.quantity, item.unit_amount_minor)
        for item in items
        if item.added_at <= at and (item.ended_at is None or item.ended_at > at)
    ]


def _movement(
    tenant: Tenant,
    sub: Subscription,
    state: _State,
    customer: _Customer,
    delta: int,
    new_mrr: int,
    live_delta: int,
    currency: str,
) -> MrrMovement:
    """One movement, classified at the customer's level; ``customer`` moves on."""
    subs_after = customer.subs + live_delta
    customer_delta = 0
    if customer.counted <= 0 and subs_after > 0:
        customer_delta = 1
    elif customer.counted > 0 and subs_after <= 0:
        customer_delta = -1
    if customer_delta > 0:
        kind = MovementKind.NEW if customer.rows == 0 else MovementKind.REACTIVATION
    elif customer_delta < 0:
        kind = MovementKind.CHURN
    else:
        kind = MovementKind.EXPANSION if delta > 0 else MovementKind.CONTRACTION
    day = to_local(state.at, tenant.time_zone).date()
    cohort = customer.cohort or _month(day)
    joined = day if customer_delta > 0 else (customer.joined or day)
    customer.mrr += delta
    customer.subs = subs_after
    customer.counted += customer_delta
    customer.rows += 1
    customer.cohort = cohort
    customer.joined = joined
    return MrrMovement(
        tenant=tenant,
        subscription_id=sub.pk,
        customer_id=sub.customer_id,
        plan_id=state.plan.pk,
        currency=currency,
        at=state.at,
        day=day,
        month=_month(day),
        cohort=cohort,
        joined=joined,
        from_trial=live_delta > 0 and sub.trial_end is not None,
        kind=kind,
        delta_minor=delta,
        mrr_after_minor=new_mrr,
        live_delta=live_delta,
        customer_delta=customer_delta,
        event_type=state.event_type[:64],
    )


def clock_rows_delete(*, tenant: Tenant, clock: Any) -> None:
    """Reports' part in deleting a test clock (``settings.TEST_CLOCK_DELETERS``):
    the movements of the clock's customers; the snapshot rebuilds their days."""
    rows = MrrMovement.objects.filter(tenant=tenant, customer__test_clock=clock)
    first = rows.aggregate(first=Min("day"))["first"]
    rows.delete()
    if first is not None:
        _mark_dirty(tenant, first)


__all__ = ["clock_rows_delete", "events_written", "monthly", "subscription_mrr"]
