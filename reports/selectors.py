"""Reads: every metric of reports/README.md, computed in the database.

Day-level numbers come from the daily snapshot (``DailyMetrics``) for the days
it covers and from the raw tables (the movement log, payment attempts, dunning
cases, subscriptions) for the rest — normally just today. Python only folds
those per-day aggregates (a few hundred rows at most) into periods and ratios.
Each currency is reported apart; nothing is converted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from billing.models import Invoice, InvoiceLine, PaymentAttempt
from billing.terms import contract_terms
from core.localtime import from_local
from dunning.models import DunningCase
from reports.models import DailyMetrics, MovementKind, MrrMovement, ReportState
from subscriptions.models import ScheduledChange, Subscription, SubscriptionStatus
from subscriptions.selectors import live_items_prefetch
from tenants.models import Tenant

K = MovementKind
METRIC_FIELDS = [
    "new_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "reactivation_minor",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "churned_established",
    "subscriptions_delta",
    "trials_started",
    "trials_ended",
    "trials_converted",
    "payments_succeeded",
    "payments_failed",
    "paid_minor",
    "failed_minor",
    "dunning_opened",
    "dunning_recovered",
    "recovered_minor",
]
MOVEMENT_FIELDS = METRIC_FIELDS[:5]
GRAINS = ("day", "week", "month")
Day = dict[str, int]


def _utc(day: date, tz: str) -> datetime:
    return from_local(datetime.combine(day, time()), tz)


_UNKNOWN: Any = object()


def currencies(*, tenant: Tenant, through: date | None = _UNKNOWN) -> list[str]:
    """The currencies the tenant has MRR or payments in (its default first):
    the snapshot's, plus those of movements written since it was built."""
    if through is _UNKNOWN:
        through = covered_through(tenant=tenant)
    recent = MrrMovement.objects.filter(tenant=tenant)
    if through is not None:
        recent = recent.filter(day__gt=through)
    found = set(recent.values_list("currency", flat=True).distinct()) | set(
        DailyMetrics.objects.filter(tenant=tenant).values_list("currency", flat=True).distinct()
    )
    rest = sorted(found - {tenant.default_currency})
    return [tenant.default_currency, *rest]


def covered_through(*, tenant: Tenant) -> date | None:
    """The last day the snapshot serves (None: none; everything is read live)."""
    state = ReportState.objects.filter(tenant=tenant).first()
    if state is None or state.through_day is None:
        return None
    if state.dirty_from is not None and state.dirty_from <= state.through_day:
        return state.dirty_from - timedelta(days=1)
    return state.through_day


