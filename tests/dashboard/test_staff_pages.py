"""The merchant dashboard: roles, tenant switching, API keys, settings, audit."""

import pytest
from django.test import Client

from core import clock
from core.actors import Actor
from tenants.context import platform_access, tenant_context
from tenants.models import ApiKey, AuditEntry, Tenant
from tenants.services import membership_add
from tests.conftest import TenantSetup, make_tenant

PASSWORD = "s3cret-Pass!"


def _signed_in(email: str) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"login": email, "password": PASSWORD}).status_code == 302
    )
    return client


def _add_member(setup: TenantSetup, email: str, role: str) -> None:
    from tenants.accounts import staff_user_ensure

    user = staff_user_ensure(email=email, password=PASSWORD)
    with tenant_context(setup.tenant):
        membership_add(
            tenant=setup.tenant, user=user, role=role, actor=Actor.system(), now=clock.now()
        )


def test_pages_need_a_login(db: None, client: Client) -> None:
    for path in ["/", "/dashboard/api-keys/", "/dashboard/settings/", "/dashboard/audit/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_home_page_shows_an_empty_state(acme: TenantSetup) -> None:
    page = _signed_in("owner@acme.example").get("/").content.decode()

    assert 'data-testid="customer-count">0<' in page
    assert "No customers yet." in page


def test_a_user_without_a_tenant_sees_a_clear_page(db: None) -> None:
    from tenants.accounts import staff_user_ensure

    staff_user_ensure(email="lost@example.com", password=PASSWORD)

    response = _signed_in("lost@example.com").get("/")

    assert response.status_code == 403
    assert "No account yet" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "api_keys", "settings", "audit"),
    [
        pytest.param("owner", 200, 200, 200, id="owner"),
        pytest.param("admin", 200, 403, 200, id="admin"),
        pytest.param("finance", 403, 403, 200, id="finance"),
        pytest.param("support", 403, 403, 403, id="support"),
        pytest.param("viewer", 403, 403, 403, id="viewer"),
    ],
)
def test_each_role_reaches_only_its_pages(
    acme: TenantSetup, role: str, api_keys: int, settings: int, audit: int
) -> None:
    _add_member(acme, f"{role}@acme.example", role)
    client = _signed_in(f"{role}@acme.example")

    assert client.get("/").status_code == 200
    assert client.get("/dashboard/api-keys/").status_code == api_keys
    assert client.get("/dashboard/settings/").status_code == settings
    assert client.get("/dashboard/audit/").status_code == audit


def test_a_staff_user_switches_between_their_tenants_only(db: None) -> None:
    acme = make_tenant("acme", "both@example.com")
    globex = make_tenant("globex", "both@example.com")
    initech = make_tenant("initech")
    client = _signed_in("both@example.com")
    assert "<h1>Acme</h1>" in client.get("/").content.decode()

    client.post("/dashboard/switch/", {"tenant_id": globex.tenant.pk})
    assert "<h1>Globex</h1>" in client.get("/").content.decode()

    refused = client.post("/dashboard/switch/", {"tenant_id": initech.tenant.pk}, follow=True)
    assert "You are not a member of that account." in refused.content.decode()
    assert "<h1>Globex</h1>" in refused.content.decode()
    for bad in ["", "abc", "-1", "99999999999999999999"]:
        client.post("/dashboard/switch/", {"tenant_id": bad})
        assert "<h1>Globex</h1>" in client.get("/").content.decode()
    assert acme.tenant.pk != globex.tenant.pk


def test_creating_a_key_shows_it_once_and_records_who_from_where(acme: TenantSetup) -> None:
    client = _signed_in("owner@acme.example")

    created = client.post(
        "/dashboard/api-keys/",
        {"name": "Backend", "kind": "secret", "mode": "live", "read_only": "on"},
        REMOTE_ADDR="203.0.113.9",
    )
    shown = client.get(created["Location"])
    raw = shown.context["issued_raw"]
    again = client.get("/dashboard/api-keys/").content.decode()

    assert created.status_code == 302
    assert raw.startswith("sk_live_")
    assert raw in shown.content.decode()
    assert raw not in again
    assert f"sk_live_…{raw[-4:]}" in again
    with tenant_context(acme.tenant):
        key = ApiKey.objects.get(name="Backend")
        entry = AuditEntry.objects.get(action="api_key.created", target_id=str(key.pk))
    assert (key.read_only, key.mode, key.key_hash) == (True, "live", ApiKey.hash(raw))
    assert (entry.actor_type, entry.actor_label, entry.ip) == (
        "staff",
        "owner@acme.example",
        "203.0.113.9",
    )
    assert len(entry.request_id) == 32


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"name": "", "kind": "secret", "mode": "test"}, id="missing-name"),
        pytest.param({"name": "x", "kind": "root", "mode": "test"}, id="bad-kind"),
        pytest.param({"name": "x", "kind": "secret", "mode": "prod"}, id="bad-mode"),
        pytest.param({"name": "x" * 101, "kind": "secret", "mode": "test"}, id="too-long"),
    ],
)
def test_a_bad_key_form_is_refused_and_creates_nothing(acme: TenantSetup, data: dict) -> None:
    response = _signed_in("owner@acme.example").post("/dashboard/api-keys/", data)

    assert response.status_code == 400
    assert response.context["form"].errors
    with tenant_context(acme.tenant):
        assert ApiKey.objects.count() == 1


