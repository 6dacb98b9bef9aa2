"""Readjustment (reajuste): index series and their monthly rates, a policy per
plan, and each contract's readjustment — decided with its notice to the
subscriber (``subscription.price_change_scheduled``, the ``price_change``
message), then applied by the renewal engine from the first period starting on
or after its date (``subscription.readjusted``, which reports' MRR log follows).

A policy applies to the recurring fee, or (``applies_to`` ``recurring_and_add_ons``)
to the contract's add-ons too: each live add-on's unit price is readjusted by the
same factor and rounding, decided with the recurring fee (``Readjustment.item_changes``)
and applied with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.localtime import from_local, local_date
from subscriptions.domain import readjustment as rdj
from subscriptions.domain.catalog import PricingModel
from subscriptions.models import (
    IndexSeries,
    IndexValue,
    Plan,
    Readjustment,
    ReadjustmentPolicy,
    SubscriptionStatus,
)
from subscriptions.selectors import DueReadjustment, readjustments_due
from subscriptions.services.lifecycle import lock_subscription
from tenants import audit
from tenants.changes import record_change
from tenants.models import Tenant

MAX_CSV_LINES = 2_000
MAX_NOTICE_DAYS = 365
# A fixed percentage, floor or cap outside this range is a typo.
MIN_PERCENT, MAX_PERCENT = Decimal("-50"), Decimal("100")


class CsvImportError(ValidationFailed):
    """A CSV with bad lines: every one is named; nothing was imported."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.lines = lines
        first = "; ".join(_("line %(n)s: %(e)s") % {"n": n, "e": e} for n, e in lines[:5])
        super().__init__(_("Nothing was imported: %(first)s") % {"first": first}, param="file")


# --- series and values -----------------------------------------------------------------------


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(_("An index series needs a name."), param="name")
    return name.strip()[:100]


@transaction.atomic
def index_series_create(
    *, tenant: Tenant, kind: str, name: str, actor: Actor, now: datetime
) -> IndexSeries:
    if kind not in IndexSeries.Kind.values:
        raise ValidationFailed(_("Choose IPCA, IGP-M, INPC or your own index."), param="kind")
    clean = _clean_name(name)
    if IndexSeries.objects.filter(tenant=tenant, name__iexact=clean).exists():
        raise ValidationFailed(_("There is already a series with this name."), param="name")
    series = IndexSeries.objects.create(tenant=tenant, kind=kind, name=clean)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="index_series.created",
        subject_type="index_series",
        subject_id=series.public_id,
        data={"index_series": series.public_id, "kind": kind, "name": clean},
        target=series,
    )
    return series


def parse_month(value: object) -> date:
    """``2023-01`` (or ``2023-01-01``) → the month's 1st day; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(_("a month is written YYYY-MM"))
    text = value.strip()
    parts = text.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(_("a month is written YYYY-MM"))
    year, month = int(parts[0]), int(parts[1])
    if len(parts[0]) != 4 or not 1 <= month <= 12:
        raise ValueError(_("%(value)s is not a month (YYYY-MM, 01 to 12)") % {"value": text})
    if len(parts) == 3 and int(parts[2]) != 1:
        raise ValueError(_("a month is written YYYY-MM"))
    if not 1990 <= year <= 2200:
        raise ValueError(_("the year must be between 1990 and 2200"))
    return date(year, month, 1)


def parse_rate(value: object) -> Decimal:
    """A monthly rate in percent (``0.53``, ``-0.08``; a decimal comma is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(_("a rate is a number in percent, such as 0.53"))
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("a rate is a number in percent, such as 0.53")) from None
    if not rate.is_finite():
        raise ValueError(_("a rate is a number in percent, such as 0.53"))
    if not rdj.MIN_MONTHLY_RATE <= rate <= rdj.MAX_MONTHLY_RATE:
        raise ValueError(_("a monthly rate must be between -50 and 100 percent"))
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValueError(_("a rate has at most 4 decimal places"))
    return rate


def _series(tenant: Tenant, series_id: int) -> IndexSeries:
    series = IndexSeries.objects.filter(tenant=tenant, pk=series_id).first()
    if series is None:
        raise NotFound(_("No such index series."), param="series")
    return series


