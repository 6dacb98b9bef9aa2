"""Subscriptions in the dashboard: list, detail, and the actions staff take on
the customer's behalf. Thin: forms check types and scope, services decide."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import discounts as billing_discounts
from billing import subscriptions as billing_subs
from billing.models import Sale, Seller
from billing.retention import subscription_cancel_with_reason
from billing.selectors import invoice_list, now_for
from core import clock
from core.actors import Actor
from core.errors import DomainError
from dashboard.keyset import keyset_page
from dashboard.subscription_forms import (
    CancelForm,
    ChangeForm,
    PauseForm,
    PaymentMethodForm,
    ResumeForm,
    SubscriptionFilterForm,
)
from subscriptions import services as subs
from subscriptions.domain.cycles import from_local
from subscriptions.models import Subscription
from subscriptions.selectors import item_rows, subscription_list
from subscriptions.services.items import ITEMS_CHANGEABLE
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

PAGE_SIZE = 25


def _filtered(request: StaffRequest, form: SubscriptionFilterForm) -> QuerySet[Subscription]:
    rows = subscription_list(tenant=request.tenant)
    if not form.is_valid():
        return rows
    data = form.cleaned_data
    if data["status"]:
        rows = rows.filter(status=data["status"])
    if data["plan"]:
        rows = rows.filter(plan__code=data["plan"])
    if data["collection_method"]:
        rows = rows.filter(collection_method=data["collection_method"])
    # Renewal dates are the tenant's calendar days (its time zone is active).
    tz = timezone.get_current_timezone()
    if data["renews_from"]:
        rows = rows.filter(
            current_period_end__gte=datetime.combine(data["renews_from"], time.min, tzinfo=tz)
        )
    if data["renews_to"]:
        rows = rows.filter(
            current_period_end__lte=datetime.combine(data["renews_to"], time.max, tzinfo=tz)
        )
    return rows


@staff_view(Perm.BILLING_VIEW)
def subscriptions(request: StaffRequest) -> HttpResponse:
    form = SubscriptionFilterForm(request.GET or None, tenant=request.tenant)
    rows = _filtered(request, form)
    after = request.GET.get("after", "")
    page = keyset_page(rows, after=after, size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("after", None)
    filter_query = query.urlencode()
    if page.next_cursor:
        query["after"] = page.next_cursor
    return render(
        request,
        "dashboard/subscriptions/list.html",
        {
            "form": form,
            "rows": page.rows,
            "next_query": query.urlencode() if page.next_cursor else "",
            "filtered": any(v for k, v in request.GET.items() if k != "after"),
            "paged": bool(after),
            "filter_query": filter_query,
            "can_start": request.membership.has_perm(Perm.SUBSCRIPTIONS_MANAGE),
        },
    )


def _get(request: StaffRequest, sub_id: str) -> Subscription:
    sub = subscription_list(tenant=request.tenant).filter(public_id=sub_id).first()
    if sub is None:
        raise Http404
    return sub


def _detail(
    request: StaffRequest,
    sub: Subscription,
    status: int = 200,
    pause_preview: Any = None,
    **forms_: forms.Form,
) -> HttpResponse:
    preview_of_pause = pause_preview
    can_manage = request.membership.has_perm(Perm.SUBSCRIPTIONS_MANAGE)
    scheduled = {c.kind: c for c in getattr(sub, "pending", [])}
    plan = sub.plan
    context: dict[str, Any] = {
        "sub": sub,
        "plan": plan,
        "scheduled": scheduled,
        "pauses_left": max(plan.max_pauses - sub.pauses_used, 0),
        "readjustments": getattr(sub, "readjustment_rows", []),
        "next_readjustment": next(
            (r for r in getattr(sub, "readjustment_rows", []) if r.status == "scheduled"), None
        ),
        "next_invoice": billing_subs.subscription_preview_next_invoice(
            tenant=request.tenant, subscription_id=sub.pk
        ),
        "invoices": invoice_list(tenant=request.tenant).filter(subscription=sub)[:20],
        "can_manage": can_manage,
        "discount": billing_discounts.live_discount(
            tenant_id=request.tenant.pk, subscription_id=sub.pk
        ),
        "ended": sub.status in (Subscription.Status.CANCELED, Subscription.Status.ENDED),
        "items": item_rows(tenant=request.tenant, sub=sub),
        "can_edit_items": can_manage and sub.status in ITEMS_CHANGEABLE,
        "pause_form": forms_.get("pause_form") or PauseForm(),
        "resume_form": forms_.get("resume_form") or ResumeForm(),
        "pause_preview": preview_of_pause,
        "cancel_form": forms_.get("cancel_form") or CancelForm(tenant=request.tenant),
        "payment_method_form": forms_.get("payment_method_form")
        or PaymentMethodForm(subscription=sub),
        "sale": Sale.objects.filter(tenant=request.tenant, subscription=sub)
        .select_related("seller")
        .first(),
        "sellers": Seller.objects.filter(tenant=request.tenant).order_by("name"),
    }
    return render(request, "dashboard/subscriptions/detail.html", context, status=status)


@staff_view(Perm.BILLING_VIEW)
def subscription(request: StaffRequest, sub_id: str) -> HttpResponse:
    return _detail(request, _get(request, sub_id))


def _field(form: forms.Form, param: str | None) -> str | None:
    return param if param in form.fields else None


def _run(
    request: StaffRequest,
    sub: Subscription,
    form: forms.Form,
    form_name: str,
    action: Callable[[Actor, datetime], object],
    done: str,
    param: Callable[[str | None], str | None] = lambda p: p,
) -> HttpResponse:
    """Call the service once the form is valid; a domain error becomes a form
    error next to its field and the page comes back (400), nothing saved."""
    if form.is_valid():
        try:
            action(Actor.staff(request.user), now_for(customer=sub.customer, now=clock.now()))
        except DomainError as exc:
            form.add_error(_field(form, param(exc.param)), exc.message)
        else:
            messages.success(request, done)
            return redirect("dashboard:subscription", sub_id=sub.public_id)
    return _detail(request, sub, 400, **{form_name: form})


def _local_midnight(request: StaffRequest, day: date | None) -> datetime | None:
    """A date typed in the form: its midnight in the tenant's time zone."""
    if day is None:
        return None
    return from_local(datetime.combine(day, time()), request.tenant.time_zone)


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_pause(request: StaffRequest, sub_id: str) -> HttpResponse:
    """Schedule a pause from the period end, or pause now; with ``preview`` (a
    pause now), the page comes back with the exact credit, nothing saved."""
    sub = _get(request, sub_id)
    form = PauseForm(request.POST)
    if form.is_valid() and form.cleaned_data["when"] == "now":
        resume_at = _local_midnight(request, form.cleaned_data["resume_on"])
        unused: str | None = form.cleaned_data["unused"] or None
        if request.POST.get("preview"):
            try:
                preview = billing_subs.subscription_preview_pause(
                    tenant=request.tenant,
                    subscription_id=sub.pk,
                    now=now_for(customer=sub.customer, now=clock.now()),
                    resume_at=resume_at,
                    unused=unused,
                )
            except DomainError as exc:
                form.add_error(_field(form, _pause_param(exc.param)), exc.message)
                return _detail(request, sub, 400, pause_form=form)
            return _detail(request, sub, pause_form=form, pause_preview=preview)
        return _run(
            request,
            sub,
            form,
            "pause_form",
            lambda actor, now: billing_subs.subscription_pause_now(
                tenant=request.tenant,
                subscription_id=sub.pk,
                actor=actor,
                now=now,
                resume_at=resume_at,
                unused=unused,
            ),
            _("The subscription is paused."),
            param=_pause_param,
        )
    return _run(
        request,
        sub,
        form,
        "pause_form",
        lambda actor, now: subs.subscription_pause(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            cycles=form.cleaned_data["cycles"],
        ),
        _("The pause is scheduled from the end of the current period."),
    )


