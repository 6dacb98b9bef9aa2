"""Issue 13 item 6: the team page — members, roles, invitations by signed email link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TestCase

from core import clock
from core.actors import Actor
from tenants.context import tenant_context
from tenants.models import AuditEntry, Invitation, Membership
from tenants.permissions import Perm, Role, role_has_permission
from tests.conftest import TenantSetup
from tests.dashboard.test_staff_pages import PASSWORD, _add_member, _signed_in

TEAM = "/dashboard/team/"


def _invite(client: Client, form: dict[str, str]) -> Any:
    # The invitation email leaves on commit: run the commit callbacks here.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(TEAM + "invite/", form)


def _members(setup: TenantSetup) -> dict[str, str]:
    with tenant_context(setup.tenant):
        return dict(
            Membership.objects.filter(tenant=setup.tenant).values_list("user__email", "role")
        )


def _seat(setup: TenantSetup, email: str) -> Membership:
    with tenant_context(setup.tenant):
        return Membership.objects.get(tenant=setup.tenant, user__email=email)


def _link() -> str:
    assert mail.outbox, "no email sent"
    found = re.search(r"https?://\S+/dashboard/team/accept/(\S+)/", mail.outbox[-1].body)
    assert found is not None, mail.outbox[-1].body
    return f"/dashboard/team/accept/{found.group(1)}/"


def _user(email: str) -> Any:
    from tenants.accounts import staff_user_ensure

    return staff_user_ensure(email=email, password=PASSWORD)


def test_the_team_page_lists_members_with_roles(acme: TenantSetup) -> None:
    _add_member(acme, "fin@acme.example", Role.FINANCE)

    page = _signed_in("owner@acme.example").get(TEAM)

    assert page.status_code == 200
    text = page.content.decode()
    assert "owner@acme.example" in text
    assert "fin@acme.example" in text
    assert "No pending invitations" in text


def test_invite_email_accept_makes_a_member(acme: TenantSetup) -> None:
    owner = _signed_in("owner@acme.example")

    response = _invite(owner, {"email": "New@Example.com", "role": "support"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert "Acme" in mail.outbox[0].subject
    link = _link()
    assert "new@example.com" in owner.get(TEAM).content.decode()  # pending

    _user("new@example.com")
    newcomer = _signed_in("new@example.com")
    assert newcomer.get(link).status_code == 200
    accepted = newcomer.post(link)

    assert accepted.status_code == 302
    assert _members(acme)["new@example.com"] == "support"
    assert newcomer.get("/dashboard/team/").status_code == 403  # support: no MEMBERS_MANAGE
    assert newcomer.get("/").status_code == 200
    with tenant_context(acme.tenant):
        actions = set(AuditEntry.objects.values_list("action", flat=True))
        invitation = Invitation.objects.get()
    assert {"membership.invited", "membership.accepted"} <= actions
    assert invitation.accepted_at is not None


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(acme: TenantSetup) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "x@example.com", "role": "viewer"})

    response = Client().get(_link())

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=" in response["Location"]


def test_a_newly_signed_up_user_accepts(acme: TenantSetup) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "fresh@example.com", "role": "finance"})
    link = _link()
    client = Client()
    signup = client.post(
        "/accounts/signup/",
        {
            "email": "fresh@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "company": "Fresh Co",
        },
    )
    assert signup.status_code == 302, signup.content.decode()[:1500]
    # allauth asks to confirm the address first; confirming signs the user in.
    confirm = re.search(r"http://testserver(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert confirm is not None
    client.post(confirm.group(1))

    assert client.post(link).status_code == 302
    assert _members(acme)["fresh@example.com"] == "finance"


def test_a_used_link_is_refused(acme: TenantSetup) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "a@example.com", "role": "viewer"})
    link = _link()
    _user("a@example.com")
    client = _signed_in("a@example.com")
    assert client.post(link).status_code == 302
    # Removed, then trying the old link again: still refused.
    _signed_in("owner@acme.example").post(f"{TEAM}{_seat(acme, 'a@example.com').pk}/remove/")
    assert "a@example.com" not in _members(acme)

    again = client.post(link)

    assert again.status_code == 400
    assert "already been used" in again.content.decode()
    assert "a@example.com" not in _members(acme)


def test_an_expired_link_is_refused(acme: TenantSetup) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "late@example.com", "role": "viewer"})
    link = _link()
    with tenant_context(acme.tenant):
        Invitation.objects.update(expires_at=clock.now() - timedelta(seconds=1))
    _user("late@example.com")

    response = _signed_in("late@example.com").post(link)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert "late@example.com" not in _members(acme)


def test_a_signature_older_than_the_maximum_age_is_refused(
    acme: TenantSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenants import invitations

    _invite(_signed_in("owner@acme.example"), {"email": "old@example.com", "role": "viewer"})
    link = _link()
    monkeypatch.setattr(invitations, "MAX_AGE", timedelta(seconds=-1))
    _user("old@example.com")

    response = _signed_in("old@example.com").post(link)

    assert response.status_code == 400
    assert "old@example.com" not in _members(acme)


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "garbage"],
    ids=["tampered", "garbage"],
)
def test_a_forged_link_is_refused(acme: TenantSetup, mangle: Any) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "f@example.com", "role": "owner"})
    token = _link().split("/")[-2]
    _user("f@example.com")

    response = _signed_in("f@example.com").post(f"/dashboard/team/accept/{mangle(token)}/")

    assert response.status_code == 400
    assert "f@example.com" not in _members(acme)


def test_a_link_for_another_address_is_refused(acme: TenantSetup) -> None:
    _invite(_signed_in("owner@acme.example"), {"email": "b@example.com", "role": "admin"})
    link = _link()
    _user("eve@example.com")

    response = _signed_in("eve@example.com").post(link)

    assert response.status_code == 403
    assert "eve@example.com" not in _members(acme)


def test_a_newer_invitation_replaces_the_older_link(acme: TenantSetup) -> None:
    owner = _signed_in("owner@acme.example")
    _invite(owner, {"email": "c@example.com", "role": "admin"})
    first = _link()
    _invite(owner, {"email": "c@example.com", "role": "viewer"})
    second = _link()
    _user("c@example.com")
    client = _signed_in("c@example.com")

    assert client.post(first).status_code == 400
    assert client.post(second).status_code == 302
    assert _members(acme)["c@example.com"] == "viewer"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"email": "not-an-email", "role": "viewer"}, "email"),
        ({"email": "", "role": "viewer"}, "email"),
        ({"email": "d@example.com", "role": "emperor"}, "role"),
        ({"email": "d@example.com"}, "role"),
        ({"email": "owner@acme.example", "role": "viewer"}, "email"),  # already a member
    ],
)
def test_bad_invitations_show_the_error_and_send_nothing(
    acme: TenantSetup, form: dict[str, str], field: str
) -> None:
    response = _invite(_signed_in("owner@acme.example"), form)

    assert response.status_code == 400
    assert field in response.context["invite_form"].errors
    assert mail.outbox == []
    with tenant_context(acme.tenant):
        assert not Invitation.objects.exists()


def test_change_a_role(acme: TenantSetup) -> None:
    _add_member(acme, "v@acme.example", Role.VIEWER)
    seat = _seat(acme, "v@acme.example")

    response = _signed_in("owner@acme.example").post(f"{TEAM}{seat.pk}/role/", {"role": "finance"})

    assert response.status_code == 302
    assert _members(acme)["v@acme.example"] == "finance"
    with tenant_context(acme.tenant):
        entry = AuditEntry.objects.filter(action="membership.role_set").latest("id")
    assert entry.changes == {"role": ["viewer", "finance"]}


def test_a_bad_role_changes_nothing(acme: TenantSetup) -> None:
    _add_member(acme, "v@acme.example", Role.VIEWER)
    seat = _seat(acme, "v@acme.example")

    _signed_in("owner@acme.example").post(f"{TEAM}{seat.pk}/role/", {"role": "emperor"})

    assert _members(acme)["v@acme.example"] == "viewer"


def test_the_last_owner_cannot_be_demoted_or_removed(acme: TenantSetup) -> None:
    owner = _signed_in("owner@acme.example")
    seat = _seat(acme, "owner@acme.example")

    demoted = owner.post(f"{TEAM}{seat.pk}/role/", {"role": "admin"}, follow=True)
    removed = owner.post(f"{TEAM}{seat.pk}/remove/", follow=True)

    assert "at least one owner" in demoted.content.decode()
    assert "last owner" in removed.content.decode()
    assert _members(acme) == {"owner@acme.example": "owner"}


def test_with_two_owners_one_can_leave(acme: TenantSetup) -> None:
    _add_member(acme, "co@acme.example", Role.OWNER)

    _signed_in("owner@acme.example").post(f"{TEAM}{_seat(acme, 'co@acme.example').pk}/remove/")

    assert _members(acme) == {"owner@acme.example": "owner"}


def test_an_admin_cannot_make_or_remove_owners(acme: TenantSetup) -> None:
    _add_member(acme, "adm@acme.example", Role.ADMIN)
    _add_member(acme, "v@acme.example", Role.VIEWER)
    admin = _signed_in("adm@acme.example")
    owner_seat = _seat(acme, "owner@acme.example")
    viewer_seat = _seat(acme, "v@acme.example")

    admin.post(f"{TEAM}{viewer_seat.pk}/role/", {"role": "owner"})
    admin.post(f"{TEAM}{owner_seat.pk}/role/", {"role": "viewer"})
    admin.post(f"{TEAM}{owner_seat.pk}/remove/")
    invite = _invite(admin, {"email": "boss@example.com", "role": "owner"})

    assert invite.status_code == 400
    assert "role" in invite.context["invite_form"].errors
    assert _members(acme) == {
        "owner@acme.example": "owner",
        "adm@acme.example": "admin",
        "v@acme.example": "viewer",
    }
    # What an admin may do: manage everyone else.
    assert admin.post(f"{TEAM}{viewer_seat.pk}/role/", {"role": "support"}).status_code == 302
    assert _members(acme)["v@acme.example"] == "support"


@pytest.mark.parametrize("role", [Role.FINANCE, Role.SUPPORT, Role.VIEWER])
def test_roles_without_members_manage_get_403(acme: TenantSetup, role: str) -> None:
    assert not role_has_permission(role, Perm.MEMBERS_MANAGE)
    _add_member(acme, "m@acme.example", role)
    _add_member(acme, "v@acme.example", Role.VIEWER)
    seat = _seat(acme, "v@acme.example")
    client = _signed_in("m@acme.example")

    assert client.get(TEAM).status_code == 403
    assert _invite(client, {"email": "z@example.com", "role": "viewer"}).status_code == 403
    assert client.post(f"{TEAM}{seat.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"{TEAM}{seat.pk}/remove/").status_code == 403
    assert _members(acme)["v@acme.example"] == "viewer"
    assert mail.outbox == []


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_managers_see_the_team(acme: TenantSetup, role: str) -> None:
    _add_member(acme, "m@acme.example", role)

    assert _signed_in("m@acme.example").get(TEAM).status_code == 200


def test_another_tenants_membership_ids_are_404(acme: TenantSetup, globex: TenantSetup) -> None:
    _add_member(globex, "g@globex.example", Role.VIEWER)
    theirs = _seat(globex, "g@globex.example")
    their_owner = _seat(globex, "owner@globex.example")
    owner = _signed_in("owner@acme.example")

    for seat in (theirs, their_owner):
        assert owner.post(f"{TEAM}{seat.pk}/role/", {"role": "admin"}).status_code == 404
        assert owner.post(f"{TEAM}{seat.pk}/role/", {"role": "nonsense"}).status_code == 404
        assert owner.post(f"{TEAM}{seat.pk}/remove/").status_code == 404
    assert owner.post(f"{TEAM}999999/remove/").status_code == 404
    assert _members(globex) == {"owner@globex.example": "owner", "g@globex.example": "viewer"}


def test_the_services_refuse_what_the_page_refuses(acme: TenantSetup) -> None:
    from core.errors import PermissionDenied, StateConflict
    from tenants.services import membership_remove, membership_set_role

    _add_member(acme, "adm@acme.example", Role.ADMIN)
    admin = _seat(acme, "adm@acme.example")
    owner = _seat(acme, "owner@acme.example")
    with tenant_context(acme.tenant):
        with pytest.raises(PermissionDenied):
            membership_remove(
                tenant=acme.tenant,
                by=admin,
                membership_id=owner.pk,
                actor=Actor.system(),
                now=clock.now(),
            )
        with pytest.raises(StateConflict):
            membership_set_role(
                tenant=acme.tenant,
                by=owner,
                membership_id=owner.pk,
                role=Role.VIEWER,
                actor=Actor.system(),
                now=clock.now(),
            )
