"""Sets the current tenant for every request, then clears it.

- API (``/api/``): from the ``Authorization: Bearer`` key;
- portal and checkout (``/t/<slug>/…``): from the slug in the path;
- dashboard: from the staff user's session, among the tenants they belong to;
- Django admin: superusers get explicit platform-wide access.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import ExitStack
from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from core import clock
from core.ratelimit import COUNTED_ATTR, budget_for
from tenants.context import platform_access, tenant_context
from tenants.models import ApiKey, Tenant, User
from tenants.requests import ResolvingRequest
from tenants.selectors import api_key_identify, memberships_of

SESSION_TENANT_KEY = "ciclo_tenant_id"
_PORTAL_PATH = re.compile(r"^/t/(?P<slug>[-a-z0-9]+)/")
_KEY_SHAPE = re.compile(r"^(sk|pk)_(test|live)_[A-Za-z0-9_-]{20,100}$")


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ResolvingRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        request.memberships = []
        request.api_key = None
        request.api_key_error = None
        with ExitStack() as stack:
            if request.path.startswith("/api/"):
                self._from_api_key(request)
            elif match := _PORTAL_PATH.match(request.path):
                tenant = Tenant.objects.filter(slug=match["slug"]).first()
                if tenant is None:
                    raise Http404("No such merchant.")
                request.tenant = tenant
            elif request.path.startswith("/admin/") and request.user.is_superuser:
                stack.enter_context(platform_access())
            elif request.user.is_authenticated:
                self._from_session(request)
            stack.enter_context(tenant_context(request.tenant))
            return self.get_response(request)

    @staticmethod
    def _from_api_key(request: ResolvingRequest) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            return
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not _KEY_SHAPE.match(raw):
            request.api_key_error = "Malformed API key: expected 'Authorization: Bearer sk_test_…'."
            return
        # The key's identity and its rate-limit count: one Redis round trip.
        now = clock.now()
        budget = budget_for(method=request.method or "", subject=ApiKey.hash(raw), now=now)
        key, count = api_key_identify(raw, now=now, budget=budget)
        if budget is not None:
            setattr(request, COUNTED_ATTR, (budget, count))
        if key is None:
            request.api_key_error = "Invalid or revoked API key."
            return
        request.api_key = key
        request.tenant = key.tenant

    @staticmethod
    def _from_session(request: ResolvingRequest) -> None:
        # Called only for a signed-in user, so not the AnonymousUser.
        memberships = memberships_of(cast(User, request.user))
        request.memberships = memberships
        if not memberships:
            return
        wanted = request.session.get(SESSION_TENANT_KEY)
        chosen = next((m for m in memberships if m.tenant_id == wanted), memberships[0])
        if wanted != chosen.tenant_id:
            request.session[SESSION_TENANT_KEY] = chosen.tenant_id
        request.membership = chosen
        request.tenant = chosen.tenant


class RequireMfaMiddleware:
    """A tenant that requires MFA sends staff without it to set it up first."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and tenant.require_mfa
            and getattr(request, "membership", None) is not None
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and not _has_mfa(request.user)
        ):
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return self.get_response(request)


def _has_mfa(user: object) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
