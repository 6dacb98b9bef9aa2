"""Start a subscription from the dashboard: pick the customer, then the plan and
its options, look at the exact first invoice, confirm.

The preview is ``billing.subscriptions.subscription_preview_create`` (the create
service itself, rolled back) and confirming is ``subscription_create``, the
service the API uses, at the customer's time (their test clock's, if any).
A confirmation is sent once: the form carries a one-time token, so a double
click or a resubmitted page never starts (and charges) a second subscription.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import subscriptions as billing_subs
from billing.selectors import now_for
from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.models import Customer, PaymentMethod
from customers.selectors import payment_method_list
from dashboard import selectors
from dashboard.templatetags.subscription_tags import sub_money
from subscriptions.selectors import plan_list
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

MAX_QUANTITY = 1_000_000  # the API's bound
TOKEN_TTL = 24 * 3600


class _PlanChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code}) · {sub_money(obj.amount_minor, obj.currency)}"


class _MethodChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        if obj.kind == PaymentMethod.Kind.CARD:
            label = f"{obj.brand or _('Card')} •••• {obj.last4}".strip()
        else:
            label = str(obj.get_kind_display())
        return f"{label} ({_('default')})" if obj.is_default else label


class NewSubscriptionForm(forms.Form):
    """Types and tenant scope only; ``subscription_create`` checks the rules
    (flat plans sold one at a time, the plan's installments, the coupon's terms)."""

    customer = forms.CharField(widget=forms.HiddenInput, max_length=40)
    plan = _PlanChoice(label=gettext_lazy("Plan"), queryset=None, to_field_name="public_id")
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1
    )
    coupon = forms.CharField(label=gettext_lazy("Coupon code"), required=False, max_length=64)
    collection_method = forms.ChoiceField(
        label=gettext_lazy("Collection"),
        choices=[
            # The subscriptions list's words (already translated).
            ("charge_automatically", gettext_lazy("Charge automatically")),
            ("send_invoice", gettext_lazy("Send invoice")),
        ],
        initial="charge_automatically",
    )
    payment_method = _MethodChoice(
        label=gettext_lazy("Payment method"),
        queryset=None,
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("The customer's default"),
        help_text=gettext_lazy("A card is charged; a boleto or Pix is issued to be paid."),
    )
    trial_days = forms.IntegerField(
        label=gettext_lazy("Trial days"),
        required=False,
        min_value=0,
        max_value=730,
        help_text=gettext_lazy("Leave empty for the plan's trial; 0 for none."),
    )
    installments = forms.IntegerField(
        label=gettext_lazy("Installments"),
        required=False,
        min_value=2,
        max_value=24,
        help_text=gettext_lazy("Pay the first invoice in parts (plans that allow it)."),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, tenant: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan_field = self.fields["plan"]
        assert isinstance(plan_field, forms.ModelChoiceField)
        plan_field.queryset = (
            plan_list(tenant=tenant)
            .filter(active=True, superseded_by__isnull=True)
            .order_by("name", "code")
        )
        method_field = self.fields["payment_method"]
        assert isinstance(method_field, forms.ModelChoiceField)
        method_field.queryset = payment_method_list(tenant=tenant, customer=customer)
        self.subscriber = customer

    def clean_customer(self) -> str:
        value = str(self.cleaned_data["customer"])
        if value != self.subscriber.public_id:
            raise forms.ValidationError(_("No such customer."))
        return value

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``subscription_create`` (besides customer, plan)."""
        data = self.cleaned_data
        options: dict[str, Any] = {
            "quantity": data["quantity"],
            "collection_method": data["collection_method"],
        }
        if data.get("coupon"):
            options["coupon"] = data["coupon"].strip()
        if data.get("payment_method") is not None:
            options["payment_method"] = data["payment_method"]
        if data.get("trial_days") is not None:
            options["trial_days"] = data["trial_days"]
        if data.get("installments") is not None:
            options["installments"] = data["installments"]
        return options


# The services' names of a field that the form calls otherwise.
_PARAMS = {"count": "installments", "code": "coupon"}


