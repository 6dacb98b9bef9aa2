"""Staff HTML/PDF views for billing documents: thin, tenant-scoped."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.forms import LateChargesForm, StripeAccountForm
from billing.models import GatewayAccount, Invoice
from billing.payments import gateway_account_deactivate, gateway_account_set
from billing.pdf import render_invoice_pdf
from billing.segunda_via import collection_settings, collection_settings_update
from core import clock
from core.actors import Actor
from core.errors import DomainError
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest


@staff_view(Perm.BILLING_VIEW)
def invoice_pdf(request: StaffRequest, invoice_id: int) -> HttpResponse:
    tenant = request.tenant
    invoice = (
        Invoice.objects.filter(tenant=tenant, pk=invoice_id)
        .select_related("tenant", "customer")
        .prefetch_related("lines")
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    pdf = render_invoice_pdf(invoice=invoice)
    filename = invoice.number or invoice.public_id
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.TENANT_MANAGE)
def payment_settings(request: StaffRequest) -> HttpResponse:
    """The gateways the account collects with: the sandbox (always there, for
    test mode) and its own Stripe account, whose keys are stored encrypted and
    never shown again."""
    tenant = request.tenant
    stripe_post = request.method == "POST" and request.POST.get("form") != "late_charges"
    form = StripeAccountForm(request.POST if stripe_post else None)
    if stripe_post and form.is_valid():
        try:
            gateway_account_set(
                tenant=tenant,
                gateway="stripe",
                credentials=form.credentials(),
                mode=form.cleaned_data["mode"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, str(exc))
        else:
            messages.success(request, _("Stripe account saved."))
            return redirect("billing:payment_settings")
    current = collection_settings(tenant=tenant)
    late = LateChargesForm(
        request.POST if request.POST.get("form") == "late_charges" else None,
        initial={
            "fine_percent": current.boleto_fine_percent,
            "monthly_interest_percent": current.boleto_monthly_interest_percent,
            "days_to_pay": current.boleto_days_to_pay,
            "with_pix": current.boleto_with_pix,
            "pix_automatico": current.pix_automatico,
        },
    )
    if late.is_bound and late.is_valid():
        try:
            collection_settings_update(
                tenant=tenant,
                fine_percent=late.cleaned_data["fine_percent"],
                monthly_interest_percent=late.cleaned_data["monthly_interest_percent"],
                days_to_pay=late.cleaned_data["days_to_pay"],
                with_pix=late.cleaned_data["with_pix"],
                pix_automatico=late.cleaned_data["pix_automatico"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            late.add_error(None, str(exc))
        else:
            messages.success(request, _("Late charges saved."))
            return redirect("billing:payment_settings")
    accounts = GatewayAccount.objects.for_tenant(tenant).filter(active=True).order_by("mode")
    return render(
        request,
        "billing/payment_settings.html",
        {
            "form": form,
            "late_form": late,
            "accounts": [
                {
                    "account": account,
                    "publishable": bool(account.credentials.get("publishable_key")),
                    "key_hint": account.credentials.get("api_key", "")[:8] + "…",
                }
                for account in accounts
            ],
            "webhook_url": settings.SITE_URL.rstrip("/")
            + reverse(
                "tenant-gateway-webhook", kwargs={"gateway": "stripe", "tenant_slug": tenant.slug}
            ),
        },
        status=400 if form.errors or late.errors else 200,
    )


@staff_view(Perm.TENANT_MANAGE)
@require_POST
def payment_account_deactivate(request: StaffRequest, mode: str) -> HttpResponse:
    try:
        gateway_account_deactivate(
            tenant=request.tenant,
            gateway="stripe",
            mode=mode,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Stripe account disconnected."))
    return redirect("billing:payment_settings")
