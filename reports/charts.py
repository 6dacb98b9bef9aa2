"""What Chart.js draws (``static/js/reports.js``): labels and datasets built
here, with translated legend texts, from the rows a report already computed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from babel.dates import format_date
from django.utils.encoding import force_str
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.money import currency_exponent
from reports.templatetags.report_tags import method_label

COLORS = {
    "new": "#2e7d32",
    "expansion": "#66bb6a",
    "reactivation": "#1e88e5",
    "contraction": "#fb8c00",
    "churn": "#e53935",
    "line": "#37474f",
    "accent": "#8e24aa",
}


def _label(day: date, grain: str) -> str:
    locale = (get_language() or "en").replace("-", "_")
    pattern = "MMM yyyy" if grain == "month" else "d MMM"
    return format_date(day, pattern, locale=locale)


def _bar(key: str, label: str, rows: Sequence[dict[str, Any]], color: str) -> dict[str, Any]:
    return {
        "type": "bar",
        "key": key,
        "label": label,
        "data": [r[key] for r in rows],
        "backgroundColor": color,
        "stack": "movements",
    }


def _line(
    key: str, label: str, rows: Sequence[dict[str, Any]], color: str, axis: str = "y"
) -> dict[str, Any]:
    values = [r[key] for r in rows]
    return {
        "type": "line",
        "key": key,
        "label": label,
        "data": [None if v is None else float(v) if not isinstance(v, int) else v for v in values],
        "borderColor": color,
        "backgroundColor": color,
        "yAxisID": axis,
        "tension": 0,
    }


# What a chart needs to have something to draw (else the page says so instead).
DRAWS = {
    "trials": ("trials_started", "trials_ended", "trials_converted"),
    "payments": ("payments_succeeded", "payments_failed", "dunning_opened", "dunning_recovered"),
}


def has_data(kind: str, rows: Sequence[dict[str, Any]]) -> bool:
    keys = DRAWS.get(kind)
    return bool(rows) if keys is None else any(r.get(k) for r in rows for k in keys)


def chart(kind: str, rows: Sequence[dict[str, Any]], currency: str, grain: str) -> dict[str, Any]:
    """One chart's configuration: ``kind`` is a report's ``chart``."""
    labels = [
        _label(r["period"], grain) if "period" in r else force_str(r.get("name")) for r in rows
    ]
    money = {"y": "money"}
    if kind == "mrr":
        datasets = [
            _bar("new", _("New business"), rows, COLORS["new"]),
            _bar("expansion", _("Expansion"), rows, COLORS["expansion"]),
            _bar("reactivation", _("Reactivation"), rows, COLORS["reactivation"]),
            _bar("contraction", _("Contraction"), rows, COLORS["contraction"]),
            _bar("churn", _("Churn"), rows, COLORS["churn"]),
            # On the bars' axis (its own stack): the line is where the bars add up to.
            _line("mrr", _("MRR"), rows, COLORS["line"]),
        ]
    elif kind == "customers":
        datasets = [
            _line("customers", _("Customers"), rows, COLORS["line"]),
            _line("subscriptions", _("Subscriptions"), rows, COLORS["reactivation"]),
        ]
        money = {"y": "count"}
    elif kind == "churn":
        datasets = [
            _line("logo_churn", _("Logo churn"), rows, COLORS["churn"]),
            _line("gross_mrr_churn", _("Gross MRR churn"), rows, COLORS["contraction"]),
            _line("net_mrr_churn", _("Net MRR churn"), rows, COLORS["accent"]),
        ]
        money = {"y": "percent"}
    elif kind == "trials":
        datasets = [
            {**_bar("trials_ended", _("Trials ended"), rows, "#90a4ae"), "stack": "a"},
            {**_bar("trials_converted", _("Converted"), rows, COLORS["new"]), "stack": "b"},
            _line("trial_conversion", _("Trial conversion"), rows, COLORS["accent"], "y2"),
        ]
        money = {"y": "count", "y2": "percent"}
    elif kind == "payments":
        datasets = [
            {**_bar("payments_failed", _("Failed payments"), rows, COLORS["churn"]), "stack": "a"},
            {**_bar("dunning_opened", _("Dunning cases"), rows, "#90a4ae"), "stack": "b"},
            {**_bar("dunning_recovered", _("Recovered"), rows, COLORS["new"]), "stack": "c"},
            _line("recovery_rate", _("Recovery rate"), rows, COLORS["accent"], "y2"),
        ]
        money = {"y": "count", "y2": "percent"}
    elif kind == "plans":
        labels = [force_str(r["name"]) for r in rows]
        datasets = [
            {**_bar("revenue", _("Revenue"), rows, COLORS["reactivation"]), "stack": "a"},
        ]
    elif kind == "payment_methods":
        labels = [method_label(r["method"]) for r in rows]
        datasets = [
            {**_bar("succeeded", _("Succeeded"), rows, COLORS["new"]), "stack": "a"},
            {**_bar("failed", _("Failed"), rows, COLORS["churn"]), "stack": "a"},
        ]
        money = {"y": "count"}
    elif kind == "declines":
        labels = [force_str(r["code"]) for r in rows]
        datasets = [{**_bar("failed", _("Failed"), rows, COLORS["churn"]), "stack": "a"}]
        money = {"y": "count"}
    elif kind == "recovery":
        labels = [method_label(r["method"]) for r in rows]
        datasets = [
            {**_bar("recovered", _("Recovered"), rows, COLORS["new"]), "stack": "a"},
            {**_bar("lost", _("Lost"), rows, COLORS["churn"]), "stack": "a"},
            {**_bar("still_open", _("Still open"), rows, "#90a4ae"), "stack": "a"},
        ]
        money = {"y": "count"}
    else:
        raise ValueError(kind)
    return {
        "kind": kind,
        "labels": labels,
        "datasets": datasets,
        "axes": money,
        "currency": currency,
        "exponent": currency_exponent(currency),
        "locale": get_language() or "en",
    }