def live_days(
    *, tenant: Tenant, currency: str, start: date, end: date, now: datetime
) -> dict[date, Day]:
    """The ``DailyMetrics`` columns of each local day in ``[start, end]``, from the raw tables."""
    days: dict[date, Day] = defaultdict(lambda: dict.fromkeys(METRIC_FIELDS, 0))
    if end < start:
        return {}
    tz = tenant.time_zone
    zone = ZoneInfo(tz)
    since, until = _utc(start, tz), min(_utc(end + timedelta(days=1), tz), now)
    for row in (
        MrrMovement.objects.filter(tenant=tenant, currency=currency, day__gte=start, day__lte=end)
        .values("day")
        .annotate(
            new_minor=Sum("delta_minor", filter=Q(kind=K.NEW)),
            expansion_minor=Sum("delta_minor", filter=Q(kind=K.EXPANSION)),
            contraction_minor=Sum("delta_minor", filter=Q(kind=K.CONTRACTION)),
            churn_minor=Sum("delta_minor", filter=Q(kind=K.CHURN)),
            reactivation_minor=Sum("delta_minor", filter=Q(kind=K.REACTIVATION)),
            new_customers=Count("id", filter=Q(kind=K.NEW)),
            churned_customers=Count("id", filter=Q(kind=K.CHURN)),
            reactivated_customers=Count("id", filter=Q(kind=K.REACTIVATION)),
            churned_established=Count("id", filter=Q(kind=K.CHURN, joined__lt=F("month"))),
            subscriptions_delta=Sum("live_delta"),
            trials_converted=Count("id", filter=Q(from_trial=True)),
        )
    ):
        days[row.pop("day")].update({k: int(v or 0) for k, v in row.items()})
    if since >= until:
        return dict(days)
    for row in (
        PaymentAttempt.objects.filter(
            tenant=tenant,
            currency=currency,
            created_at__gte=since,
            created_at__lt=until,
            status__in=[PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.FAILED],
        )
        .annotate(d=TruncDate("created_at", tzinfo=zone))
        .values("d")
        .annotate(
            payments_succeeded=Count("id", filter=Q(status=PaymentAttempt.Status.SUCCEEDED)),
            payments_failed=Count("id", filter=Q(status=PaymentAttempt.Status.FAILED)),
            paid_minor=Sum("amount_minor", filter=Q(status=PaymentAttempt.Status.SUCCEEDED)),
            failed_minor=Sum("amount_minor", filter=Q(status=PaymentAttempt.Status.FAILED)),
        )
    ):
        days[row.pop("d")].update({k: int(v or 0) for k, v in row.items()})
    cases = DunningCase.objects.filter(tenant=tenant, invoice__currency=currency)
    for row in (
        cases.filter(opened_at__gte=since, opened_at__lt=until)
        .annotate(d=TruncDate("opened_at", tzinfo=zone))
        .values("d")
        .annotate(n=Count("id"))
    ):
        days[row["d"]]["dunning_opened"] = row["n"]
    for row in (
        cases.filter(
            close_reason=DunningCase.CloseReason.PAID, closed_at__gte=since, closed_at__lt=until
        )
        .annotate(d=TruncDate("closed_at", tzinfo=zone))
        .values("d")
        .annotate(n=Count("id"), amount=Sum("invoice__total_minor"))
    ):
        days[row["d"]]["dunning_recovered"] = row["n"]
        days[row["d"]]["recovered_minor"] = int(row["amount"] or 0)
    trials = Subscription.objects.filter(
        tenant=tenant, plan__currency=currency, trial_end__isnull=False
    )
    for row in (
        trials.filter(start_at__gte=since, start_at__lt=until)
        .annotate(d=TruncDate("start_at", tzinfo=zone))
        .values("d")
        .annotate(n=Count("id"))
    ):
        days[row["d"]]["trials_started"] = row["n"]
    for row in (
        trials.filter(trial_end__gte=since, trial_end__lt=until)
        .annotate(d=TruncDate("trial_end", tzinfo=zone))
        .values("d")
        .annotate(n=Count("id"))
    ):
        days[row["d"]]["trials_ended"] = row["n"]
    return dict(days)


def days(
    *,
    tenant: Tenant,
    currency: str,
    start: date,
    end: date,
    now: datetime,
    through: date | None = _UNKNOWN,
) -> dict[date, Day]:
    """Each day's numbers in ``[start, end]``: the snapshot where it reaches, live after."""
    if through is _UNKNOWN:
        through = covered_through(tenant=tenant)
    out: dict[date, Day] = {}
    if through is not None and start <= through:
        for row in DailyMetrics.objects.filter(
            tenant=tenant, currency=currency, day__gte=start, day__lte=min(end, through)
        ).values("day", *METRIC_FIELDS):
            out[row.pop("day")] = row
    live_start = start if through is None else max(start, through + timedelta(days=1))
    out.update(live_days(tenant=tenant, currency=currency, start=live_start, end=end, now=now))
    return out


@dataclass(frozen=True, slots=True)
class Levels:
    mrr: int = 0
    customers: int = 0
    subscriptions: int = 0