def _field(form: forms.Form, param: str | None) -> str | None:
    param = _PARAMS.get(param or "", param)
    return param if param in form.fields else None


def _picker(request: StaffRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    q = request.GET.get("q", "")[:200].replace("\x00", "")
    found = selectors.global_search(tenant=request.tenant, q=q).customers if q.strip() else []
    return render(
        request,
        "dashboard/subscriptions/new_pick.html",
        {"q": q, "found": found, "error": error},
        status=status,
    )


def _token_key(request: StaffRequest, token: str) -> str:
    return f"dashboard:subscription_new:{request.tenant.pk}:{token}"


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
def subscription_new(request: StaffRequest) -> HttpResponse:
    """GET without ``customer``: find the customer. GET with it: the form.
    POST without ``confirm``: the form with the exact first invoice. POST with
    ``confirm``: the subscription (previewed again first: an error in between is
    shown, not applied)."""
    public_id = (request.POST if request.method == "POST" else request.GET).get("customer", "")
    public_id = str(public_id)[:40]
    if not public_id:
        return _picker(request)
    customer = selectors.customer_get(
        tenant=request.tenant, public_id=public_id.replace("\x00", "")
    )
    if customer is None:
        # Another tenant's customer, a deleted one or garbage: the same answer.
        return _picker(request, error=_("No such customer."), status=404)
    htmx = request.headers.get("HX-Request") == "true"
    if request.method != "POST":
        form = NewSubscriptionForm(
            tenant=request.tenant,
            customer=customer,
            initial={"customer": customer.public_id, "token": secrets.token_urlsafe(24)},
        )
        return _page(request, form, customer, None, htmx=False)
    form = NewSubscriptionForm(request.POST, tenant=request.tenant, customer=customer)
    preview = None
    if form.is_valid():
        now = now_for(customer=customer, now=clock.now())
        plan = form.cleaned_data["plan"]
        try:
            preview = billing_subs.subscription_preview_create(
                tenant=request.tenant, customer=customer, plan=plan, now=now, **form.options()
            )
        except DomainError as exc:
            form.add_error(_field(form, exc.param), exc.message)
        if preview is not None and request.POST.get("confirm") and not htmx:
            return _confirm(request, form, customer, preview)
    return _page(request, form, customer, preview, htmx=htmx)


def _confirm(
    request: StaffRequest, form: NewSubscriptionForm, customer: Customer, preview: Any
) -> HttpResponse:
    key = _token_key(request, form.cleaned_data["token"])
    if not cache.add(key, "", TOKEN_TTL):
        # Sent twice (a double click, a reload): the first one did it, or is doing it.
        started = cache.get(key)
        messages.info(request, _("This subscription was already started."))
        if started:
            return redirect("dashboard:subscription", sub_id=started)
        return redirect("dashboard:customer_detail", public_id=customer.public_id)
    try:
        sub = billing_subs.subscription_create(
            tenant=request.tenant,
            customer=customer,
            plan=form.cleaned_data["plan"],
            actor=Actor.staff(request.user),
            now=now_for(customer=customer, now=clock.now()),
            **form.options(),
        )
    except DomainError as exc:
        cache.delete(key)  # nothing was saved: the same form may be sent again
        form.add_error(_field(form, exc.param), exc.message)
        return _page(request, form, customer, None, htmx=False)
    except Exception:
        cache.delete(key)
        raise
    cache.set(key, sub.public_id, TOKEN_TTL)
    messages.success(request, _("The subscription is started."))
    return redirect("dashboard:subscription", sub_id=sub.public_id)


def _page(
    request: StaffRequest,
    form: NewSubscriptionForm,
    customer: Customer,
    preview: Any,
    *,
    htmx: bool,
) -> HttpResponse:
    template = (
        "dashboard/subscriptions/_new_preview.html" if htmx else "dashboard/subscriptions/new.html"
    )
    return render(
        request,
        template,
        {"form": form, "customer": customer, "preview": preview, "htmx": htmx},
        # htmx swaps only 2xx answers: the preview's errors come back as a 200 fragment.
        status=400 if form.errors and not htmx else 200,
    )
