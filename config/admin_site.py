"""Django's admin behind allauth's login and MFA (issue 12, finding 1).

The admin sees every tenant's rows, so a password alone must not open it:
its own login form is replaced by allauth's (lockout and rate limits), and a
staff session reaches it only after a second factor in this session (a TOTP
or recovery code at login, or allauth's MFA reauthentication). Production
leaves it out of the URLs unless ``ADMIN_ENABLED`` is set (config/urls.py).
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


def passed_mfa(request: HttpRequest) -> bool:
    """Did this session's user prove a second factor (not just a password)?"""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


class MfaAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and passed_mfa(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Never a password form of its own: allauth's login, then a second factor."""
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        if not (request.user.is_authenticated and request.user.is_active):
            return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
        if not request.user.is_staff:
            raise PermissionDenied
        has_totp = Authenticator.objects.filter(
            user=request.user, type=Authenticator.Type.TOTP
        ).exists()
        step = "mfa_reauthenticate" if has_totp else "mfa_activate_totp"
        return redirect(f"{reverse(step)}?{urlencode({'next': target})}")
