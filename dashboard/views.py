"""The merchant's dashboard: thin views over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.selectors import customer_list
from reports.views import overview_context
from tenants import services
from tenants.access import staff_view
from tenants.forms import ApiKeyCreateForm, TenantSettingsForm
from tenants.middleware import SESSION_TENANT_KEY
from tenants.models import Tenant
from tenants.permissions import Perm
from tenants.requests import ResolvingRequest, StaffRequest
from tenants.selectors import api_keys_list, audit_entries_list


@staff_view()
def home(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    customers = customer_list(tenant=tenant)
    # The revenue charts need REPORTS_VIEW; without it the Overview keeps its cards.
    overview = overview_context(request) if request.membership.has_perm(Perm.REPORTS_VIEW) else None
    return render(
        request,
        "dashboard/home.html",
        {
            # Counted only for the cards shown instead of the charts (a COUNT over
            # every customer is the slowest query a large account's Overview had).
            "customer_count": (
                customers.count() if overview is None or overview["series"].empty else None
            ),
            "recent_customers": customers[:5],
            "overview": overview,
        },
    )


@login_required
@require_POST
def switch_tenant(request: ResolvingRequest) -> HttpResponse:
    wanted = request.POST.get("tenant_id", "")
    seats = {m.tenant_id: m for m in request.memberships}
    if not wanted.isdigit() or int(wanted) not in seats:
        messages.error(request, _("You are not a member of that account."))
        return redirect("dashboard:home")
    request.session[SESSION_TENANT_KEY] = int(wanted)
    messages.success(request, _("Switched to %(name)s.") % {"name": seats[int(wanted)].tenant})
    return redirect("dashboard:home")


_ISSUED_KEY_SESSION = "ciclo_issued_api_key"


@staff_view(Perm.API_KEYS_MANAGE)
def api_keys(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = services.api_key_create(
            tenant=tenant,
            actor=Actor.staff(request.user),
            now=clock.now(),
            created_by=request.user,
            **form.cleaned_data,
        )
        # Post/Redirect/Get, so a reload never issues a second key. The raw key
        # rides in the session for exactly one page view, then it is gone.
        request.session[_ISSUED_KEY_SESSION] = issued.raw
        return redirect("dashboard:api_keys")
    return render(
        request,
        "dashboard/api_keys.html",
        {
            "form": form,
            "keys": api_keys_list(tenant=tenant),
            "issued_raw": request.session.pop(_ISSUED_KEY_SESSION, None),
        },
        status=400 if form.errors else 200,
    )


@staff_view(Perm.API_KEYS_MANAGE)
@require_POST
def api_key_revoke(request: StaffRequest, key_id: int) -> HttpResponse:
    try:
        key = services.api_key_revoke(
            tenant=request.tenant,
            key_id=key_id,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:api_keys")
    messages.success(request, _("Key %(key)s revoked.") % {"key": key.masked})
    return redirect("dashboard:api_keys")


@staff_view(Perm.TENANT_MANAGE)
def tenant_settings(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    # A copy: a form that fails validation must not alter the request's tenant.
    form = TenantSettingsForm(
        request.POST or None, request.FILES or None, instance=Tenant.objects.get(pk=tenant.pk)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_update_settings(
                tenant=tenant,
                actor=Actor.staff(request.user),
                now=clock.now(),
                **{f: form.cleaned_data[f] for f in form.Meta.fields if f in form.cleaned_data},
                google_client_secret=form.cleaned_data["google_client_secret"],
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("dashboard:settings")
    google_redirect_uri = request.build_absolute_uri(
        reverse("portal:google_callback", kwargs={"tenant_slug": tenant.slug})
    )
    return render(
        request,
        "dashboard/settings.html",
        {"form": form, "google_redirect_uri": google_redirect_uri},
        status=400 if form.errors else 200,
    )


@staff_view(Perm.AUDIT_VIEW)
def audit_log(request: StaffRequest) -> HttpResponse:
    entries = audit_entries_list(tenant=request.tenant)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit.html", {"page": page})
