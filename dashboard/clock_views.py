"""Test clocks in the dashboard: list, create, a clock's page (its customers, an
advance with its progress, the timeline), attach a new customer, delete.

The advance runs on the worker (``billing.clocks.clock_advance_start``); the page
polls the clock's progress with htmx until it is done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import clocks
from core import clock
from core.actors import Actor
from core.errors import DomainError
from core.localtime import add_months
from customers.models import TestClock
from customers.services import customer_create
from dashboard import clock_selectors as selectors
from dashboard.clock_forms import ClockAdvanceForm, ClockCreateForm
from dashboard.forms import CustomerForm
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


def _clock_or_404(request: StaffRequest, clock_id: str) -> TestClock:
    found = selectors.clock_get(tenant=request.tenant, public_id=clock_id)
    if found is None:
        raise Http404(_("No such test clock."))
    return found


def _error(form: forms.Form, exc: DomainError, field: str | None = None) -> None:
    param = (exc.param or "").replace(".", "_")  # address.city -> address_city
    form.add_error(param if param in form.fields else field, exc.message)


@staff_view(Perm.BILLING_VIEW)
def test_clocks(request: StaffRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/clocks/list.html",
        {
            "clocks": selectors.clocks_listed(tenant=request.tenant)[:200],
            "can_manage": request.membership.has_perm(Perm.BILLING_MANAGE),
        },
    )


@staff_view(Perm.BILLING_MANAGE)
def test_clock_new(request: StaffRequest) -> HttpResponse:
    now = clock.now()
    form = ClockCreateForm(
        request.POST or None,
        now=now,
        initial={"frozen_time": timezone.localtime(now).replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = clocks.clock_create(
                tenant=request.tenant,
                actor=Actor.staff(request.user),
                now=now,
                name=form.cleaned_data["name"],
                frozen_time=form.cleaned_data["frozen_time"],
            )
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("Test clock created."))
            return redirect("dashboard:test_clock", clock_id=created.public_id)
    return render(
        request, "dashboard/clocks/new.html", {"form": form}, status=400 if form.errors else 200
    )


def _detail(
    request: StaffRequest,
    found: TestClock,
    *,
    advance_form: ClockAdvanceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = request.tenant
    context: dict[str, Any] = {
        "clock": found,
        "progress": selectors.clock_progress(found),
        "customers": selectors.clock_customers(tenant=tenant, clock=found),
        "timeline": selectors.clock_timeline(tenant=tenant, clock=found),
        "invoices": selectors.clock_invoices(tenant=tenant, clock=found),
        "advance_form": advance_form or ClockAdvanceForm(),
        "can_manage": request.membership.has_perm(Perm.BILLING_MANAGE),
    }
    return render(request, "dashboard/clocks/detail.html", context, status=status)


@staff_view(Perm.BILLING_VIEW)
def test_clock(request: StaffRequest, clock_id: str) -> HttpResponse:
    return _detail(request, _clock_or_404(request, clock_id))


@staff_view(Perm.BILLING_VIEW)
def test_clock_progress(request: StaffRequest, clock_id: str) -> HttpResponse:
    """What the page polls while the clock advances: the progress bar, and once
    the advance is done an answer that makes htmx reload the whole page."""
    found = _clock_or_404(request, clock_id)
    progress = selectors.clock_progress(found)
    response = render(
        request, "dashboard/clocks/_progress.html", {"clock": found, "progress": progress}
    )
    if progress is None and request.headers.get("HX-Request") == "true":
        response["HX-Refresh"] = "true"
    return response


def _target(found: TestClock, form: ClockAdvanceForm) -> datetime:
    """Where the advance goes: a day or a calendar month later in the account's
    time zone (local arithmetic, then back to UTC), or the date picked."""
    by = form.cleaned_data["by"]
    if by == "date":
        target: datetime = form.cleaned_data["to"]
        return target
    tz = timezone.get_current_timezone()
    local = found.frozen_time.astimezone(tz).replace(tzinfo=None)
    moved = local + timedelta(days=1) if by == "day" else add_months(local, 1)
    return timezone.make_aware(moved, tz)


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def test_clock_advance(request: StaffRequest, clock_id: str) -> HttpResponse:
    found = _clock_or_404(request, clock_id)
    form = ClockAdvanceForm(request.POST)
    if form.is_valid():
        try:
            clocks.clock_advance_start(
                tenant=request.tenant,
                clock_id=found.pk,
                to=_target(found, form),
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            _error(form, exc, "to" if form.cleaned_data["by"] == "date" else "by")
        else:
            return redirect("dashboard:test_clock", clock_id=found.public_id)
    found.refresh_from_db()
    return _detail(request, found, advance_form=form, status=400)


@staff_view(Perm.BILLING_MANAGE)
def test_clock_customer_new(request: StaffRequest, clock_id: str) -> HttpResponse:
    found = _clock_or_404(request, clock_id)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                tenant=request.tenant,
                actor=Actor.staff(request.user),
                now=found.frozen_time,
                test_clock=found,
                **form.service_values(),
            )
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(
                request,
                _("Customer %(name)s created on this test clock.") % {"name": customer.name},
            )
            return redirect("dashboard:test_clock", clock_id=found.public_id)
    return render(
        request,
        "dashboard/clocks/customer_new.html",
        {"form": form, "clock": found},
        status=400 if form.errors else 200,
    )


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def test_clock_delete(request: StaffRequest, clock_id: str) -> HttpResponse:
    found = _clock_or_404(request, clock_id)
    try:
        clocks.clock_delete(
            tenant=request.tenant,
            clock_id=found.pk,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:test_clock", clock_id=found.public_id)
    messages.success(request, _("Test clock deleted, with its customers and their billing."))
    return redirect("dashboard:test_clocks")
