"""Pix Automático on the dashboard: the mandates list, and on a subscription's
page its mandates with their instructions — ask for one, cancel it, and in test
mode (the sandbox PSP) simulate what the payer does. Thin: the forms check types
and scope, ``billing.pix_automatico`` decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing import pix_automatico as pixauto
from billing.domain.pix_automatico import Journey, periodicity_for, recurrence_qr_svg
from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp
from billing.models import Invoice, PixInstruction, PixMandate
from billing.models.pix_automatico import MandateStatus, RetryPolicyChoice
from billing.selectors import now_for
from core import clock
from core.actors import Actor
from core.errors import DomainError
from core.localtime import local_date
from dashboard.amounts import parse_money
from dashboard.keyset import keyset_page
from subscriptions.models import Subscription
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

PAGE_SIZE = 25
LIVE = (MandateStatus.PENDING, MandateStatus.ACTIVE)


# --- what the subscription page shows ------------------------------------------------


def subscription_mandates(*, tenant: Any, sub: Subscription) -> list[PixMandate]:
    """The subscription's mandates, newest first, each with its instructions and,
    while it awaits the payer, its QR code (``qr_svg``)."""
    rows = list(
        PixMandate.objects.filter(tenant=tenant, subscription=sub)
        .select_related("first_invoice", "payment_method", "replaces")
        .prefetch_related(
            Prefetch(
                "instructions",
                queryset=PixInstruction.objects.order_by("-due_date", "-id"),
            )
        )
        .order_by("-created_at", "-id")[:10]
    )
    # Each instruction's cycle invoice (by its period's first local day): paid or not.
    invoices = {
        local_date(start, tenant.time_zone): (status, label)
        for start, status, label in (
            (inv.period_start, inv.status, inv.get_status_display())
            for inv in Invoice.objects.filter(
                tenant=tenant, subscription=sub, period_start__isnull=False
            ).only("period_start", "status")
        )
        if start is not None
    }
    for row in rows:
        for instruction in row.instructions.all():
            status, label = invoices.get(instruction.due_date, ("", ""))
            instruction.invoice_status = status  # type: ignore[attr-defined]
            instruction.invoice_label = label  # type: ignore[attr-defined]
        row.qr_svg = (  # type: ignore[attr-defined]
            recurrence_qr_svg(row.payload)
            if row.status == MandateStatus.PENDING and row.payload
            else ""
        )
        row.sandbox = row.provider == SandboxPixAutomaticoPsp.name  # type: ignore[attr-defined]
    return rows


class MandateRequestForm(forms.Form):
    """Ask the subscriber for a mandate: its QR code is shown here and in the portal."""

    journey = forms.ChoiceField(
        label=gettext_lazy("QR code"),
        choices=[
            ("", gettext_lazy("Pay the open invoice and authorise, if there is one")),
            (Journey.PAY_AND_AUTHORISE.value, gettext_lazy("Pay the open invoice and authorise")),
            (Journey.AUTHORISE_ONLY.value, gettext_lazy("Authorise only (trials)")),
        ],
        required=False,
    )
    max_amount = forms.CharField(
        label=gettext_lazy("Maximum per cycle"),
        max_length=40,
        help_text=gettext_lazy("At least what each cycle charges now."),
    )
    end_date = forms.DateField(
        label=gettext_lazy("Last day it covers"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    retry_policy = forms.ChoiceField(
        label=gettext_lazy("Retries"),
        choices=RetryPolicyChoice.choices,
        initial=RetryPolicyChoice.THREE_IN_SEVEN_DAYS,
    )

    def __init__(self, *args: Any, currency: str = "BRL", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_max_amount(self) -> int:
        return parse_money(self.cleaned_data["max_amount"], self.currency, positive=True)


class MandateActionForm(forms.Form):
    mandate = forms.CharField(max_length=40)
    action = forms.ChoiceField(choices=[(s, s) for s in pixauto.SIMULATIONS], required=False)
    instruction = forms.CharField(max_length=40, required=False)


def _sub(request: StaffRequest, sub_id: str) -> Subscription:
    from dashboard.subscription_views import _get

    return _get(request, sub_id)


def _again(request: StaffRequest, sub: Subscription, **kw: Any) -> HttpResponse:
    """The subscription page again (400), with the form or message that failed."""
    from dashboard.subscription_views import _detail

    return _detail(request, sub, 400, **kw)


def _mandate_of(request: StaffRequest, sub: Subscription, form: MandateActionForm) -> PixMandate:
    found = (
        PixMandate.objects.filter(
            tenant=request.tenant, subscription=sub, public_id=form.cleaned_data["mandate"]
        ).first()
        if form.is_valid()
        else None
    )
    if found is None:
        from django.http import Http404

        raise Http404
    return found


def _now(sub: Subscription) -> Any:
    return now_for(customer=sub.customer, now=clock.now())


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def pix_mandate_request(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _sub(request, sub_id)
    form = MandateRequestForm(request.POST, currency=sub.plan.currency)
    if not form.is_valid():
        return _again(request, sub, pix_form=form)
    data = form.cleaned_data
    journey = data["journey"] or (
        Journey.PAY_AND_AUTHORISE
        if Invoice.objects.filter(
            tenant=request.tenant, subscription=sub, status="open", amount_due_minor__gt=0
        ).exists()
        else Journey.AUTHORISE_ONLY
    )
    try:
        pixauto.pix_mandate_create(
            tenant=request.tenant,
            subscription_id=sub.pk,
            journey=str(journey),
            periodicity=str(periodicity_for(sub.plan.interval, sub.plan.interval_count) or ""),
            max_amount_minor=data["max_amount"],
            end_date=data["end_date"],
            retry_policy=data["retry_policy"],
            actor=Actor.staff(request.user),
            now=_now(sub),
        )
    except DomainError as exc:
        param = {"max_amount": "max_amount", "end_date": "end_date", "journey": "journey"}
        form.add_error(param.get(exc.param or ""), exc.message)
        return _again(request, sub, pix_form=form)
    messages.success(request, _("Pix Automático requested: show the subscriber its QR code."))
    return redirect("dashboard:subscription", sub_id=sub.public_id)


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def pix_mandate_cancel(request: StaffRequest, sub_id: str) -> HttpResponse:
    sub = _sub(request, sub_id)
    mandate = _mandate_of(request, sub, MandateActionForm(request.POST))
    try:
        pixauto.pix_mandate_cancel(
            tenant=request.tenant,
            mandate_id=mandate.pk,
            actor=Actor.staff(request.user),
            now=_now(sub),
        )
    except DomainError as exc:
        return _again(request, sub, pix_error=exc.message)
    messages.success(request, _("The Pix Automático authorisation is cancelled."))
    return redirect("dashboard:subscription", sub_id=sub.public_id)


SIMULATED = {
    "authorise": gettext_lazy("Simulated: the payer authorised."),
    "reject": gettext_lazy("Simulated: the payer refused."),
    "pay": gettext_lazy("Simulated: the debit went through."),
    "fail": gettext_lazy("Simulated: the debit failed."),
    "payer_cancel": gettext_lazy("Simulated: the payer cancelled at their bank."),
}


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def pix_mandate_simulate(request: StaffRequest, sub_id: str) -> HttpResponse:
    """Test mode: the sandbox PSP acts as the payer would (the service refuses a
    mandate at any other PSP)."""
    sub = _sub(request, sub_id)
    form = MandateActionForm(request.POST)
    mandate = _mandate_of(request, sub, form)
    what = form.cleaned_data["action"]
    instruction_id = None
    if what in ("pay", "fail"):
        instruction = PixInstruction.objects.filter(
            tenant=request.tenant, mandate=mandate, public_id=form.cleaned_data["instruction"]
        ).first()
        if instruction is None:
            return _again(request, sub, pix_error=_("Choose one of this mandate's instructions."))
        instruction_id = instruction.pk
    try:
        pixauto.pix_mandate_simulate(
            tenant=request.tenant,
            mandate_id=mandate.pk,
            what=what,
            instruction_id=instruction_id,
            now=clock.now(),
        )
    except DomainError as exc:
        return _again(request, sub, pix_error=exc.message)
    messages.success(request, str(SIMULATED.get(what, "")))
    return redirect("dashboard:subscription", sub_id=sub.public_id)


# --- the list ------------------------------------------------------------------------


class MandateFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *MandateStatus.choices],
    )


def _filtered(request: StaffRequest, form: MandateFilterForm) -> QuerySet[PixMandate]:
    rows = pixauto.pix_mandate_list(tenant=request.tenant)
    if form.is_valid() and form.cleaned_data["status"]:
        rows = rows.filter(status=form.cleaned_data["status"])
    return rows


@staff_view(Perm.BILLING_VIEW)
def pix_mandates(request: StaffRequest) -> HttpResponse:
    form = MandateFilterForm(request.GET or None)
    after = request.GET.get("after", "")
    page = keyset_page(_filtered(request, form), after=after, size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("after", None)
    if page.next_cursor:
        query["after"] = page.next_cursor
    return render(
        request,
        "dashboard/pix_mandates/list.html",
        {
            "form": form,
            "rows": page.rows,
            "next_query": query.urlencode() if page.next_cursor else "",
            "filtered": any(v for k, v in request.GET.items() if k != "after"),
            "paged": bool(after),
        },
    )
