"""Who may open a staff page: signed in, seated in the current tenant, and
holding the permission the page needs."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _

from tenants.requests import ResolvingRequest

View = Callable[..., HttpResponse]

# Set on every staff view: the permission it needs (None: any seated member). Tests
# discover the dashboard's routes by it (tests/dashboard/test_routes.py).
STAFF_VIEW_PERM = "staff_view_perm"


def staff_view(perm: str | None = None) -> Callable[[View], View]:
    """Logged in, seated in a tenant, and (optionally) holding ``perm``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: ResolvingRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = request.membership
            if membership is None:
                return render(request, "dashboard/no_tenant.html", status=403)
            if perm is not None and not membership.has_perm(perm):
                return HttpResponseForbidden(_("Your role does not allow this."))
            return view(request, *args, **kwargs)

        wrapper.__dict__[STAFF_VIEW_PERM] = perm
        return login_required(wrapper)

    return decorate