@transaction.atomic
def index_values_set(
    *,
    tenant: Tenant,
    series_id: int,
    values: Mapping[date, Decimal],
    actor: Actor,
    now: datetime,
    source: str = "manual",
) -> int:
    """Set these months' rates (a month already there is replaced); returns how many."""
    series = _series(tenant, series_id)
    if not values:
        raise ValidationFailed(_("Give at least one month and its rate."), param="values")
    for month, rate in values.items():
        if month.day != 1:
            raise ValidationFailed(_("A month is its first day."), param="month")
        if not rdj.MIN_MONTHLY_RATE <= rate <= rdj.MAX_MONTHLY_RATE:
            raise ValidationFailed(
                _("A monthly rate must be between -50 and 100 percent."), param="rate"
            )
    IndexValue.objects.bulk_create(
        [
            IndexValue(tenant=tenant, series=series, month=m, rate_percent=r)
            for m, r in values.items()
        ],
        update_conflicts=True,
        unique_fields=["series", "month"],
        update_fields=["rate_percent", "updated_at"],
    )
    months = sorted(values)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="index_series.values_set",
        subject_type="index_series",
        subject_id=series.public_id,
        data={
            "index_series": series.public_id,
            "source": source,
            "values": {f"{m:%Y-%m}": str(values[m]) for m in months},
        },
        target=series,
        changes={"months": len(months), "first": f"{months[0]:%Y-%m}", "source": source},
    )
    return len(values)


def parse_values_csv(text: str) -> dict[date, Decimal]:
    """``month,rate`` lines (a header line is allowed; ``;`` works too). Raises
    ``CsvImportError`` naming every bad line."""
    lines = text.splitlines()
    if len(lines) > MAX_CSV_LINES:
        raise CsvImportError([(MAX_CSV_LINES + 1, _("too many lines"))])
    dialect = ";" if lines and ";" in lines[0] else ","
    values: dict[date, Decimal] = {}
    errors: list[tuple[int, str]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=dialect), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("month", "mes", "mês", "luna"):
            continue
        if len(cells) != 2:
            errors.append((number, _("expected two columns: month and rate")))
            continue
        try:
            month = parse_month(cells[0])
            rate = parse_rate(cells[1])
        except ValueError as exc:
            errors.append((number, str(exc)))
            continue
        if month in values:
            errors.append((number, _("%(month)s appears twice") % {"month": cells[0]}))
            continue
        values[month] = rate
    if errors:
        raise CsvImportError(errors)
    if not values:
        raise CsvImportError([(1, _("the file has no months"))])
    return values


def index_values_import_csv(
    *, tenant: Tenant, series_id: int, text: str, actor: Actor, now: datetime
) -> int:
    """Import a CSV of monthly rates: all its lines, or none when one is bad."""
    values = parse_values_csv(text)
    return index_values_set(
        tenant=tenant, series_id=series_id, values=values, actor=actor, now=now, source="csv"
    )


# --- policies -------------------------------------------------------------------------------


