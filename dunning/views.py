"""Dashboard pages of the régua: the policies, editing one, the open cases."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import clock
from core.actors import Actor
from core.errors import DomainError
from dunning import selectors, services
from dunning.forms import PolicyForm, StepFormSet, step_initial
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


@staff_view(Perm.BILLING_VIEW)
def index(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    membership = request.membership
    return render(
        request,
        "dunning/index.html",
        {
            "policies": selectors.policy_list(tenant=tenant).order_by("payment_method_kind"),
            "cases": selectors.case_list(tenant=tenant)[:50],
            "can_edit": membership.has_perm(Perm.BILLING_MANAGE),
        },
    )


@staff_view(Perm.BILLING_MANAGE)
def policy_edit(request: StaffRequest, public_id: str) -> HttpResponse:
    tenant = request.tenant
    policy = selectors.policy_get(tenant=tenant, public_id=public_id)
    if policy is None:
        raise Http404("No such dunning policy.")
    initial = {
        "run_hour": policy.run_hour,
        "smart_retry": policy.smart_retry,
        "active": policy.active,
    }
    form = PolicyForm(request.POST or None, initial=initial)
    steps = StepFormSet(
        request.POST or None,
        initial=[step_initial(s) for s in policy.live_steps()],
        prefix="steps",
    )
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        # Blank extra rows have no data; rows ticked "delete" are left out.
        kept = [
            f.as_step() for f in steps.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            services.dunning_policy_update(
                tenant=tenant,
                policy_id=policy.pk,
                actor=Actor.staff(request.user),
                now=clock.now(),
                steps=kept,
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.message)
        else:
            messages.success(request, _("Dunning policy saved."))
            return redirect("dunning:index")
    return render(
        request,
        "dunning/policy_edit.html",
        {"policy": policy, "form": form, "steps": steps},
        status=400 if request.method == "POST" else 200,
    )


@staff_view(Perm.BILLING_VIEW)
def case_detail(request: StaffRequest, public_id: str) -> HttpResponse:
    case = selectors.case_get(
        tenant=request.tenant,
        public_id=public_id,
    )
    if case is None:
        raise Http404("No such dunning case.")
    return render(request, "dunning/case_detail.html", {"case": case})
