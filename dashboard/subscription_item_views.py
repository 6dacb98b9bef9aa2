"""A subscription's add-ons (``SubscriptionItem``, issue 16 item 4) on the
dashboard: add one, change its quantity, remove it — each shown with the exact
amounts before it is confirmed, as the plan change is (``subscription_change``):
a POST without ``confirm`` (or htmx's, on every change of the form) answers
the preview; with ``confirm``, the action, previewed first, so an error in
between is shown and nothing is applied. Thin: the forms check types and
scope, ``billing.items`` decides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing import items as billing_items
from billing.domain.invoicing import CREDIT_CARRIED
from billing.labels import line_label
from billing.selectors import now_for
from core import clock
from core.actors import Actor
from core.errors import DomainError
from dashboard.subscription_forms import ItemAddForm, ItemQuantityForm, ItemRemoveForm
from dashboard.subscription_views import _get
from subscriptions.models import Subscription
from subscriptions.selectors import ItemRow, item_rows, plan_list
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

Preview = Callable[[datetime], billing_items.ItemPreview]
Action = Callable[[Actor, datetime], object]


def _item(request: StaffRequest, sub: Subscription, item_id: str) -> ItemRow:
    """A live add-on of ``sub`` (another subscription's or tenant's, or an ended
    one: 404)."""
    for row in item_rows(tenant=request.tenant, sub=sub):
        if row.public_id == item_id:
            return row
    raise Http404


def _field(form: forms.Form, param: str | None) -> str | None:
    return param if param in form.fields else None


def _flow(
    request: StaffRequest,
    sub: Subscription,
    form: forms.Form,
    *,
    preview: Preview,
    action: Action,
    done: str,
    context: dict[str, Any],
) -> HttpResponse:
    """GET: the form. POST: the preview, and with ``confirm`` the action
    (``preview`` and ``action`` read the form's cleaned data when called)."""
    htmx = request.headers.get("HX-Request") == "true"
    shown = None
    if request.method == "POST" and form.is_valid():
        now = now_for(customer=sub.customer, now=clock.now())
        try:
            shown = preview(now)
            if request.POST.get("confirm"):
                action(Actor.staff(request.user), now)
        except DomainError as exc:
            form.add_error(_field(form, exc.param), exc.message)
            shown = None
        else:
            if request.POST.get("confirm"):
                messages.success(request, done)
                return redirect("dashboard:subscription", sub_id=sub.public_id)
    rows = [] if shown is None else [ln for ln in shown.lines if ln.kind != CREDIT_CARRIED]
    template = (
        "dashboard/subscriptions/_item_preview.html"
        if htmx
        else "dashboard/subscriptions/item_action.html"
    )
    return render(
        request,
        template,
        {
            "sub": sub,
            "form": form,
            "preview": shown,
            # What the lines net to; a credit beyond the invoice goes to the balance
            # (its "credit carried" line brings the invoice to zero).
            "rows": [(line_label(ln), ln) for ln in rows],
            "net_minor": sum(ln.total_minor for ln in rows),
            "carried_minor": 0
            if shown is None
            else shown.total_minor - sum(ln.total_minor for ln in rows),
            "currency": sub.plan.currency,
            "htmx": htmx,
            **context,
        },
        # htmx swaps only 2xx answers: the preview's errors come back as a 200 fragment.
        status=400 if form.errors and not htmx else 200,
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_item_add(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    posted = request.POST.get("plan")
    if posted and not plan_list(tenant=request.tenant).filter(public_id=posted).exists():
        # Not one of this tenant's plans (another tenant's id, or none): no such plan.
        # One of its plans that cannot be an add-on here is a choice the form refuses.
        raise Http404
    form = ItemAddForm(request.POST or None, subscription=sub)

    def args() -> dict[str, Any]:
        data = form.cleaned_data
        return {
            "tenant": request.tenant,
            "subscription_id": sub.pk,
            "plan": data["plan"],
            "quantity": data["quantity"],
            "proration": data["proration"],
        }

    return _flow(
        request,
        sub,
        form,
        preview=lambda now: billing_items.subscription_item_preview_add(now=now, **args()),
        action=lambda actor, now: billing_items.subscription_item_add(
            actor=actor, now=now, **args()
        ),
        done=_("The add-on is added."),
        context={
            "mode": "add",
            "title": _("Add an add-on"),
            "confirm_label": _("Confirm: add it"),
        },
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_item_quantity(request: StaffRequest, sub_id: str, item_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    item = _item(request, sub, item_id)
    form = ItemQuantityForm(request.POST or None, initial={"quantity": item.quantity})

    def args() -> dict[str, Any]:
        data = form.cleaned_data
        return {
            "tenant": request.tenant,
            "subscription_id": sub.pk,
            "item_id": item.public_id,
            "quantity": data["quantity"],
            "proration": data["proration"],
        }

    return _flow(
        request,
        sub,
        form,
        preview=lambda now: billing_items.subscription_item_preview_update(now=now, **args()),
        action=lambda actor, now: billing_items.subscription_item_update(
            actor=actor, now=now, **args()
        ),
        done=_("The add-on's quantity is changed."),
        context={
            "mode": "quantity",
            "item": item,
            "title": _("Change an add-on's quantity"),
            "confirm_label": _("Confirm the new quantity"),
        },
    )


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_item_remove(request: StaffRequest, sub_id: str, item_id: str) -> HttpResponse:
    sub = _get(request, sub_id)
    item = _item(request, sub, item_id)
    form = ItemRemoveForm(request.POST or None)

    def args() -> dict[str, Any]:
        return {
            "tenant": request.tenant,
            "subscription_id": sub.pk,
            "item_id": item.public_id,
            "proration": form.cleaned_data["proration"],
        }

    return _flow(
        request,
        sub,
        form,
        preview=lambda now: billing_items.subscription_item_preview_remove(now=now, **args()),
        action=lambda actor, now: billing_items.subscription_item_remove(
            actor=actor, now=now, **args()
        ),
        done=_("The add-on is removed."),
        context={
            "mode": "remove",
            "item": item,
            "title": _("Remove an add-on"),
            "confirm_label": _("Confirm: remove it"),
        },
    )