def _percent(value: Decimal | None, param: str, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            raise ValidationFailed(_("Give a percentage."), param=param)
        return None
    if not MIN_PERCENT <= value <= MAX_PERCENT:
        raise ValidationFailed(_("A percentage must be between -50 and 100."), param=param)
    return value


@transaction.atomic
def readjustment_policy_set(
    *,
    tenant: Tenant,
    plan_code: str,
    method: str,
    series_id: int | None,
    fixed_percent: Decimal | None,
    period: str,
    month: int | None,
    floor_percent: Decimal | None,
    cap_percent: Decimal | None,
    notice_days: int,
    automatic: bool,
    actor: Actor,
    now: datetime,
    applies_to: str = ReadjustmentPolicy.AppliesTo.RECURRING,
) -> ReadjustmentPolicy:
    """Create or replace the readjustment policy of a plan (all its versions):
    its recurring fee, and with ``applies_to`` ``recurring_and_add_ons`` its
    contracts' add-ons too, by the same factor."""
    plan = Plan.objects.filter(tenant=tenant, code=plan_code).order_by("-version").first()
    if plan is None:
        raise NotFound(_("No such plan."), param="plan")
    if plan.pricing_model not in (PricingModel.FLAT, PricingModel.PER_SEAT):
        raise ValidationFailed(
            _("Only flat or per-seat plans can be readjusted (tiers are priced per tier)."),
            param="plan",
        )
    if method not in ReadjustmentPolicy.Method.values:
        raise ValidationFailed(_("Choose an index or a fixed percentage."), param="method")
    series = None
    if method == ReadjustmentPolicy.Method.INDEX:
        if series_id is None:
            raise ValidationFailed(_("Choose the index series."), param="series")
        series = _series(tenant, series_id)
        fixed_percent = None
    else:
        fixed_percent = _percent(fixed_percent, "fixed_percent", required=True)
    if period not in ReadjustmentPolicy.Period.values:
        raise ValidationFailed(_("Choose the period."), param="period")
    if period == ReadjustmentPolicy.Period.FIXED_MONTH:
        if month is None or not 1 <= month <= 12:
            raise ValidationFailed(_("Choose a month from 1 to 12."), param="month")
    else:
        month = None
    floor_percent = _percent(floor_percent, "floor_percent")
    cap_percent = _percent(cap_percent, "cap_percent")
    if floor_percent is not None and cap_percent is not None and cap_percent < floor_percent:
        raise ValidationFailed(_("The cap cannot be below the floor."), param="cap_percent")
    if isinstance(notice_days, bool) or not 0 <= notice_days <= MAX_NOTICE_DAYS:
        raise ValidationFailed(_("Days of notice must be between 0 and 365."), param="notice_days")
    if not isinstance(applies_to, str) or applies_to not in ReadjustmentPolicy.AppliesTo.values:
        raise ValidationFailed(
            _("Choose what it applies to: the recurring fee, or the recurring fee and add-ons."),
            param="applies_to",
        )
    policy, _created = ReadjustmentPolicy.objects.update_or_create(
        tenant=tenant,
        plan_code=plan.code,
        defaults={
            "method": method,
            "series": series,
            "fixed_percent": fixed_percent,
            "period": period,
            "month": month,
            "floor_percent": floor_percent,
            "cap_percent": cap_percent,
            "notice_days": notice_days,
            "automatic": automatic,
            "applies_to": applies_to,
            "active": True,
        },
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.readjustment_policy_set",
        subject_type="plan",
        subject_id=plan.public_id,
        data={
            "plan": plan.public_id,
            "code": plan.code,
            "method": method,
            "index_series": series.public_id if series else None,
            "fixed_percent": str(fixed_percent) if fixed_percent is not None else None,
            "period": period,
            "month": month,
            "floor_percent": str(floor_percent) if floor_percent is not None else None,
            "cap_percent": str(cap_percent) if cap_percent is not None else None,
            "notice_days": notice_days,
            "automatic": automatic,
            "applies_to": applies_to,
        },
        target=policy,
    )
    return policy


@transaction.atomic
def readjustment_policy_turn_off(
    *, tenant: Tenant, plan_code: str, actor: Actor, now: datetime
) -> ReadjustmentPolicy:
    """Stop readjusting a plan's contracts: nothing new is decided (the ones
    decided already keep their date). Setting the policy again turns it on."""
    policy = ReadjustmentPolicy.objects.filter(tenant=tenant, plan_code=plan_code).first()
    if policy is None:
        raise NotFound(_("This plan has no readjustment policy."), param="plan")
    if not policy.active:
        return policy
    policy.active = False
    policy.save(update_fields=["active", "updated_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.readjustment_policy_turned_off",
        subject_type="plan",
        subject_id=plan_code,
        data={"code": plan_code},
        target=policy,
    )
    return policy


# --- contracts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    readjustment: Readjustment
    created: bool  # False: it was decided already (nothing sent again)


@transaction.atomic
def readjustment_schedule(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    horizon_days: int = 400,
    clock: Any = None,
) -> ScheduleResult:
    """Decide a contract's next readjustment: record it and send the subscriber
    its notice (once: a second call returns the one decided). The new price
    applies from the first period starting on or after its date. A test clock's
    customer is decided at the clock's time (``clock``: the sweep replaying it,
    whose ``now`` is the moment replayed)."""
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    if clock is None and sub.customer.test_clock is not None:
        now = sub.customer.test_clock.frozen_time
    due = readjustments_due(
        tenant=tenant, now=now, days=horizon_days, subscription_ids=[sub.pk], clock=clock
    )
    if not due:
        raise StateConflict(_("This subscription has no readjustment coming due."))
    item = due[0]
    if item.scheduled is not None:
        return ScheduleResult(item.scheduled, created=False)
    if item.factor is None or item.new_amount_minor is None or item.computed_factor is None:
        missing = ", ".join(f"{m:%Y-%m}" for m in item.missing_months)
        raise StateConflict(
            _("The index is missing months %(months)s: the readjustment waits for them.")
            % {"months": missing}
        )
    # Add-ons readjusted with the recurring fee (a policy covering add-ons); an
    # add-on added after this keeps its list price until the next readjustment.
    item_changes = [c.as_json() for c in item.item_changes]
    unchanged = item.new_amount_minor == item.old_amount_minor and all(
        c.new == c.old for c in item.item_changes
    )
    readjustment = Readjustment.objects.create(
        tenant=tenant,
        subscription=sub,
        # A floor of 0 % on a negative year keeps the price: recorded, nothing to
        # announce and nothing for the engine to apply.
        status=Readjustment.Status.APPLIED if unchanged else Readjustment.Status.SCHEDULED,
        applied_at=item.effective_at if unchanged else None,
        policy=item.policy,
        due_on=item.due_on,
        effective_at=item.effective_at,
        currency=item.currency,
        old_amount_minor=item.old_amount_minor,
        new_amount_minor=item.new_amount_minor,
        factor=item.factor,
        computed_factor=item.computed_factor,
        series_name=item.policy.series.name if item.policy.series else "",
        index_months=[f"{m:%Y-%m}" for m in item.index_months],
        item_changes=item_changes,
        created_at=now,
    )
    changes: dict[str, object] = {
        "old": item.old_amount_minor,
        "new": item.new_amount_minor,
        "factor": str(item.factor),
        "due_on": item.due_on.isoformat(),
    }
    if item_changes:
        changes["add_ons"] = item_changes
    if unchanged:
        audit.record(
            tenant=tenant,
            actor=actor,
            action="subscription.readjustment_unchanged",
            target=readjustment,
            changes=changes,
            at=now,
        )
        return ScheduleResult(readjustment, created=True)
    event_id = record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.price_change_scheduled",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "customer": sub.customer.public_id,
            "readjustment": readjustment.public_id,
            "previous_amount": item.old_amount_minor,
            "new_amount": item.new_amount_minor,
            # What a period costs before and after, add-ons included.
            "previous_total": item.old_total_minor,
            "new_total": item.new_total_minor,
            "add_ons": item_changes,
            "currency": item.currency,
            "factor": str(item.factor),
            "due_on": item.due_on.isoformat(),
            "effective_at": item.effective_at.isoformat(),
            "index_months": readjustment.index_months,
        },
        target=readjustment,
        action="subscription.readjustment_scheduled",
        changes=changes,
    )
    Readjustment.objects.filter(pk=readjustment.pk).update(notice_event=event_id)
    readjustment.notice_event = event_id
    return ScheduleResult(readjustment, created=True)


