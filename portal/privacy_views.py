"""The subscriber's privacy page: download everything held about them, or have it erased."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.actors import Actor
from portal import privacy
from portal.sessions import portal_sign_out
from portal.views import PortalRequest, subscriber_required


@subscriber_required
@require_GET
def privacy_page(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    return render(request, "portal/privacy.html", {"customer": request.customer})


@subscriber_required
@require_POST
def privacy_export(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    customer = request.customer
    content = privacy.export_zip(
        tenant=request.tenant,
        customer=customer,
        actor=Actor.subscriber(customer),
        at=request.now,
    )
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="{request.tenant.slug}-{customer.public_id}-data.zip"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@subscriber_required
@require_POST
def privacy_erase(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """Erase my data, once the subscriber ticked that they understand it cancels
    their subscriptions and cannot be undone (a stray click does nothing)."""
    customer = request.customer
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "portal/privacy.html",
            {
                "customer": customer,
                "confirm_error": _("Tick the box to confirm."),
            },
            status=400,
        )
    privacy.erase_customer(
        tenant=request.tenant,
        customer=customer,
        actor=Actor.subscriber(customer),
        now=request.now,
    )
    portal_sign_out(request)
    return render(request, "portal/privacy_erased.html")