def _pause_param(param: str | None) -> str | None:
    """The services' ``resume_at`` is the form's ``resume_on``."""
    return "resume_on" if param == "resume_at" else param


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_resume(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    form = ResumeForm(request.POST)
    return _run(
        request,
        sub,
        form,
        "resume_form",
        lambda actor, now: billing_subs.subscription_resume(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            resume_at=_local_midnight(request, form.cleaned_data["resume_on"]),
        ),
        _("The subscription is resumed (or its resumption date is set)."),
        param=_pause_param,
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_cancel(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    form = CancelForm(request.POST, tenant=request.tenant)
    at_end = request.POST.get("when") == "period_end"
    return _run(
        request,
        sub,
        form,
        "cancel_form",
        lambda actor, now: subscription_cancel_with_reason(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            at_period_end=form.cleaned_data["when"] == "period_end",
            prorate_credit=form.cleaned_data["credit"],
            reason=form.cleaned_data["reason"] or None,
            language=get_language(),
        ),
        _("The subscription will be canceled at the end of the period.")
        if at_end
        else _("The subscription is canceled."),
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_cancel_undo(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    return _run(
        request,
        sub,
        forms.Form(request.POST),
        "cancel_form",
        lambda actor, now: subs.subscription_cancel_undo(
            tenant=request.tenant, subscription_id=sub.pk, actor=actor, now=now
        ),
        _("The scheduled cancellation is undone."),
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_payment_method(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    form = PaymentMethodForm(request.POST, subscription=sub)
    return _run(
        request,
        sub,
        form,
        "payment_method_form",
        lambda actor, now: subs.subscription_payment_method_set(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            payment_method_id=form.cleaned_data["payment_method"].pk
            if form.cleaned_data["payment_method"]
            else None,
        ),
        _("The payment method of this subscription is changed."),
    )


def _preview(request: StaffRequest, sub: Subscription, form: ChangeForm) -> Any:
    """The exact lines the change would bill, or None (form errors added)."""
    if not form.is_valid():
        return None
    try:
        return billing_subs.subscription_preview_change(
            tenant=request.tenant,
            subscription=sub,
            now=now_for(customer=sub.customer, now=clock.now()),
            plan=form.cleaned_data["plan"],
            quantity=form.cleaned_data["quantity"],
            when=form.cleaned_data["when"],
            proration=form.cleaned_data["proration"],
            anchor=form.cleaned_data["anchor"] or None,
        )
    except DomainError as exc:
        form.add_error(_field(form, exc.param), exc.message)
        return None


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_change(request: StaffRequest, sub_id: str) -> HttpResponse:
    """GET: the form. POST without ``confirm``: the form with the exact preview
    and a confirm button. POST with ``confirm``: the change (previewed first, so
    an error in between is shown, not applied)."""
    sub = _get(request, sub_id)
    # django-htmx sets ``request.htmx``; StaffRequest does not type it, the header says the same.
    htmx = request.headers.get("HX-Request") == "true"
    form = ChangeForm(request.POST or None, subscription=sub)
    preview = None
    if request.method == "POST":
        preview = _preview(request, sub, form)
        if preview is not None and request.POST.get("confirm"):
            try:
                billing_subs.subscription_change(
                    tenant=request.tenant,
                    subscription_id=sub.pk,
                    actor=Actor.staff(request.user),
                    now=now_for(customer=sub.customer, now=clock.now()),
                    plan=form.cleaned_data["plan"],
                    quantity=form.cleaned_data["quantity"],
                    when=form.cleaned_data["when"],
                    proration=form.cleaned_data["proration"],
                    anchor=form.cleaned_data["anchor"] or None,
                )
            except DomainError as exc:
                form.add_error(_field(form, exc.param), exc.message)
                preview = None
            else:
                messages.success(request, _("The subscription is changed."))
                return redirect("dashboard:subscription", sub_id=sub.public_id)
    template = (
        "dashboard/subscriptions/_change_preview.html"
        if htmx
        else "dashboard/subscriptions/change.html"
    )
    return render(
        request,
        template,
        {"sub": sub, "form": form, "preview": preview, "currency": sub.plan.currency, "htmx": htmx},
        # htmx swaps only 2xx answers: the preview's errors come back as a 200 fragment.
        status=400 if form.errors and not htmx else 200,
    )