def readjustments_schedule_many(
    *, tenant: Tenant, subscription_ids: Collection[int], actor: Actor, now: datetime
) -> tuple[list[Readjustment], dict[int, str]]:
    """Apply in bulk: each contract in its own transaction; returns the
    readjustments decided and, per subscription, why one could not be."""
    done: list[Readjustment] = []
    failed: dict[int, str] = {}
    for sub_id in sorted(set(subscription_ids)):
        try:
            result = readjustment_schedule(
                tenant=tenant, subscription_id=sub_id, actor=actor, now=now
            )
        except (StateConflict, NotFound) as exc:
            failed[sub_id] = exc.message
            continue
        done.append(result.readjustment)
    return done, failed


def _automatic_pending(
    *, tenant: Tenant, now: datetime, days: int, clock: object | None
) -> list[DueReadjustment]:
    return [
        d
        for d in readjustments_due(
            tenant=tenant, now=now, days=days, live_only=clock is None, clock=clock
        )
        if d.policy.automatic and d.scheduled is None and d.factor is not None
    ]


def notice_moments(*, tenant: Tenant, clock: Any, until: datetime) -> list[datetime]:
    """When a test clock's automatic readjustments are due for notice (its local
    midnight of the notice day, or the clock's time when that passed)."""
    floor: datetime = clock.frozen_time
    days = (until - floor).days + MAX_NOTICE_DAYS + 1
    return [
        max(from_local(datetime.combine(d.notice_on, time()), tenant.time_zone), floor)
        for d in _automatic_pending(tenant=tenant, now=floor, days=days, clock=clock)
    ]


def readjustments_sweep(
    *, tenant: Tenant, now: datetime, actor: Actor, clock: object | None = None
) -> int:
    """The automatic part (beat, or a test clock's replay): decide, and notify,
    every readjustment of an automatic policy whose notice day has come and whose
    factor is known; skip the decided ones of contracts that ended. Idempotent:
    run it twice, the second run decides and sends nothing."""
    Readjustment.objects.filter(
        tenant=tenant,
        status=Readjustment.Status.SCHEDULED,
        subscription__status__in=[SubscriptionStatus.CANCELED, SubscriptionStatus.ENDED],
    ).update(status=Readjustment.Status.SKIPPED)
    today = local_date(now, tenant.time_zone)
    due = [
        d
        for d in _automatic_pending(tenant=tenant, now=now, days=MAX_NOTICE_DAYS + 1, clock=clock)
        if d.notice_on <= today
    ]
    decided = 0
    for item in due:
        try:
            result = readjustment_schedule(
                tenant=tenant,
                subscription_id=item.subscription.pk,
                actor=actor,
                now=now,
                clock=clock,
            )
        except StateConflict:
            continue
        decided += int(result.created)
    return decided
