"""The merchant's portal sign-in settings, on the dashboard settings page and
through ``/api/v1/account``: password sign-in on/off, the Google client id and
its secret (stored encrypted, never shown back)."""

from __future__ import annotations

from typing import Any

import pytest

from core.secrets import decrypt_json
from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tenants.services import google_client_secret
from tests.api.helpers import error, read_only_client
from tests.conftest import TenantSetup
from tests.dashboard.helpers import signed_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/account"
SECRET = "GOCSPX-very-secret-value"  # a test value


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Acme",
        "default_currency": "BRL",
        "time_zone": "America/Sao_Paulo",
        "locale": "en",
        "proration_precision": "day",
        "rounding_mode": "half_even",
        "invoice_prefix": "",
        "net_terms_days": "0",
        "primary_color": "#1f6feb",
        "accent_color": "#0e9f6e",
        "support_email": "",
        "support_phone": "",
        **changes,
    }


def _tenant(setup: TenantSetup) -> Tenant:
    return Tenant.objects.get(pk=setup.tenant.pk)


def test_the_api_turns_password_and_google_on_and_never_returns_the_secret(
    acme: TenantSetup,
) -> None:
    body = acme.client().get(URL).json()
    assert body["portal_password_signin"] is False
    assert body["google_client_id"] == ""
    assert body["has_google_client_secret"] is False
    assert "google_client_secret" not in body
    response = acme.client().patch(
        URL,
        {
            "portal_password_signin": True,
            "google_client_id": "123.apps.googleusercontent.com",
            "google_client_secret": SECRET,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["portal_password_signin"] is True
    assert body["google_client_id"] == "123.apps.googleusercontent.com"
    assert body["has_google_client_secret"] is True
    assert SECRET not in response.content.decode()
    tenant = _tenant(acme)
    assert SECRET not in tenant.google_client_secret_encrypted  # encrypted at rest
    assert decrypt_json(tenant.google_client_secret_encrypted) == {"client_secret": SECRET}
    assert google_client_secret(tenant) == SECRET
    with tenant_context(acme.tenant):
        [entry] = AuditEntry.objects.filter(action="tenant.settings_changed")
    assert entry.changes["google_client_secret"] == "set"
    assert SECRET not in str(entry.changes)
    # A change of anything else keeps the secret; clearing the id removes both.
    acme.client().patch(URL, {"name": "Acme Brasil"}, format="json")
    assert google_client_secret(_tenant(acme)) == SECRET
    body = acme.client().patch(URL, {"google_client_id": ""}, format="json").json()
    assert body["has_google_client_secret"] is False
    assert _tenant(acme).google_client_secret_encrypted == ""


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"portal_password_signin": "yes"}, "portal_password_signin"),
        ({"portal_password_signin": None}, "portal_password_signin"),
        ({"google_client_id": 123}, "google_client_id"),
        ({"google_client_id": "a\x00b"}, "google_client_id"),
        ({"google_client_id": "x" * 201}, "google_client_id"),
        ({"google_client_secret": ["s"]}, "google_client_secret"),
        ({"google_client_secret": "s" * 501}, "google_client_secret"),
        ({"google_client_secret": SECRET}, "google_client_id"),  # a secret without an id
        ({"has_google_client_secret": True}, "has_google_client_secret"),
        ({"google_client_secret_encrypted": "x"}, "google_client_secret_encrypted"),
    ],
)
def test_the_api_refuses_bad_values_and_changes_nothing(
    acme: TenantSetup, body: dict[str, Any], param: str
) -> None:
    response = acme.client().patch(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["param"] == param
    tenant = _tenant(acme)
    assert (
        tenant.portal_password_signin,
        tenant.google_client_id,
        tenant.google_client_secret_encrypted,
    ) == (False, "", "")


def test_a_read_only_key_cannot_change_them(acme: TenantSetup) -> None:
    response = read_only_client(acme).patch(URL, {"portal_password_signin": True}, format="json")
    assert response.status_code == 403
    assert _tenant(acme).portal_password_signin is False


def test_the_dashboard_saves_them_and_never_shows_the_secret(acme: TenantSetup) -> None:
    owner = signed_in("owner@acme.example")
    page = owner.get("/dashboard/settings/").content.decode()
    for name in ("portal_password_signin", "google_client_id", "google_client_secret"):
        assert f'name="{name}"' in page, name
    assert "/t/acme/sign-in/google/callback/" in page  # the redirect URI to register
    response = owner.post(
        "/dashboard/settings/",
        _form(
            portal_password_signin="on",
            google_client_id=" 123.apps.googleusercontent.com ",
            google_client_secret=SECRET,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = _tenant(acme)
    assert tenant.portal_password_signin is True
    assert tenant.google_client_id == "123.apps.googleusercontent.com"
    assert google_client_secret(tenant) == SECRET
    page = owner.get("/dashboard/settings/").content.decode()
    assert SECRET not in page
    assert 'data-testid="google-secret-stored"' in page
    # Saving again with the secret field empty keeps it.
    owner.post(
        "/dashboard/settings/",
        _form(portal_password_signin="on", google_client_id="123.apps.googleusercontent.com"),
    )
    assert google_client_secret(_tenant(acme)) == SECRET


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"google_client_id": "a\x00b"}, "google_client_id"),
        ({"google_client_id": "x" * 201}, "google_client_id"),
        ({"google_client_secret": "s\x00"}, "google_client_secret"),
        ({"google_client_secret": "s" * 501}, "google_client_secret"),
        ({"google_client_secret": SECRET}, "google_client_id"),
    ],
)
def test_the_dashboard_shows_bad_values_next_to_the_field(
    acme: TenantSetup, changes: dict[str, str], field: str
) -> None:
    owner = signed_in("owner@acme.example")
    response = owner.post("/dashboard/settings/", _form(**changes))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    tenant = _tenant(acme)
    assert (tenant.google_client_id, tenant.google_client_secret_encrypted) == ("", "")
    with tenant_context(acme.tenant):
        assert not AuditEntry.objects.filter(action="tenant.settings_changed").exists()


def test_a_viewer_cannot_change_them(acme: TenantSetup) -> None:
    from tests.dashboard.helpers import add_member

    add_member(acme.tenant, "viewer@acme.example", "viewer")
    response = signed_in("viewer@acme.example").post(
        "/dashboard/settings/", _form(portal_password_signin="on")
    )
    assert response.status_code in (403, 404)
    assert _tenant(acme).portal_password_signin is False
