"""The customers pages and the global search: thin views over services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.discounts import live_discount
from billing.services import customer_balance_adjust
from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.domain.address import address_lines
from customers.models import Customer
from customers.portal_links import portal_url
from customers.services import customer_create, customer_note_add, customer_update
from dashboard import selectors
from dashboard.forms import BalanceAdjustForm, CustomerFilterForm, CustomerForm, CustomerNoteForm
from dashboard.keyset import keyset_page
from dashboard.services import portal_link_email
from dashboard.templatetags.money import money
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


def _customer_or_404(request: StaffRequest, public_id: str) -> Customer:
    customer = selectors.customer_get(tenant=request.tenant, public_id=public_id)
    if customer is None:
        raise Http404(_("No such customer."))
    return customer


def _form_error(form: Any, exc: DomainError) -> None:
    # The address rules name their key as "address.postal_code": the form's field
    # is "address_postal_code".
    param = (exc.param or "").replace(".", "_")
    form.add_error(param if param in form.fields else None, exc.message)


@staff_view(Perm.CUSTOMERS_VIEW)
def search(request: StaffRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200]
    results = selectors.global_search(tenant=request.tenant, q=q)
    return render(request, "dashboard/search.html", {"search_query": q, "q": q, "results": results})


@staff_view(Perm.CUSTOMERS_VIEW)
def customers(request: StaffRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.CustomerFilters(
        q=data.get("q", ""),
        subscription=data.get("subscription", ""),
        delinquent=data.get("delinquent") == "1",
        mode=data.get("mode", ""),
    )
    rows = selectors.customers_filtered(tenant=request.tenant, filters=filters)
    page = keyset_page(rows, after=request.GET.get("after"), size=selectors.PAGE_SIZE)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "page": page,
        "filtered": any([filters.q, filters.subscription, filters.delinquent, filters.mode]),
        "query": query.urlencode(),
        "paged": bool(request.GET.get("after")),
        "can_manage": request.membership.has_perm(Perm.CUSTOMERS_MANAGE),
    }
    # django-htmx's middleware marks the live search's requests: they get the table only.
    partial = bool(getattr(request, "htmx", False))
    template = "dashboard/customers/_table.html" if partial else "dashboard/customers/list.html"
    return render(request, template, context)


@staff_view(Perm.CUSTOMERS_MANAGE)
def customer_new(request: StaffRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                tenant=request.tenant,
                actor=Actor.staff(request.user),
                now=clock.now(),
                **form.service_values(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("dashboard:customer_detail", public_id=customer.public_id)
    return render(
        request,
        "dashboard/customers/form.html",
        {"form": form, "customer": None},
        status=400 if form.errors else 200,
    )


@staff_view(Perm.CUSTOMERS_MANAGE)
def customer_edit(request: StaffRequest, public_id: str) -> HttpResponse:
    customer = _customer_or_404(request, public_id)
    form = CustomerForm(request.POST or None, initial=CustomerForm.initial_for(customer))
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(
                tenant=request.tenant,
                customer_id=customer.pk,
                changes=form.service_values(),
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("dashboard:customer_detail", public_id=customer.public_id)
    return render(
        request,
        "dashboard/customers/form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


def _detail(
    request: StaffRequest,
    customer: Customer,
    *,
    balance_form: BalanceAdjustForm | None = None,
    note_form: CustomerNoteForm | None = None,
    link: str = "",
    status: int = 200,
) -> HttpResponse:
    tenant = request.tenant
    context = {
        "customer": customer,
        "timeline": selectors.customer_timeline(tenant=tenant, customer=customer),
        "balance_form": balance_form or BalanceAdjustForm(currency=request.tenant.default_currency),
        "currency": tenant.default_currency,
        "note_form": note_form or CustomerNoteForm(),
        "address_lines": address_lines(customer.address or {}),
        "portal_link": link,
        "can_manage": request.membership.has_perm(Perm.CUSTOMERS_MANAGE),
        "discount": live_discount(tenant_id=tenant.pk, customer_id=customer.pk),
        "can_subscribe": request.membership.has_perm(Perm.SUBSCRIPTIONS_MANAGE),
        **selectors.customer_summary(tenant=tenant, customer=customer),
    }
    return render(request, "dashboard/customers/detail.html", context, status=status)


@staff_view(Perm.CUSTOMERS_VIEW)
def customer_detail(request: StaffRequest, public_id: str) -> HttpResponse:
    return _detail(request, _customer_or_404(request, public_id))


@staff_view(Perm.CUSTOMERS_MANAGE)
@require_POST
def customer_balance(request: StaffRequest, public_id: str) -> HttpResponse:
    customer = _customer_or_404(request, public_id)
    currency = request.tenant.default_currency
    form = BalanceAdjustForm(request.POST, currency=currency)
    if form.is_valid():
        try:
            balance = customer_balance_adjust(
                tenant=request.tenant,
                customer_id=customer.pk,
                amount_minor=form.cleaned_data["amount"],
                currency=currency,
                reason=form.cleaned_data["reason"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("Balance adjusted: now %(balance)s.") % {"balance": money(balance, currency)},
            )
            return redirect("dashboard:customer_detail", public_id=customer.public_id)
    return _detail(request, customer, balance_form=form, status=400)


@staff_view(Perm.CUSTOMERS_MANAGE)
@require_POST
def customer_portal_link(request: StaffRequest, public_id: str) -> HttpResponse:
    """Show a fresh portal link to copy (it is a credential: never on a GET page)."""
    customer = _customer_or_404(request, public_id)
    return _detail(request, customer, link=portal_url(customer))


@staff_view(Perm.CUSTOMERS_MANAGE)
@require_POST
def customer_portal_link_send(request: StaffRequest, public_id: str) -> HttpResponse:
    customer = _customer_or_404(request, public_id)
    try:
        sent_to = portal_link_email(
            tenant=request.tenant,
            customer=customer,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Portal link sent to %(email)s.") % {"email": sent_to})
    return redirect("dashboard:customer_detail", public_id=customer.public_id)


@staff_view(Perm.CUSTOMERS_MANAGE)
@require_POST
def customer_note(request: StaffRequest, public_id: str) -> HttpResponse:
    """Add a note; from htmx the notes card comes back alone, otherwise the page."""
    customer = _customer_or_404(request, public_id)
    form = CustomerNoteForm(request.POST)
    if form.is_valid():
        try:
            customer_note_add(
                tenant=request.tenant,
                customer_id=customer.pk,
                text=form.cleaned_data["text"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if getattr(request, "htmx", False):
                return _notes_card(request, customer, CustomerNoteForm())
            messages.success(request, _("Note added."))
            return redirect("dashboard:customer_detail", public_id=customer.public_id)
    if getattr(request, "htmx", False):
        # htmx swaps 2xx responses only: the card comes back with its errors
        # next to the field (nothing was saved).
        return _notes_card(request, customer, form)
    return _detail(request, customer, note_form=form, status=400)


def _notes_card(request: StaffRequest, customer: Customer, form: CustomerNoteForm) -> HttpResponse:
    context = {
        "customer": customer,
        "note_form": form,
        "notes": selectors.customer_notes(tenant=request.tenant, customer=customer),
        "can_manage": True,
    }
    return render(request, "dashboard/customers/_notes.html", context)
