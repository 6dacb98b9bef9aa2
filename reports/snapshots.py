"""The daily snapshot: roll finished days into ``DailyMetrics`` (one row per
tenant, currency and local day), so the overview reads a few hundred rows
instead of the whole history. Idempotent: a day is deleted and written again
in one transaction; ``ReportState`` remembers how far it got and which days
were written late (``reports.movements._mark_dirty``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min

from billing.models import PaymentAttempt
from core.localtime import to_local
from reports.models import DailyMetrics, MrrMovement, ReportState
from reports.selectors import METRIC_FIELDS, live_days
from tenants.models import Tenant


def _first_day(tenant: Tenant) -> date | None:
    days = [
        MrrMovement.objects.filter(tenant=tenant).aggregate(d=Min("day"))["d"],
    ]
    first_attempt = PaymentAttempt.objects.filter(tenant=tenant).aggregate(at=Min("created_at"))[
        "at"
    ]
    if first_attempt is not None:
        days.append(to_local(first_attempt, tenant.time_zone).date())
    found = [d for d in days if d is not None]
    return min(found) if found else None


@transaction.atomic
def snapshot_build(*, tenant: Tenant, now: datetime, rebuild: bool = False) -> int:
    """Write the days from the first not yet (or no longer) covered one up to
    yesterday, local time; returns how many days were written."""
    state, _ = ReportState.objects.get_or_create(tenant=tenant)
    state = ReportState.objects.select_for_update().get(pk=state.pk)
    yesterday = to_local(now, tenant.time_zone).date() - timedelta(days=1)
    if rebuild or state.through_day is None:
        start = _first_day(tenant)
    else:
        start = state.through_day + timedelta(days=1)
        if state.dirty_from is not None:
            start = min(start, state.dirty_from)
    if start is None or start > yesterday:
        state.through_day, state.dirty_from, state.built_at = yesterday, None, now
        state.save(update_fields=["through_day", "dirty_from", "built_at"])
        return 0
    currencies = set(
        MrrMovement.objects.filter(tenant=tenant).values_list("currency", flat=True).distinct()
    ) | set(
        PaymentAttempt.objects.filter(tenant=tenant).values_list("currency", flat=True).distinct()
    )
    DailyMetrics.objects.filter(tenant=tenant, day__gte=start, day__lte=yesterday).delete()
    rows = []
    for currency in sorted(currencies):
        per_day = live_days(tenant=tenant, currency=currency, start=start, end=yesterday, now=now)
        rows += [
            DailyMetrics(
                tenant=tenant,
                currency=currency,
                day=day,
                **{f: int(values.get(f) or 0) for f in METRIC_FIELDS},
            )
            for day, values in per_day.items()
        ]
    DailyMetrics.objects.bulk_create(rows, batch_size=1000)
    state.through_day, state.dirty_from, state.built_at = yesterday, None, now
    state.save(update_fields=["through_day", "dirty_from", "built_at"])
    return len(rows)
