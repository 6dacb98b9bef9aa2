""" "Continue with Google" pages of the portal (the flow is in ``portal.oidc``)."""

from __future__ import annotations

import logging

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import clock
from portal import oidc, signin
from portal.sessions import portal_sign_in, portal_sign_in_failed
from portal.views import _session_customer, use_language
from tenants.requests import TenantRequest

logger = logging.getLogger(__name__)


def _redirect_uri(request: TenantRequest) -> str:
    return request.build_absolute_uri(
        reverse("portal:google_callback", kwargs={"tenant_slug": request.tenant.slug})
    )


def _refused(request: TenantRequest) -> HttpResponse:
    # One answer for every refusal: it must not tell whether the email has an
    # account here, nor which check failed.
    return render(
        request,
        "portal/link_invalid.html",
        {
            "message": _(
                "We could not sign you in with this Google account. "
                "Sign in with the code we email you instead."
            ),
            "sign_in": True,
            "google_refused": True,
        },
        status=400,
    )


@require_POST
def google_start(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    """A POST from the sign-in page (CSRF-checked), so no other site can start
    a flow in this browser."""
    tenant = request.tenant
    if not oidc.google_configured(tenant):
        raise Http404
    if _session_customer(request) is not None:
        return redirect("portal:home", tenant_slug=tenant.slug)
    try:
        url = oidc.begin(
            tenant=tenant,
            session=request.session,
            redirect_uri=_redirect_uri(request),
            now_ts=clock.now().timestamp(),
        )
    except Exception:  # the provider's discovery is unreachable or wrong
        logger.warning("portal.google.discovery_failed", extra={"tenant_id": tenant.pk})
        use_language(request, None)
        return _refused(request)
    return HttpResponseRedirect(url)


@require_GET
def google_callback(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    use_language(request, None)
    tenant = request.tenant
    if not oidc.google_configured(tenant):
        raise Http404
    try:
        email = oidc.complete(
            tenant=tenant,
            session=request.session,
            redirect_uri=_redirect_uri(request),
            params=request.GET,
            now_ts=clock.now().timestamp(),
        )
    except oidc.OidcRefused as exc:
        logger.info("portal.google.refused", extra={"tenant_id": tenant.pk, "reason": exc.reason})
        portal_sign_in_failed(tenant=tenant, method="google", reason=exc.reason)
        return _refused(request)
    customer = signin.find_customer(tenant=tenant, email=email)
    if customer is None:
        portal_sign_in_failed(tenant=tenant, method="google", email=email, reason="no customer")
        return _refused(request)
    portal_sign_in(request, tenant=tenant, customer=customer, method="google")
    return redirect("portal:home", tenant_slug=tenant.slug)
