"""The subscriber's subscriptions in the portal: what each costs next, change
plan or quantity with the exact preview, pause, resume, choose the card, and
the cancellation flow (reason, comment, retention offer, confirmation).

Every action goes through the subscription services as the subscriber
(``Actor.subscriber``); every lookup is scoped to the signed-in customer, so
another subscriber's or another merchant's id is a 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import subscriptions as billing_subs
from billing.models import PlanPortalOptions
from billing.retention import (
    portal_change_plans,
    portal_check,
    portal_options,
    portal_subscription_cancel,
    portal_subscription_change,
    retention_offer_accept,
)
from core.actors import Actor
from core.errors import DomainError
from portal.subscription_forms import (
    CancelReasonForm,
    PortalChangeForm,
    PortalPauseForm,
    PortalPaymentMethodForm,
    PortalResumeForm,
)
from portal.views import PortalRequest, subscriber_required
from subscriptions import services as subs
from subscriptions.domain.cycles import from_local
from subscriptions.models import Readjustment, ScheduledChange, Subscription
from subscriptions.selectors import item_rows
from subscriptions.services import ProrationBehavior

ENDED = (Subscription.Status.CANCELED, Subscription.Status.ENDED)


def _get(request: PortalRequest, sub_id: str) -> Subscription:
    sub = (
        Subscription.objects.filter(
            tenant=request.tenant, customer=request.customer, public_id=sub_id
        )
        .select_related("plan__product", "payment_method")
        .first()
    )
    if sub is None:
        raise Http404
    return sub


def _back(request: PortalRequest, sub: Subscription) -> HttpResponse:
    return redirect("portal:subscription", tenant_slug=request.tenant.slug, sub_id=sub.public_id)


def _field(form: forms.Form, param: str | None) -> str | None:
    return param if param in form.fields else None


@subscriber_required
def subscriptions(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    rows = (
        Subscription.objects.filter(tenant=request.tenant, customer=request.customer)
        .select_related("plan__product")
        .order_by("-created_at", "-id")
    )
    return render(
        request,
        "portal/subscriptions/list.html",
        {"customer": request.customer, "subscriptions": rows},
    )


def _detail(
    request: PortalRequest,
    sub: Subscription,
    status: int = 200,
    pause_preview: Any = None,
    **forms_: forms.Form,
) -> HttpResponse:
    options = portal_options(sub.plan)
    pending = {
        c.kind: c
        for c in ScheduledChange.objects.filter(
            tenant=request.tenant, subscription=sub, status=ScheduledChange.Status.PENDING
        )
    }
    ended = sub.status in ENDED
    plan = sub.plan
    context: dict[str, Any] = {
        "customer": request.customer,
        "sub": sub,
        "plan": plan,
        "options": options,
        "ended": ended,
        "scheduled": pending,
        # A readjustment decided (its notice sent) and not yet in effect.
        "readjustment": None
        if ended
        else Readjustment.objects.filter(
            tenant=request.tenant, subscription=sub, status=Readjustment.Status.SCHEDULED
        )
        .order_by("effective_at")
        .first(),
        "pauses_left": max(plan.max_pauses - sub.pauses_used, 0),
        "items": [] if ended else item_rows(tenant=request.tenant, sub=sub),
        "next_invoice": None
        if ended
        else billing_subs.subscription_preview_next_invoice(
            tenant=request.tenant, subscription_id=sub.pk
        ),
        "pause_form": forms_.get("pause_form") or PortalPauseForm(),
        "pause_preview": pause_preview,
        "resume_form": forms_.get("resume_form") or PortalResumeForm(),
        "payment_method_form": forms_.get("payment_method_form")
        or PortalPaymentMethodForm(subscription=sub),
        "action_error": forms_.get("action_form"),
    }
    return render(request, "portal/subscriptions/detail.html", context, status=status)


@subscriber_required
def subscription(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    return _detail(request, _get(request, sub_id))


def _run(
    request: PortalRequest,
    sub: Subscription,
    form: forms.Form,
    form_name: str,
    action: Callable[[Actor], object],
    done: str,
    param: Callable[[str | None], str | None] = lambda p: p,
) -> HttpResponse:
    """The service once the form is valid; a domain error comes back next to
    its field with the page (400), nothing saved."""
    if form.is_valid():
        try:
            action(Actor.subscriber(request.customer))
        except DomainError as exc:
            form.add_error(_field(form, param(exc.param)), exc.message)
        else:
            messages.success(request, done)
            return _back(request, sub)
    return _detail(request, sub, 400, **{form_name: form})


@subscriber_required
@require_POST
def subscription_pause(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    """A pause from the period end, or now (the merchant's setting decides whether
    the paid time left is credited or carried); ``preview`` shows what a pause
    now would credit, nothing saved."""
    sub = _get(request, sub_id)
    form = PortalPauseForm(request.POST)
    now_ = form.is_valid() and form.cleaned_data["when"] == "now"
    resume_at = None
    if now_ and form.cleaned_data["resume_on"]:
        resume_at = from_local(
            datetime.combine(form.cleaned_data["resume_on"], time()), request.tenant.time_zone
        )
    if now_ and request.POST.get("preview"):
        try:
            portal_check(sub=sub, what="pause")
            preview = billing_subs.subscription_preview_pause(
                tenant=request.tenant, subscription_id=sub.pk, now=request.now, resume_at=resume_at
            )
        except DomainError as exc:
            form.add_error(_field(form, _pause_param(exc.param)), exc.message)
            return _detail(request, sub, 400, pause_form=form)
        return _detail(request, sub, pause_form=form, pause_preview=preview)

    def pause(actor: Actor) -> object:
        portal_check(sub=sub, what="pause")
        if now_:
            return billing_subs.subscription_pause_now(
                tenant=request.tenant,
                subscription_id=sub.pk,
                actor=actor,
                now=request.now,
                resume_at=resume_at,
            )
        return subs.subscription_pause(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=request.now,
            cycles=form.cleaned_data["cycles"],
        )

    return _run(
        request,
        sub,
        form,
        "pause_form",
        pause,
        _("Your subscription is paused.")
        if now_
        else _("Your pause starts at the end of the current period."),
        param=_pause_param,
    )


def _pause_param(param: str | None) -> str | None:
    """The services' ``resume_at`` is the form's ``resume_on``."""
    return "resume_on" if param == "resume_at" else param


@subscriber_required
@require_POST
def subscription_resume(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    form = PortalResumeForm(request.POST)

    def resume(actor: Actor) -> object:
        day = form.cleaned_data["resume_on"]
        return billing_subs.subscription_resume(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=request.now,
            resume_at=from_local(datetime.combine(day, time()), request.tenant.time_zone)
            if day
            else None,
        )

    return _run(
        request,
        sub,
        form,
        "resume_form",
        resume,
        _("Your subscription is resumed (or will be, on the date you chose)."),
        param=_pause_param,
    )


@subscriber_required
@require_POST
def subscription_cancel_undo(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    return _run(
        request,
        sub,
        forms.Form(request.POST),
        "action_form",
        lambda actor: subs.subscription_cancel_undo(
            tenant=request.tenant, subscription_id=sub.pk, actor=actor, now=request.now
        ),
        _("Your subscription continues: the cancellation is undone."),
    )


@subscriber_required
@require_POST
def subscription_payment_method(
    request: PortalRequest, tenant_slug: str, sub_id: str
) -> HttpResponse:
    sub = _get(request, sub_id)
    form = PortalPaymentMethodForm(request.POST, subscription=sub)
    return _run(
        request,
        sub,
        form,
        "payment_method_form",
        lambda actor: subs.subscription_payment_method_set(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=request.now,
            payment_method_id=form.cleaned_data["payment_method"].pk
            if form.cleaned_data["payment_method"]
            else None,
        ),
        _("The payment method of this subscription is changed."),
    )


@subscriber_required
@require_http_methods(["GET", "POST"])
def subscription_change(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    """GET: the form. POST: the exact preview and a confirm button; POST with
    ``confirm``: the change, previewed first so an error is shown, not applied."""
    sub = _get(request, sub_id)
    try:
        portal_check(sub=sub, what="change")
    except DomainError:
        raise Http404 from None
    form = PortalChangeForm(request.POST or None, subscription=sub)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            preview = billing_subs.subscription_preview_change(
                tenant=request.tenant,
                subscription=sub,
                now=request.now,
                plan=form.cleaned_data["plan"],
                quantity=form.cleaned_data["quantity"],
                when="now",
                proration=ProrationBehavior.NEXT_INVOICE,
            )
            if request.POST.get("confirm"):
                portal_subscription_change(
                    tenant=request.tenant,
                    subscription_id=sub.pk,
                    actor=Actor.subscriber(request.customer),
                    now=request.now,
                    plan=form.cleaned_data["plan"],
                    quantity=form.cleaned_data["quantity"],
                )
                messages.success(request, _("Your subscription is changed."))
                return _back(request, sub)
        except DomainError as exc:
            form.add_error(_field(form, exc.param), exc.message)
            preview = None
    return render(
        request,
        "portal/subscriptions/change.html",
        {
            "customer": request.customer,
            "sub": sub,
            "form": form,
            "preview": preview,
            "currency": sub.plan.currency,
            "plans": portal_change_plans(sub=sub),
        },
        status=400 if form.errors else 200,
    )


@subscriber_required
@require_http_methods(["GET", "POST"])
def subscription_cancel(request: PortalRequest, tenant_slug: str, sub_id: str) -> HttpResponse:
    """The cancellation flow: 1. reason, comment and when; 2. the retention offer
    (when the plan has one); 3. the confirmation. ``step`` says where the POST is."""
    sub = _get(request, sub_id)
    try:
        options = portal_check_options(sub)
    except DomainError:
        raise Http404 from None
    if sub.status in ENDED:
        raise Http404
    form = CancelReasonForm(request.POST or None, tenant=request.tenant)
    step = request.POST.get("step", "") if request.method == "POST" else "reason"
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            step, status = "reason", 400
        elif step == "reason":
            step = "offer" if _has_offer(options) else "confirm"
        elif step in ("accept", "cancel"):
            actor = Actor.subscriber(request.customer)
            data = form.cleaned_data
            try:
                if step == "accept":
                    retention_offer_accept(
                        tenant=request.tenant,
                        subscription_id=sub.pk,
                        actor=actor,
                        now=request.now,
                        reason=data["reason"],
                        comment=data["comment"],
                        language=get_language(),
                    )
                    messages.success(request, _("Thank you for staying! The offer is applied."))
                else:
                    portal_subscription_cancel(
                        tenant=request.tenant,
                        subscription_id=sub.pk,
                        actor=actor,
                        now=request.now,
                        at_period_end=data["when"] == "period_end",
                        reason=data["reason"],
                        comment=data["comment"],
                        language=get_language(),
                    )
                    messages.success(
                        request,
                        _("Your subscription will end at the end of the current period.")
                        if data["when"] == "period_end"
                        else _("Your subscription is canceled."),
                    )
            except DomainError as exc:
                form.add_error(_field(form, exc.param), exc.message)
                step, status = "confirm", 400
            else:
                return _back(request, sub)
        else:
            step = "confirm"
    return render(
        request,
        "portal/subscriptions/cancel.html",
        {
            "customer": request.customer,
            "sub": sub,
            "form": form,
            "step": step,
            "options": options,
        },
        status=status,
    )


def portal_check_options(sub: Subscription) -> PlanPortalOptions:
    portal_check(sub=sub, what="cancel")
    return portal_options(sub.plan)


def _has_offer(options: PlanPortalOptions) -> bool:
    kind = options.offer
    return (
        (kind == PlanPortalOptions.Offer.COUPON and options.offer_coupon_id is not None)
        or kind == PlanPortalOptions.Offer.PAUSE
        or (kind == PlanPortalOptions.Offer.PLAN and options.offer_plan_id is not None)
    )
