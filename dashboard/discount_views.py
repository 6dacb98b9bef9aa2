"""Discounts in the dashboard: apply or remove a coupon on a subscription (from
the next invoice, or now with the exact preview of what is invoiced) and on a
customer (from their next invoices). Thin: the form checks types, the
services (``billing.discounts``) decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import discounts
from billing.selectors import now_for
from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.models import Customer
from dashboard import selectors as customer_selectors
from subscriptions.models import Subscription
from subscriptions.selectors import subscription_list
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

APPLY, REMOVE = "apply", "remove"


class DiscountForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=[
            (APPLY, gettext_lazy("Apply a coupon")),
            (REMOVE, gettext_lazy("Remove the discount")),
        ],
        initial=APPLY,
    )
    coupon = forms.CharField(label=gettext_lazy("Coupon code"), max_length=64, required=False)
    proration = forms.ChoiceField(
        label=gettext_lazy("From"),
        choices=[
            (discounts.NEXT_INVOICE, gettext_lazy("The next invoice")),
            (discounts.NOW, gettext_lazy("Now, prorated (invoiced at once)")),
        ],
        initial=discounts.NEXT_INVOICE,
    )

    def __init__(self, *args: Any, prorated: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not prorated:  # a customer's discount applies from their next invoices
            del self.fields["proration"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == APPLY and not (data.get("coupon") or "").strip():
            self.add_error("coupon", _("Give the coupon's code."))
        return data


def _field(form: forms.Form, param: str | None) -> str | None:
    return param if param in form.fields else None


def _sub_or_404(request: StaffRequest, sub_id: str) -> Subscription:
    sub = subscription_list(tenant=request.tenant).filter(public_id=sub_id).first()
    if sub is None:
        raise Http404
    return sub


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_discount(request: StaffRequest, sub_id: str) -> HttpResponse:
    """GET: the form. POST without ``confirm``: the exact preview of what "now"
    invoices. POST with ``confirm``: the action."""
    sub = _sub_or_404(request, sub_id)
    form = DiscountForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = now_for(customer=sub.customer, now=clock.now())
        coupon = data["coupon"].strip() if data["action"] == APPLY else None
        try:
            if data["proration"] == discounts.NOW:
                preview = discounts.subscription_discount_preview(
                    tenant=request.tenant, subscription=sub, now=now, coupon=coupon
                )
            if request.POST.get("confirm"):
                actor = Actor.staff(request.user)
                if coupon is not None:
                    discounts.subscription_discount_apply(
                        tenant=request.tenant,
                        subscription_id=sub.pk,
                        coupon=coupon,
                        actor=actor,
                        now=now,
                        proration=data["proration"],
                    )
                else:
                    discounts.subscription_discount_remove(
                        tenant=request.tenant,
                        subscription_id=sub.pk,
                        actor=actor,
                        now=now,
                        proration=data["proration"],
                    )
                messages.success(request, _("The subscription's discount is changed."))
                return redirect("dashboard:subscription", sub_id=sub.public_id)
        except DomainError as exc:
            form.add_error(_field(form, exc.param), exc.message)
            preview = None
    return render(
        request,
        "dashboard/discounts/subscription.html",
        {
            "sub": sub,
            "form": form,
            "preview": preview,
            "previewed": request.method == "POST" and not form.errors,
            "currency": sub.plan.currency,
            "current": discounts.live_discount(tenant_id=request.tenant.pk, subscription_id=sub.pk),
        },
        status=400 if form.errors else 200,
    )


def _customer_or_404(request: StaffRequest, public_id: str) -> Customer:
    customer = customer_selectors.customer_get(tenant=request.tenant, public_id=public_id)
    if customer is None:
        raise Http404
    return customer


@staff_view(Perm.CUSTOMERS_MANAGE)
def customer_discount(request: StaffRequest, public_id: str) -> HttpResponse:
    """GET: the form. POST: apply or remove the customer's discount."""
    customer = _customer_or_404(request, public_id)
    form = DiscountForm(request.POST or None, prorated=False)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = now_for(customer=customer, now=clock.now())
        actor = Actor.staff(request.user)
        try:
            if data["action"] == APPLY:
                discounts.customer_discount_apply(
                    tenant=request.tenant,
                    customer_id=customer.pk,
                    coupon=data["coupon"].strip(),
                    actor=actor,
                    now=now,
                )
            else:
                discounts.customer_discount_remove(
                    tenant=request.tenant, customer_id=customer.pk, actor=actor, now=now
                )
        except DomainError as exc:
            form.add_error(_field(form, exc.param), exc.message)
        else:
            messages.success(request, _("The customer's discount is changed."))
            return redirect("dashboard:customer_detail", public_id=customer.public_id)
    return render(
        request,
        "dashboard/discounts/customer.html",
        {
            "customer": customer,
            "form": form,
            "current": discounts.live_discount(
                tenant_id=request.tenant.pk, customer_id=customer.pk
            ),
        },
        status=400 if form.errors else 200,
    )
