"""The subscriber's preferences: marketing messages per channel."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.actors import Actor
from core.errors import DomainError
from customers.services import MARKETING_CHANNELS, customer_marketing_channels_set
from portal.views import PortalRequest, subscriber_required


@subscriber_required
@require_http_methods(["GET", "POST"])
def preferences(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    customer = request.customer
    if request.method == "POST":
        wanted = request.POST.getlist("marketing")
        if any(c not in MARKETING_CHANNELS for c in wanted):
            messages.error(request, _("Choose among the channels listed."))
        else:
            try:
                customer_marketing_channels_set(
                    tenant=request.tenant,
                    customer_id=customer.pk,
                    channels_on=set(wanted),
                    actor=Actor.subscriber(customer),
                    now=request.now,
                )
            except DomainError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Your preferences are saved."))
        return redirect("portal:preferences", tenant_slug=request.tenant.slug)
    labels = {"email": _("Offers and news by email"), "sms": _("Offers and news by SMS")}
    channels = [
        {"value": c, "label": labels[c], "on": not customer.marketing_off(c)}
        for c in MARKETING_CHANNELS
    ]
    return render(request, "portal/preferences.html", {"customer": customer, "channels": channels})
