"""The readjustment (reajuste) pages: the contracts coming due (apply one or
many), the index series with their monthly values (typed or from CSV), and
each plan's policy. Thin: every write is a ``subscriptions.services`` call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core import clock
from core.actors import Actor
from core.errors import DomainError
from dashboard.readjustment_forms import IndexCsvForm, IndexSeriesForm, IndexValueForm, PolicyForm
from subscriptions import services
from subscriptions.models import IndexSeries, IndexValue, Plan, ReadjustmentPolicy
from subscriptions.selectors import index_series_list, policy_list, readjustments_due
from subscriptions.services.readjustment import CsvImportError
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

DAY_CHOICES = (30, 60, 90, 180, 365)


def _actor(request: StaffRequest) -> Actor:
    return Actor.staff(request.user)


def _render(request: StaffRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    failed = any(isinstance(v, forms.Form) and v.is_bound and v.errors for v in context.values())
    return render(
        request, f"dashboard/readjustments/{template}", context, status=400 if failed else 200
    )


def _error(form: forms.Form, exc: DomainError) -> None:
    field = exc.param if exc.param in form.fields else None
    form.add_error(field, exc.message)


def _days(request: StaffRequest) -> int:
    raw = request.GET.get("days", "30")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 366 else 30


# --- the due list -------------------------------------------------------------------------


@staff_view(Perm.BILLING_VIEW)
def due(request: StaffRequest) -> HttpResponse:
    days = _days(request)
    items = readjustments_due(tenant=request.tenant, now=clock.now(), days=days)
    return _render(
        request,
        "due.html",
        {
            "items": items,
            "days": days,
            "day_choices": DAY_CHOICES,
            "has_policies": policy_list(tenant=request.tenant).exists(),
            "can_apply": request.membership.has_perm(Perm.SUBSCRIPTIONS_MANAGE),
        },
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def apply(request: StaffRequest) -> HttpResponse:
    """Apply the ticked contracts (or the one whose button was pressed)."""
    public_ids = request.POST.getlist("subscription")
    subs = dict(_subscriptions(request, public_ids))
    back = f"{reverse('dashboard:readjustments')}?days={_days(request)}"
    if not subs or len(subs) != len(set(public_ids)):
        messages.error(request, _("Choose the subscriptions to readjust."))
        return redirect(back)
    done, failed = services.readjustments_schedule_many(
        tenant=request.tenant,
        subscription_ids=list(subs.values()),
        actor=_actor(request),
        now=clock.now(),
    )
    if done:
        messages.success(
            request,
            ngettext(
                "%(n)d readjustment applied; its subscriber is notified.",
                "%(n)d readjustments applied; their subscribers are notified.",
                len(done),
            )
            % {"n": len(done)},
        )
    for message in failed.values():
        messages.error(request, message)
    return redirect(back)


def _subscriptions(request: StaffRequest, public_ids: list[str]) -> list[tuple[str, int]]:
    from subscriptions.models import Subscription

    return list(
        Subscription.objects.filter(tenant=request.tenant, public_id__in=public_ids).values_list(
            "public_id", "pk"
        )
    )


# --- index series -----------------------------------------------------------------------------


@staff_view(Perm.BILLING_VIEW)
def series_list(request: StaffRequest) -> HttpResponse:
    form = IndexSeriesForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.has_perm(Perm.CATALOG_MANAGE):
            raise Http404
        if form.is_valid():
            try:
                series = services.index_series_create(
                    tenant=request.tenant,
                    actor=_actor(request),
                    now=clock.now(),
                    **form.cleaned_data,
                )
            except DomainError as exc:
                _error(form, exc)
            else:
                messages.success(
                    request, _("Index series %(name)s created.") % {"name": series.name}
                )
                return redirect("dashboard:index_series_detail", series_id=series.public_id)
    return _render(
        request,
        "series.html",
        {
            "series": index_series_list(tenant=request.tenant),
            "form": form,
            "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE),
        },
    )


def _series(request: StaffRequest, series_id: str) -> IndexSeries:
    series = IndexSeries.objects.filter(tenant=request.tenant, public_id=series_id).first()
    if series is None:
        raise Http404
    return series


def _series_page(
    request: StaffRequest,
    series: IndexSeries,
    value_form: forms.Form | None = None,
    csv_form: forms.Form | None = None,
    csv_lines: list[tuple[int, str]] | None = None,
) -> HttpResponse:
    values = IndexValue.objects.filter(tenant=request.tenant, series=series).order_by("-month")
    return _render(
        request,
        "series_detail.html",
        {
            "s": series,
            "values": values,
            "value_form": value_form or IndexValueForm(),
            "csv_form": csv_form or IndexCsvForm(),
            "csv_lines": csv_lines or [],
            "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE),
        },
    )


@staff_view(Perm.BILLING_VIEW)
def series_detail(request: StaffRequest, series_id: str) -> HttpResponse:
    return _series_page(request, _series(request, series_id))


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def series_value(request: StaffRequest, series_id: str) -> HttpResponse:
    series = _series(request, series_id)
    form = IndexValueForm(request.POST)
    if form.is_valid():
        try:
            services.index_values_set(
                tenant=request.tenant,
                series_id=series.pk,
                values={form.cleaned_data["month"]: form.cleaned_data["rate"]},
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("Value saved."))
            return redirect("dashboard:index_series_detail", series_id=series.public_id)
    return _series_page(request, series, value_form=form)


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def series_import(request: StaffRequest, series_id: str) -> HttpResponse:
    series = _series(request, series_id)
    form = IndexCsvForm(request.POST, request.FILES)
    lines: list[tuple[int, str]] = []
    if form.is_valid():
        try:
            count = services.index_values_import_csv(
                tenant=request.tenant,
                series_id=series.pk,
                text=form.cleaned_data["file"],
                actor=_actor(request),
                now=clock.now(),
            )
        except CsvImportError as exc:
            lines = exc.lines
            form.add_error("file", _("Nothing was imported: fix the lines below and upload again."))
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)d month imported.", "%(n)d months imported.", count) % {"n": count},
            )
            return redirect("dashboard:index_series_detail", series_id=series.public_id)
    return _series_page(request, series, csv_form=form, csv_lines=lines)


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def policy_turn_off(request: StaffRequest, plan_code: str) -> HttpResponse:
    if not policy_list(tenant=request.tenant).filter(plan_code=plan_code).exists():
        raise Http404
    services.readjustment_policy_turn_off(
        tenant=request.tenant, plan_code=plan_code, actor=_actor(request), now=clock.now()
    )
    messages.success(request, _("Readjustments of %(plan)s turned off.") % {"plan": plan_code})
    return redirect("dashboard:readjustment_policies")


# --- policies ---------------------------------------------------------------------------------


def _policy_form(request: StaffRequest, data: Any = None, initial: Any = None) -> PolicyForm:
    codes = (
        Plan.objects.filter(tenant=request.tenant, pricing_model__in=["flat", "per_seat"])
        .order_by("code", "-version")
        .values_list("code", "name")
    )
    plans: dict[str, str] = {}
    for code, name in codes:
        plans.setdefault(code, f"{name} ({code})")
    series = [(s.public_id, s.name) for s in index_series_list(tenant=request.tenant)]
    return PolicyForm(data, initial=initial, plans=list(plans.items()), series=series)


@staff_view(Perm.BILLING_VIEW)
def policies(request: StaffRequest) -> HttpResponse:
    initial: dict[str, Any] | None = None
    code = request.GET.get("plan")
    existing = policy_list(tenant=request.tenant).filter(plan_code=code).first() if code else None
    if code:
        initial = {"plan": code}
    if existing is not None:
        initial = {
            "plan": existing.plan_code,
            "method": existing.method,
            "series": existing.series.public_id if existing.series else "",
            "fixed_percent": existing.fixed_percent,
            "period": existing.period,
            "month": existing.month,
            "floor_percent": existing.floor_percent,
            "cap_percent": existing.cap_percent,
            "notice_days": existing.notice_days,
            "automatic": existing.automatic,
            "applies_to": existing.applies_to,
        }
    form = _policy_form(request, request.POST or None, initial)
    if request.method == "POST":
        if not request.membership.has_perm(Perm.CATALOG_MANAGE):
            raise Http404
        if form.is_valid():
            data = dict(form.cleaned_data)
            series_public = data.pop("series")
            series = (
                IndexSeries.objects.filter(tenant=request.tenant, public_id=series_public).first()
                if series_public
                else None
            )
            try:
                services.readjustment_policy_set(
                    tenant=request.tenant,
                    plan_code=data.pop("plan"),
                    series_id=series.pk if series else None,
                    actor=_actor(request),
                    now=clock.now(),
                    **data,
                )
            except DomainError as exc:
                _error(form, exc)
            else:
                messages.success(request, _("Readjustment policy saved."))
                return redirect("dashboard:readjustment_policies")
    return _render(
        request,
        "policies.html",
        {
            "policies": policy_list(tenant=request.tenant),
            "form": form,
            "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE),
            "Method": ReadjustmentPolicy.Method,
        },
    )