def levels_before(
    *, tenant: Tenant, currency: str, day: date, through: date | None = _UNKNOWN
) -> Levels:
    """MRR, paying customers and live subscriptions at the start of ``day``."""
    if through is _UNKNOWN:
        through = covered_through(tenant=tenant)
    mrr = customers = subs = 0
    live_from: date | None = None
    if through is not None:
        last = min(through, day - timedelta(days=1))
        snap = DailyMetrics.objects.filter(
            tenant=tenant, currency=currency, day__lte=last
        ).aggregate(
            *[Sum(f) for f in (*MOVEMENT_FIELDS, "new_customers", "reactivated_customers")],
            churned=Sum("churned_customers"),
            subs=Sum("subscriptions_delta"),
        )
        mrr = sum(int(snap[f"{f}__sum"] or 0) for f in MOVEMENT_FIELDS)
        customers = (
            int(snap["new_customers__sum"] or 0)
            + int(snap["reactivated_customers__sum"] or 0)
            - int(snap["churned"] or 0)
        )
        subs = int(snap["subs"] or 0)
        live_from = last + timedelta(days=1)
    live = MrrMovement.objects.filter(tenant=tenant, currency=currency, day__lt=day)
    if live_from is not None:
        live = live.filter(day__gte=live_from)
    agg = live.aggregate(
        mrr=Sum("delta_minor"), customers=Sum("customer_delta"), subs=Sum("live_delta")
    )
    return Levels(
        mrr + int(agg["mrr"] or 0),
        customers + int(agg["customers"] or 0),
        subs + int(agg["subs"] or 0),
    )


def bucket(day: date, grain: str) -> date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day


def _buckets(start: date, end: date, grain: str) -> list[date]:
    out, cursor = [], bucket(start, grain)
    while cursor <= end:
        out.append(cursor)
        if grain == "month":
            cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            cursor += timedelta(days=7 if grain == "week" else 1)
    return out


