"""Per plan, what subscribers may do in the portal and the retention offer the
cancellation flow shows (issue 14, portal item 3). Thin: the form checks types
and tenant scope, ``billing.retention.plan_portal_options_set`` decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from billing.models import Coupon, PlanPortalOptions
from billing.retention import plan_portal_options_set, portal_options
from core import clock
from core.actors import Actor
from core.errors import DomainError
from subscriptions.models import Plan
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


class PlanPortalForm(forms.Form):
    allow_change = forms.BooleanField(
        label=gettext_lazy("Subscribers may change plan or quantity"), required=False
    )
    allow_pause = forms.BooleanField(label=gettext_lazy("Subscribers may pause"), required=False)
    allow_cancel = forms.BooleanField(label=gettext_lazy("Subscribers may cancel"), required=False)
    change_plan_codes = forms.MultipleChoiceField(
        label=gettext_lazy("Plans they may change to (none: the plans of the same product)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    offer = forms.ChoiceField(
        label=gettext_lazy("Retention offer"), choices=PlanPortalOptions.Offer.choices
    )
    offer_coupon: forms.ModelChoiceField[Coupon] = forms.ModelChoiceField(
        label=gettext_lazy("Coupon offered"),
        queryset=None,
        required=False,
        to_field_name="public_id",
    )
    offer_plan: forms.ModelChoiceField[Plan] = forms.ModelChoiceField(
        label=gettext_lazy("Cheaper plan offered"),
        queryset=None,
        required=False,
        to_field_name="public_id",
    )
    offer_pause_cycles = forms.IntegerField(
        label=gettext_lazy("Pause offered (billing periods)"), min_value=1, max_value=120, initial=1
    )

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tenant_plans = Plan.objects.filter(tenant_id=plan.tenant_id, active=True)
        codes = dict(tenant_plans.order_by("code", "version").values_list("code", "name"))
        codes.pop(plan.code, None)
        self.fields["change_plan_codes"].choices = list(codes.items())  # type: ignore[attr-defined]
        self.fields["offer_coupon"].queryset = Coupon.objects.filter(  # type: ignore[attr-defined]
            tenant_id=plan.tenant_id, active=True
        ).order_by("code")
        self.fields["offer_plan"].queryset = (  # type: ignore[attr-defined]
            tenant_plans.filter(currency=plan.currency).exclude(code=plan.code).order_by("code")
        )


def _plan(request: StaffRequest, plan_id: str) -> Plan:
    plan = Plan.objects.filter(tenant=request.tenant, public_id=plan_id).first()
    if plan is None:
        raise Http404
    return plan


@staff_view(Perm.CATALOG_MANAGE)
@require_http_methods(["GET", "POST"])
def plan_portal(request: StaffRequest, plan_id: str) -> HttpResponse:
    plan = _plan(request, plan_id)
    options = portal_options(plan)
    initial = {
        "allow_change": options.allow_change,
        "allow_pause": options.allow_pause,
        "allow_cancel": options.allow_cancel,
        "change_plan_codes": options.change_plan_codes,
        "offer": options.offer,
        "offer_coupon": options.offer_coupon.public_id if options.offer_coupon else None,
        "offer_plan": options.offer_plan.public_id if options.offer_plan else None,
        "offer_pause_cycles": options.offer_pause_cycles,
    }
    form = PlanPortalForm(request.POST or None, plan=plan, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan_portal_options_set(
                tenant=request.tenant,
                plan_code=plan.code,
                actor=Actor.staff(request.user),
                now=clock.now(),
                allow_change=data["allow_change"],
                allow_pause=data["allow_pause"],
                allow_cancel=data["allow_cancel"],
                change_plan_codes=list(data["change_plan_codes"]),
                offer=data["offer"],
                offer_coupon=data["offer_coupon"],
                offer_plan=data["offer_plan"],
                offer_pause_cycles=data["offer_pause_cycles"],
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.message)
        else:
            messages.success(request, _("The portal options of this plan are saved."))
            return redirect("dashboard:plan_portal", plan_id=plan.public_id)
    return render(
        request,
        "dashboard/catalog/plan_portal.html",
        {"current": plan, "form": form},
        status=400 if form.errors else 200,
    )
