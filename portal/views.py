from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from portal.links import portal_token_read

SESSION_KEY = "portal_customer"


def home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The subscriber's area of one merchant, in the merchant's branding."""
    return render(request, "portal/home.html")


def enter(request: HttpRequest, tenant_slug: str, token: str) -> HttpResponse:
    """Open a portal session from a signed link (email or API portal session)."""
    payload = portal_token_read(token)
    tenant = request.tenant
    customer = None
    if payload is not None and tenant is not None and payload.get("t") == tenant.id:
        customer = Customer.objects.filter(tenant=tenant, public_id=payload.get("c")).first()
    if customer is None:
        return render(
            request,
            "portal/link_invalid.html",
            {"message": _("This link is invalid or has expired. Ask for a new one.")},
            status=400,
        )
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"tenant": tenant.id, "customer": customer.public_id}
    page = request.GET.get("next", "home")
    try:
        target = reverse(f"portal:{page}", kwargs={"tenant_slug": tenant.slug})
    except NoReverseMatch:
        target = reverse("portal:home", kwargs={"tenant_slug": tenant.slug})
    return HttpResponseRedirect(target)