def test_revoking_another_tenants_key_changes_nothing(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    client = _signed_in("owner@acme.example")

    response = client.post(f"/dashboard/api-keys/{globex.key.key.pk}/revoke/", follow=True)

    assert "No such API key." in response.content.decode()
    with platform_access():
        assert ApiKey.objects.get(pk=globex.key.key.pk).revoked_at is None
    assert globex.client().get("/api/v1/customers").status_code == 200


def test_revoking_own_key_stops_it_working(acme: TenantSetup) -> None:
    client = _signed_in("owner@acme.example")

    client.post(f"/dashboard/api-keys/{acme.key.key.pk}/revoke/")

    assert acme.client().get("/api/v1/customers").status_code == 401


def test_settings_are_saved_and_audited_with_old_and_new(acme: TenantSetup) -> None:
    client = _signed_in("owner@acme.example")
    form = {
        "name": "Acme Brasil",
        "default_currency": "BRL",
        "time_zone": "America/Recife",
        "locale": "pt-br",
        "primary_color": "#112233",
        "accent_color": "#445566",
        "support_email": "help@acme.example",
        "support_phone": "+55 11 4000-0000",
        "require_mfa": "",
        "proration_precision": "day",
        "rounding_mode": "half_even",
        "net_terms_days": "0",
    }

    assert client.post("/dashboard/settings/", form).status_code == 302

    tenant = Tenant.objects.get(pk=acme.tenant.pk)
    assert (tenant.name, tenant.time_zone, tenant.primary_color) == (
        "Acme Brasil",
        "America/Recife",
        "#112233",
    )
    with tenant_context(acme.tenant):
        entry = AuditEntry.objects.get(action="tenant.settings_changed")
    assert entry.changes["name"] == ["Acme", "Acme Brasil"]
    assert entry.changes["time_zone"] == ["America/Sao_Paulo", "America/Recife"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("default_currency", "XYZ", id="unknown-currency"),
        pytest.param("time_zone", "Mars/Olympus", id="unknown-tz"),
        pytest.param("primary_color", "red", id="bad-colour"),
        pytest.param("support_email", "not-an-email", id="bad-email"),
        pytest.param("name", "", id="missing-name"),
        pytest.param("locale", "fr", id="unsupported-language"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    acme: TenantSetup, field: str, value: str
) -> None:
    form = {
        "name": "Acme",
        "default_currency": "BRL",
        "time_zone": "America/Sao_Paulo",
        "locale": "pt-br",
        "primary_color": "#1f6feb",
        "accent_color": "#0e9f6e",
        field: value,
    }

    response = _signed_in("owner@acme.example").post("/dashboard/settings/", form)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    tenant = Tenant.objects.get(pk=acme.tenant.pk)
    assert (tenant.name, tenant.default_currency, tenant.time_zone) == (
        "Acme",
        "BRL",
        "America/Sao_Paulo",
    )
    with tenant_context(acme.tenant):
        assert not AuditEntry.objects.filter(action="tenant.settings_changed").exists()


def test_the_audit_page_lists_only_this_tenants_entries(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    page = _signed_in("owner@acme.example").get("/dashboard/audit/").content.decode()

    assert "api_key.created" in page
    assert "Acme" in page
    assert "Globex" not in page


def test_the_portal_is_branded_per_tenant_and_unknown_slugs_are_404(
    acme: TenantSetup, client: Client
) -> None:
    assert "Acme" in client.get("/t/acme/").content.decode()
    assert client.get("/t/nope/").status_code == 404