def _ratio(num: int | Decimal, den: int | Decimal) -> Decimal | None:
    return None if not den else (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"))


@dataclass
class Period:
    """One period (day, week or month) of the overview, in one currency."""

    start: date
    mrr_start: int = 0
    customers_start: int = 0
    sums: Day = field(default_factory=lambda: dict.fromkeys(METRIC_FIELDS, 0))
    mrr: int = 0
    customers: int = 0
    subscriptions: int = 0

    @property
    def net_new(self) -> int:
        return sum(self.sums[f] for f in MOVEMENT_FIELDS)

    def row(self, grain: str) -> dict[str, Any]:
        s = self.sums
        lost = -(s["churn_minor"] + s["contraction_minor"])
        gained_back = s["expansion_minor"] + s["reactivation_minor"]
        gross = _ratio(lost, self.mrr_start)
        net = _ratio(lost - gained_back, self.mrr_start)
        churned = s["churned_established"] if grain == "month" else s["churned_customers"]
        logo = _ratio(churned, self.customers_start)
        arpu = _ratio(self.mrr, self.customers)
        paid_tries = s["payments_succeeded"] + s["payments_failed"]
        return {
            "period": self.start,
            "mrr": self.mrr,
            "arr": 12 * self.mrr,
            "new": s["new_minor"],
            "expansion": s["expansion_minor"],
            "contraction": s["contraction_minor"],
            "churn": s["churn_minor"],
            "reactivation": s["reactivation_minor"],
            "net_new": self.net_new,
            "customers": self.customers,
            "subscriptions": self.subscriptions,
            "new_customers": s["new_customers"],
            "churned_customers": s["churned_customers"],
            "reactivated_customers": s["reactivated_customers"],
            "logo_churn": logo,
            "gross_mrr_churn": gross,
            "net_mrr_churn": net,
            "grr": None if gross is None else 1 - gross,
            "nrr": None if net is None else 1 - net,
            "quick_ratio": _ratio(s["new_minor"] + gained_back, lost),
            "arpu": arpu,
            "ltv": None if not logo or arpu is None or grain != "month" else _ratio(arpu, logo),
            "trials_started": s["trials_started"],
            "trials_ended": s["trials_ended"],
            "trials_converted": s["trials_converted"],
            "trial_conversion": _ratio(s["trials_converted"], s["trials_ended"]),
            "payments_succeeded": s["payments_succeeded"],
            "payments_failed": s["payments_failed"],
            "payment_success_rate": _ratio(s["payments_succeeded"], paid_tries),
            "paid": s["paid_minor"],
            "failed": s["failed_minor"],
            "dunning_opened": s["dunning_opened"],
            "dunning_recovered": s["dunning_recovered"],
            "recovered": s["recovered_minor"],
            "recovery_rate": _ratio(s["dunning_recovered"], s["dunning_opened"]),
        }


@dataclass(frozen=True)
class Series:
    currency: str
    grain: str
    start: date
    end: date
    opening: Levels
    rows: list[dict[str, Any]]
    periods: list[Period]

    @property
    def empty(self) -> bool:
        return (
            not self.opening.mrr
            and not self.opening.customers
            and not any(
                r["net_new"]
                or r["payments_succeeded"]
                or r["payments_failed"]
                or r["trials_started"]
                or r["customers"]
                for r in self.rows
            )
        )

    def totals(self) -> dict[str, Any]:
        """The whole range as one period (sums of flows; levels at its end)."""
        whole = Period(self.start, self.opening.mrr, self.opening.customers)
        for p in self.periods:
            for f in METRIC_FIELDS:
                whole.sums[f] += p.sums[f]
        last = self.rows[-1] if self.rows else None
        whole.mrr = last["mrr"] if last else self.opening.mrr
        whole.customers = last["customers"] if last else self.opening.customers
        whole.subscriptions = last["subscriptions"] if last else self.opening.subscriptions
        return whole.row("range")


def series(
    *, tenant: Tenant, currency: str, start: date, end: date, grain: str, now: datetime
) -> Series:
    """The overview: per period, the five movements and the MRR they add up to,
    customers, churn, trials, payments and recovery."""
    if grain not in GRAINS:
        raise ValueError(grain)
    through = covered_through(tenant=tenant)
    opening = levels_before(tenant=tenant, currency=currency, day=start, through=through)
    per_day = days(tenant=tenant, currency=currency, start=start, end=end, now=now, through=through)
    periods = {b: Period(b) for b in _buckets(start, end, grain)}
    for day, values in per_day.items():
        period = periods[bucket(day, grain)]
        for f in METRIC_FIELDS:
            period.sums[f] += int(values.get(f) or 0)
    rows = []
    mrr, customers, subs = opening.mrr, opening.customers, opening.subscriptions
    for b in sorted(periods):
        p = periods[b]
        p.mrr_start, p.customers_start = mrr, customers
        mrr += p.net_new
        customers += p.sums["new_customers"] + p.sums["reactivated_customers"]
        customers -= p.sums["churned_customers"]
        subs += p.sums["subscriptions_delta"]
        p.mrr, p.customers, p.subscriptions = mrr, customers, subs
        rows.append(p.row(grain))
    return Series(currency, grain, start, end, opening, rows, [periods[b] for b in sorted(periods)])


# -- the other report tables ---------------------------------------------------

COHORT_SQL = """
SELECT cohort, month,
       SUM(SUM(customer_delta)) OVER (PARTITION BY cohort ORDER BY month) AS customers,
       SUM(SUM(delta_minor)) OVER (PARTITION BY cohort ORDER BY month) AS mrr
FROM reports_mrrmovement
WHERE tenant_id = %s AND currency = %s AND cohort >= %s AND cohort <= %s AND month <= %s
GROUP BY cohort, month
ORDER BY cohort, month
"""


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def cohorts(*, tenant: Tenant, currency: str, start: date, end: date) -> list[dict[str, Any]]:
    """Retention by signup month: for each cohort (the month its customers first
    paid) and each month since, the customers still paying and their MRR, with
    the share of the cohort's first month. One row per (cohort, month k)."""
    first, last = start.replace(day=1), end.replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(COHORT_SQL, [tenant.pk, currency, first, last, last])
        raw = cursor.fetchall()
    by_cohort: dict[date, dict[int, tuple[int, int]]] = defaultdict(dict)
    for cohort, month, customers, mrr in raw:
        cohort, month = _as_date(cohort), _as_date(month)
        by_cohort[cohort][_months_between(cohort, month)] = (int(customers), int(mrr))
    out = []
    for cohort in sorted(by_cohort):
        cells = by_cohort[cohort]
        size, base = cells.get(0, (0, 0))
        held = (0, 0)
        for k in range(_months_between(cohort, last) + 1):
            held = cells.get(k, held)
            out.append(
                {
                    "cohort": cohort,
                    "months_since": k,
                    "customers": held[0],
                    "mrr": held[1],
                    "customer_retention": _ratio(held[0], size),
                    "mrr_retention": _ratio(held[1], base),
                }
            )
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def revenue_by_plan(
    *, tenant: Tenant, currency: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Recurring revenue invoiced per plan in the range (paid or open invoices,
    after discounts, before tax), largest first."""
    tz = tenant.time_zone
    rows = (
        InvoiceLine.objects.filter(
            tenant=tenant,
            kind=InvoiceLine.Kind.RECURRING,
            invoice__currency=currency,
            invoice__status__in=[Invoice.Status.PAID, Invoice.Status.OPEN],
            invoice__issued_at__gte=_utc(start, tz),
            invoice__issued_at__lt=_utc(end + timedelta(days=1), tz),
            plan__isnull=False,
        )
        .values("plan__code", "plan__name")
        .annotate(
            lines=Count("id"),
            subscriptions=Count("invoice__subscription", distinct=True),
            revenue=Sum("amount_minor") - Sum("discount_minor"),
        )
        .order_by("-revenue", "plan__code")
    )
    return [
        {
            "plan": r["plan__code"],
            "name": r["plan__name"],
            "subscriptions": r["subscriptions"],
            "invoices": r["lines"],
            "revenue": int(r["revenue"] or 0),
        }
        for r in rows
    ]


def _attempts(tenant: Tenant, currency: str, start: date, end: date) -> Any:
    tz = tenant.time_zone
    return PaymentAttempt.objects.filter(
        tenant=tenant,
        currency=currency,
        created_at__gte=_utc(start, tz),
        created_at__lt=_utc(end + timedelta(days=1), tz),
        status__in=[PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.FAILED],
    )


def payments_by_method(
    *, tenant: Tenant, currency: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Payment success rate per payment-method kind (card, boleto, Pix)."""
    rows = (
        _attempts(tenant, currency, start, end)
        .values("payment_method__kind")
        .annotate(
            succeeded=Count("id", filter=Q(status=PaymentAttempt.Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=PaymentAttempt.Status.FAILED)),
            paid=Sum("amount_minor", filter=Q(status=PaymentAttempt.Status.SUCCEEDED)),
        )
        .order_by("payment_method__kind")
    )
    return [
        {
            "method": r["payment_method__kind"],
            "attempts": r["succeeded"] + r["failed"],
            "succeeded": r["succeeded"],
            "failed": r["failed"],
            "success_rate": _ratio(r["succeeded"], r["succeeded"] + r["failed"]),
            "paid": int(r["paid"] or 0),
        }
        for r in rows
    ]


def declines_by_code(
    *, tenant: Tenant, currency: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Failed attempts per decline code, with their share of all attempts."""
    attempts = _attempts(tenant, currency, start, end)
    total = attempts.count()
    rows = (
        attempts.filter(status=PaymentAttempt.Status.FAILED)
        .values("failure_code")
        .annotate(failed=Count("id"), amount=Sum("amount_minor"))
        .order_by("-failed", "failure_code")
    )
    return [
        {
            "code": r["failure_code"] or "unknown",
            "failed": r["failed"],
            "amount": int(r["amount"] or 0),
            "share_of_attempts": _ratio(r["failed"], total),
        }
        for r in rows
    ]


def recovery(*, tenant: Tenant, currency: str, start: date, end: date) -> list[dict[str, Any]]:
    """Dunning cases opened in the range, per payment-method kind: how many were
    recovered (paid), lost, or are still open; recovered revenue."""
    tz = tenant.time_zone
    rows = (
        DunningCase.objects.filter(
            tenant=tenant,
            invoice__currency=currency,
            opened_at__gte=_utc(start, tz),
            opened_at__lt=_utc(end + timedelta(days=1), tz),
        )
        .values("payment_method_kind")
        .annotate(
            opened=Count("id"),
            recovered=Count("id", filter=Q(close_reason=DunningCase.CloseReason.PAID)),
            still_open=Count("id", filter=Q(status=DunningCase.Status.OPEN)),
            recovered_amount=Sum(
                "invoice__total_minor", filter=Q(close_reason=DunningCase.CloseReason.PAID)
            ),
        )
        .order_by("payment_method_kind")
    )
    return [
        {
            "method": r["payment_method_kind"],
            "opened": r["opened"],
            "recovered": r["recovered"],
            "lost": r["opened"] - r["recovered"] - r["still_open"],
            "still_open": r["still_open"],
            "recovery_rate": _ratio(r["recovered"], r["opened"]),
            "recovered_revenue": int(r["recovered_amount"] or 0),
        }
        for r in rows
    ]


LIST_LIMIT = 500


def upcoming_renewals(
    *, tenant: Tenant, currency: str, now: datetime, days_ahead: int = 30
) -> list[dict[str, Any]]:
    """Subscriptions renewing in the next ``days_ahead`` days (active or past due,
    no cancellation or pause scheduled), soonest first, at the price each renews
    at: the contract's readjusted unit price when it has one, else the plan's."""
    subs = (
        Subscription.objects.filter(
            tenant=tenant,
            plan__currency=currency,
            status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE],
            current_period_end__gte=now,
            current_period_end__lt=now + timedelta(days=days_ahead),
        )
        .exclude(
            pk__in=ScheduledChange.objects.filter(
                tenant=tenant,
                status=ScheduledChange.Status.PENDING,
                kind__in=[ScheduledChange.Kind.CANCEL, ScheduledChange.Kind.PAUSE],
            ).values("subscription_id")
        )
        .select_related("plan__tax_rate", "customer")
        .prefetch_related(live_items_prefetch())
        .order_by("current_period_end", "pk")[:LIST_LIMIT]
    )
    return [
        {
            "subscription": s.public_id,
            "customer": s.customer.name or s.customer.email,
            "plan": s.plan.name,
            "renews_at": s.current_period_end,
            # Priced as the engine will price the renewal (before tax), with its
            # add-ons but those whose fixed term ends there.
            "amount": contract_terms(s.plan, s.unit_amount_minor).period_amount(s.quantity)
            + sum(
                contract_terms(i.plan, i.unit_amount_minor).period_amount(i.quantity)
                for i in getattr(s, "live_items", ())
                if not (i.plan.term_cycles and i.cycles_billed >= i.plan.term_cycles)
            ),
        }
        for s in subs
    ]


def awaiting_retry(*, tenant: Tenant, currency: str) -> list[dict[str, Any]]:
    """Invoices whose charge failed and whose dunning case is still open, next step first."""
    cases = (
        DunningCase.objects.filter(
            tenant=tenant, status=DunningCase.Status.OPEN, invoice__currency=currency
        )
        .filter(
            invoice__attempts__status=PaymentAttempt.Status.FAILED,
        )
        .distinct()
        .select_related("invoice", "customer")
        .order_by("next_run_at", "pk")[:LIST_LIMIT]
    )
    return [
        {
            "invoice": c.invoice.number or c.invoice.public_id,
            "customer": c.customer.name or c.customer.email,
            "method": c.payment_method_kind,
            "amount_due": c.invoice.amount_due_minor,
            "opened_at": c.opened_at,
            "next_step_at": c.next_run_at,
        }
        for c in cases
    ]
