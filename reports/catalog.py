"""Every report: its title, definition (reports/README.md, shortened), columns
and rows. The dashboard pages, the exports and ``/api/v1/reports/…`` all read
this one list, so a table, its CSV/XLSX and its API answer always agree."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, ValidationFailed
from core.localtime import to_local
from core.money import is_known_currency
from reports import selectors
from tenants.models import Tenant

MAX_DAYS = 5 * 366


@dataclass(frozen=True)
class Params:
    tenant: Tenant
    currency: str
    start: date
    end: date
    grain: str
    now: datetime


def _date(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{param} must be a date as YYYY-MM-DD.", param=param, code="invalid_date"
        ) from None


def params(*, tenant: Tenant, query: Mapping[str, str], now: datetime) -> Params:
    """The range, grain and currency a request asks for (defaults: the last 12
    months to today, by month, in the tenant's default currency)."""
    today = to_local(now, tenant.time_zone).date()
    first = today.replace(day=1)
    default_start = (first - timedelta(days=335)).replace(day=1)
    start = _date(query["start"], "start") if query.get("start") else default_start
    end = _date(query["end"], "end") if query.get("end") else today
    if start > end:
        raise ValidationFailed("start must be on or before end.", param="start")
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed("A range spans at most five years.", param="start")
    grain = query.get("grain", "month")
    if grain not in selectors.GRAINS:
        raise ValidationFailed("grain must be day, week or month.", param="grain")
    if grain == "day" and (end - start).days > 400:
        raise ValidationFailed("A daily report spans at most 400 days.", param="grain")
    currency = (query.get("currency") or tenant.default_currency).upper()
    if not is_known_currency(currency):
        raise ValidationFailed(f"Unknown currency: {currency}", param="currency")
    return Params(tenant, currency, start, end, grain, now)


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    kind: str  # money, money_ratio, ratio, int, period, month, date, datetime, method, text


@dataclass(frozen=True)
class Report:
    slug: str
    title: str | Promise
    definition: str | Promise
    columns: tuple[Column, ...]
    rows: Callable[[Params], list[dict[str, Any]]]
    chart: str = ""  # which chart the page draws (static/js/reports.js)

    @property
    def periodic(self) -> bool:
        """One row per period (grouped by day, week or month), not one table for the range."""
        return self.rows is _series


def _series(p: Params) -> list[dict[str, Any]]:
    return selectors.series(
        tenant=p.tenant, currency=p.currency, start=p.start, end=p.end, grain=p.grain, now=p.now
    ).rows


def _kw(p: Params) -> dict[str, Any]:
    return {"tenant": p.tenant, "currency": p.currency, "start": p.start, "end": p.end}


PERIOD = Column("period", _("Period"), "period")
REPORTS: tuple[Report, ...] = (
    Report(
        "mrr",
        _("MRR and its movements"),
        _(
            "Monthly recurring revenue: each active or past-due subscription's recurring price "
            "normalised to a month, after forever discounts, before tax. Net new MRR is split "
            "into new business, expansion, contraction, churn and reactivation; their sum is the "
            "change of MRR. ARR = 12 × MRR."
        ),
        (
            PERIOD,
            Column("new", _("New business"), "money"),
            Column("expansion", _("Expansion"), "money"),
            Column("contraction", _("Contraction"), "money"),
            Column("churn", _("Churn"), "money"),
            Column("reactivation", _("Reactivation"), "money"),
            Column("net_new", _("Net new MRR"), "money"),
            Column("mrr", _("MRR"), "money"),
            Column("arr", _("ARR"), "money"),
        ),
        _series,
        "mrr",
    ),
    Report(
        "customers",
        _("Active subscribers"),
        _(
            "Paying customers: customers with a live subscription that has brought MRR (paused "
            "ones included), at the end of each period; live subscriptions; ARPU = MRR ÷ "
            "customers; LTV = ARPU ÷ monthly logo churn."
        ),
        (
            PERIOD,
            Column("customers", _("Customers"), "int"),
            Column("subscriptions", _("Subscriptions"), "int"),
            Column("new_customers", _("New customers"), "int"),
            Column("reactivated_customers", _("Reactivated"), "int"),
            Column("churned_customers", _("Churned customers"), "int"),
            Column("arpu", _("ARPU"), "money_ratio"),
            Column("ltv", _("LTV"), "money_ratio"),
        ),
        _series,
        "customers",
    ),
    Report(
        "churn",
        _("Churn and retention"),
        _(
            "Logo churn = customers lost ÷ customers at the start (leaving out those who started "
            "in the period). Gross MRR churn = (churn + contraction) ÷ MRR at the start; net MRR "
            "churn = (churn + contraction − expansion − reactivation) ÷ MRR at the start. GRR = "
            "1 − gross, NRR = 1 − net. Quick ratio = (new + expansion + reactivation) ÷ (churn + "
            "contraction)."
        ),
        (
            PERIOD,
            Column("logo_churn", _("Logo churn"), "ratio"),
            Column("gross_mrr_churn", _("Gross MRR churn"), "ratio"),
            Column("net_mrr_churn", _("Net MRR churn"), "ratio"),
            Column("grr", _("GRR"), "ratio"),
            Column("nrr", _("NRR"), "ratio"),
            Column("quick_ratio", _("Quick ratio"), "ratio"),
        ),
        _series,
        "churn",
    ),
    Report(
        "trials",
        _("Trials"),
        _(
            "Trials started in the period, trials whose end fell in it (cancelled ones "
            "included), and trials that converted (entered MRR straight from the trial). "
            "Conversion = converted ÷ ended."
        ),
        (
            PERIOD,
            Column("trials_started", _("Trials started"), "int"),
            Column("trials_ended", _("Trials ended"), "int"),
            Column("trials_converted", _("Converted"), "int"),
            Column("trial_conversion", _("Trial conversion"), "ratio"),
        ),
        _series,
        "trials",
    ),
    Report(
        "payments",
        _("Payments and recovery"),
        _(
            "Charge attempts settled in the period: succeeded and failed, with the success rate; "
            "dunning cases opened and recovered (paid), the recovery rate and the recovered "
            "revenue (the invoices' totals)."
        ),
        (
            PERIOD,
            Column("payments_succeeded", _("Succeeded"), "int"),
            Column("payments_failed", _("Failed"), "int"),
            Column("payment_success_rate", _("Success rate"), "ratio"),
            Column("paid", _("Collected"), "money"),
            Column("dunning_opened", _("Dunning cases"), "int"),
            Column("dunning_recovered", _("Recovered"), "int"),
            Column("recovery_rate", _("Recovery rate"), "ratio"),
            Column("recovered", _("Recovered revenue"), "money"),
        ),
        _series,
        "payments",
    ),
    Report(
        "cohorts",
        _("Cohorts"),
        _(
            "Customers grouped by the month they first paid; for each month since, how many "
            "still pay and their MRR, as a share of the cohort's first month."
        ),
        (
            Column("cohort", _("Cohort"), "month"),
            Column("months_since", _("Months since"), "int"),
            Column("customers", _("Customers"), "int"),
            Column("customer_retention", _("Customer retention"), "ratio"),
            Column("mrr", _("MRR"), "money"),
            Column("mrr_retention", _("MRR retention"), "ratio"),
        ),
        lambda p: selectors.cohorts(**_kw(p)),
    ),
    Report(
        "plans",
        _("Revenue by plan"),
        _(
            "Recurring revenue invoiced in the period per plan (paid or open invoices, after "
            "discounts, before tax)."
        ),
        (
            Column("plan", _("Plan code"), "text"),
            Column("name", _("Plan"), "text"),
            Column("subscriptions", _("Subscriptions"), "int"),
            Column("invoices", _("Invoice lines"), "int"),
            Column("revenue", _("Revenue"), "money"),
        ),
        lambda p: selectors.revenue_by_plan(**_kw(p)),
        "plans",
    ),
    Report(
        "payment_methods",
        _("Payment success by method"),
        _("Charge attempts in the period per payment method, and the share that succeeded."),
        (
            Column("method", _("Method"), "method"),
            Column("attempts", _("Attempts"), "int"),
            Column("succeeded", _("Succeeded"), "int"),
            Column("failed", _("Failed"), "int"),
            Column("success_rate", _("Success rate"), "ratio"),
            Column("paid", _("Collected"), "money"),
        ),
        lambda p: selectors.payments_by_method(**_kw(p)),
        "payment_methods",
    ),
    Report(
        "declines",
        _("Declines by code"),
        _("Failed charge attempts in the period per decline code, and their share of attempts."),
        (
            Column("code", _("Decline code"), "text"),
            Column("failed", _("Failed"), "int"),
            Column("amount", _("Amount"), "money"),
            Column("share_of_attempts", _("Share of attempts"), "ratio"),
        ),
        lambda p: selectors.declines_by_code(**_kw(p)),
        "declines",
    ),
    Report(
        "recovery",
        _("Dunning recovery"),
        _(
            "Dunning cases opened in the period per payment method: recovered (paid), lost, "
            "still open; recovery rate = recovered ÷ opened; recovered revenue."
        ),
        (
            Column("method", _("Method"), "method"),
            Column("opened", _("Opened"), "int"),
            Column("recovered", _("Recovered"), "int"),
            Column("lost", _("Lost"), "int"),
            Column("still_open", _("Still open"), "int"),
            Column("recovery_rate", _("Recovery rate"), "ratio"),
            Column("recovered_revenue", _("Recovered revenue"), "money"),
        ),
        lambda p: selectors.recovery(**_kw(p)),
        "recovery",
    ),
    Report(
        "renewals",
        _("Upcoming renewals"),
        _(
            "Active or past-due subscriptions renewing in the next 30 days with no cancellation "
            "or pause scheduled, at the price each renews at (the range does not apply)."
        ),
        (
            Column("subscription", _("Subscription"), "text"),
            Column("customer", _("Customer"), "text"),
            Column("plan", _("Plan"), "text"),
            Column("renews_at", _("Renews"), "datetime"),
            Column("amount", _("Amount"), "money"),
        ),
        lambda p: selectors.upcoming_renewals(tenant=p.tenant, currency=p.currency, now=p.now),
    ),
    Report(
        "retries",
        _("Failed payments awaiting retry"),
        _(
            "Invoices whose charge failed and whose dunning case is still open, next step first "
            "(the range does not apply)."
        ),
        (
            Column("invoice", _("Invoice"), "text"),
            Column("customer", _("Customer"), "text"),
            Column("method", _("Method"), "method"),
            Column("amount_due", _("Amount due"), "money"),
            Column("opened_at", _("Failed since"), "datetime"),
            Column("next_step_at", _("Next step"), "datetime"),
        ),
        lambda p: selectors.awaiting_retry(tenant=p.tenant, currency=p.currency),
    ),
)
BY_SLUG = {r.slug: r for r in REPORTS}


def report_get(slug: str) -> Report:
    report = BY_SLUG.get(slug)
    if report is None:
        raise NotFound(f"No such report: '{slug}'", param="report")
    return report


def table(report: Report, p: Params) -> list[dict[str, Any]]:
    """The report's rows, only its columns, in order."""
    keys = [c.key for c in report.columns]
    return [{k: row.get(k) for k in keys} for row in report.rows(p)]
