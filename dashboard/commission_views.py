"""Sellers' commissions on the dashboard: the rule on the seller's page, the
statement per period (with its CSV), and attributing a subscription to a seller.

Setting a rule needs CATALOG_MANAGE (like the seller's caps), reading a
statement REPORTS_VIEW (it is a revenue figure), attributing a sale
SUBSCRIPTIONS_MANAGE."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import commissions
from billing.models import Seller
from core import clock
from core.actors import Actor
from core.errors import DomainError
from core.localtime import local_date
from dashboard.commission_forms import SellerCommissionForm, StatementPeriodForm
from subscriptions.models import Subscription
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


def _seller(request: StaffRequest, seller_id: str) -> Seller:
    seller = Seller.objects.filter(tenant=request.tenant, public_id=seller_id).first()
    if seller is None:
        raise Http404
    return seller


def commission_form_for(request: StaffRequest, seller: Seller) -> SellerCommissionForm:
    """The rule form, filled with the seller's current rule (for the seller's page)."""
    from dashboard.amounts import minor_to_text

    rule = commissions.seller_rule(tenant=request.tenant, seller=seller)
    currency = request.tenant.default_currency
    return SellerCommissionForm(
        currency=currency,
        initial={
            "kind": rule.kind,
            "percent": rule.percent,
            "months": rule.months,
            "amount": ""
            if rule.amount_minor is None
            else minor_to_text(rule.amount_minor, currency),
        },
    )


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def seller_commission(request: StaffRequest, seller_id: str) -> HttpResponse:
    seller = _seller(request, seller_id)
    form = SellerCommissionForm(request.POST, currency=request.tenant.default_currency)
    if form.is_valid():
        commissions.seller_commission_set(
            tenant=request.tenant,
            seller_id=seller.pk,
            rule=form.cleaned_data["rule"],
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
        messages.success(
            request, _("Commission saved. Sales from now on follow it; earlier ones keep theirs.")
        )
        return redirect("dashboard:seller_edit", seller_id=seller.public_id)
    from dashboard.catalog_views import seller_page_with

    return seller_page_with(request, seller, commission_form=form)


def _default_period(request: StaffRequest) -> tuple[date, date]:
    today = local_date(clock.now(), request.tenant.time_zone)
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


@staff_view(Perm.REPORTS_VIEW)
def seller_statement(request: StaffRequest, seller_id: str) -> HttpResponse:
    seller = _seller(request, seller_id)
    start, end = _default_period(request)
    form = StatementPeriodForm(
        request.GET if "start" in request.GET else None, initial={"start": start, "end": end}
    )
    statement = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if not form.is_bound or form.is_valid():
        statement = commissions.commission_statement(
            tenant=request.tenant, seller_id=seller.pk, start=start, end=end
        )
    if statement is not None and request.GET.get("format") == "csv":
        return _statement_csv(statement)
    return render(
        request,
        "dashboard/catalog/seller_statement.html",
        {
            "seller": seller,
            "form": form,
            "statement": statement,
            "rule": commissions.seller_rule(tenant=request.tenant, seller=seller),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _statement_csv(statement: commissions.Statement) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "date",
            "kind",
            "invoice",
            "subscription",
            "customer",
            "base_minor",
            "amount_minor",
            "currency",
        ]
    )
    for line in statement.lines:
        c = line.commission
        writer.writerow(
            [
                line.local_date.isoformat(),
                c.kind,
                c.invoice.number or c.invoice.public_id,
                c.sale.subscription.public_id,
                c.invoice.customer.name,
                c.base_minor,
                c.amount_minor,
                c.currency,
            ]
        )
    for currency, totals in sorted(statement.totals.items()):
        writer.writerow(["total", "net", "", "", "", "", totals.net_minor, currency])
    response = HttpResponse(out.getvalue().encode(), content_type="text/csv; charset=utf-8")
    name = f"commissions-{statement.seller.public_id}-{statement.start}-{statement.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_view(Perm.SUBSCRIPTIONS_MANAGE)
@require_POST
def subscription_seller(request: StaffRequest, sub_id: str) -> HttpResponse:
    subscription = Subscription.objects.filter(tenant=request.tenant, public_id=sub_id).first()
    if subscription is None:
        raise Http404
    seller = Seller.objects.filter(
        tenant=request.tenant, public_id=request.POST.get("seller", "")
    ).first()
    if seller is None:
        messages.error(request, _("Choose one of your sellers."))
    else:
        try:
            commissions.sale_attribute(
                tenant=request.tenant,
                subscription_id=subscription.pk,
                seller_id=seller.pk,
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Sale attributed to %(name)s.") % {"name": seller.name})
    return redirect("dashboard:subscription", sub_id=subscription.public_id)
