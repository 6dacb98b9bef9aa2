"""Team (issue 13 item 6): members and roles, invitations by signed email link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import clock
from core.actors import Actor
from core.errors import DomainError, NotFound
from tenants import services
from tenants.access import staff_view
from tenants.forms import InvitationForm, RoleForm
from tenants.middleware import SESSION_TENANT_KEY
from tenants.models import Invitation, Membership
from tenants.permissions import Perm, Role
from tenants.requests import ResolvingRequest, StaffRequest


def _page(request: StaffRequest, invite_form: InvitationForm, status: int = 200) -> HttpResponse:
    tenant = request.tenant
    members = Membership.objects.filter(tenant=tenant).select_related("user").order_by("created_at")
    pending = Invitation.objects.filter(
        tenant=tenant, accepted_at=None, revoked_at=None, expires_at__gt=clock.now()
    ).order_by("-created_at")
    return render(
        request,
        "dashboard/team.html",
        {
            "members": members,
            "pending": pending,
            "invite_form": invite_form,
            "roles": Role.choices,
            "can_manage_owners": request.membership.role == Role.OWNER,
        },
        status=status,
    )


@staff_view(Perm.MEMBERS_MANAGE)
def team(request: StaffRequest) -> HttpResponse:
    return _page(request, InvitationForm())


@staff_view(Perm.MEMBERS_MANAGE)
@require_POST
def team_invite(request: StaffRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.membership_invite(
                tenant=request.tenant,
                by=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("dashboard:team")
    return _page(request, form, status=400)


@staff_view(Perm.MEMBERS_MANAGE)
@require_POST
def team_member_role(request: StaffRequest, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        if not Membership.objects.filter(tenant=request.tenant, pk=membership_id).exists():
            raise Http404
        messages.error(request, _("Choose one of the roles."))
        return redirect("dashboard:team")
    try:
        services.membership_set_role(
            tenant=request.tenant,
            by=request.membership,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Role changed."))
    return redirect("dashboard:team")


@staff_view(Perm.MEMBERS_MANAGE)
@require_POST
def team_member_remove(request: StaffRequest, membership_id: int) -> HttpResponse:
    try:
        services.membership_remove(
            tenant=request.tenant,
            by=request.membership,
            membership_id=membership_id,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Member removed."))
    return redirect("dashboard:team")


@login_required
def team_accept(request: ResolvingRequest, token: str) -> HttpResponse:
    """The emailed link: GET shows what accepting means, POST accepts.

    Not a staff view: the invited person has no seat in the tenant yet. A
    visitor who is not signed in is sent to sign in (or sign up) and back here.
    """
    if request.method != "POST":
        return render(request, "dashboard/team_accept.html", {"token": token})
    try:
        membership = services.membership_accept(
            token=token,
            user=request.user,  # type: ignore[arg-type]  # login_required: a User
            now=clock.now(),
        )
    except DomainError as exc:
        return render(
            request,
            "dashboard/team_accept.html",
            {"token": token, "error": exc.message},
            status=exc.status,
        )
    request.session[SESSION_TENANT_KEY] = membership.tenant_id
    messages.success(request, _("Welcome to %(name)s.") % {"name": membership.tenant.name})
    return redirect("dashboard:home")
