"""``/api/v1/account``: the account's settings, read and changed with the API key."""

from __future__ import annotations

from typing import Any

import pytest

from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tests.api.helpers import error, read_only_client
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

URL = "/api/v1/account"
DEFAULTS = {
    "name": "Acme",
    "default_currency": "BRL",
    "time_zone": "America/Sao_Paulo",
    "locale": "pt-br",
    "proration_precision": "day",
    "rounding_mode": "half_even",
    "interval_change_anchor": "reset",  # issue 16
    "pause_unused": "credit",
    "proration_change_day": "new",  # issue 16, conventions
    "proration_day_count": "calendar",
    "quantity_change_lines": "split",
    "trial_invoice": "none",  # issue 16, trial invoices
    "invoice_prefix": "",
    "net_terms_days": 0,
    "primary_color": "#1f6feb",
    "accent_color": "#0e9f6e",
    "support_email": "",
    "support_phone": "",
    "require_mfa": False,
    "embed_domains": [],  # issue 14
}


def _settings(setup: TenantSetup) -> dict[str, Any]:
    tenant = Tenant.objects.get(pk=setup.tenant.pk)
    return {field: getattr(tenant, field) for field in DEFAULTS}


def _patch(setup: TenantSetup, body: Any) -> Any:
    return setup.client().patch(URL, body, format="json")


def test_get_shows_every_setting(acme: TenantSetup) -> None:
    response = acme.client().get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "account"
    assert body["slug"] == "acme"
    assert body["document_prefix"] == "ACME"
    assert body["has_logo"] is False
    assert {k: body[k] for k in DEFAULTS} == DEFAULTS


def test_get_shows_the_callers_account_only(acme: TenantSetup, globex: TenantSetup) -> None:
    assert acme.client().get(URL).json()["slug"] == "acme"
    assert globex.client().get(URL).json()["slug"] == "globex"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Acme Brasil"),
        ("default_currency", "USD"),
        ("time_zone", "Europe/Bucharest"),
        ("locale", "ro"),
        ("locale", "en"),
        ("proration_precision", "second"),
        ("rounding_mode", "half_up"),
        ("proration_change_day", "old"),
        ("proration_day_count", "thirty"),
        ("quantity_change_lines", "difference"),
        ("trial_invoice", "zero"),
        ("invoice_prefix", "ACME26"),
        ("net_terms_days", 30),
        ("net_terms_days", 365),
        ("primary_color", "#112233"),
        ("accent_color", "#AbCdEf"),
        ("support_email", "help@acme.example"),
        ("support_phone", "+55 11 4000-0000"),
        ("require_mfa", True),
    ],
)
def test_patch_changes_each_field_and_audits_it(acme: TenantSetup, field: str, value: Any) -> None:
    response = _patch(acme, {field: value})

    assert response.status_code == 200, response.content
    assert response.json()[field] == value
    assert _settings(acme) == {**DEFAULTS, field: value}
    with tenant_context(acme.tenant):
        entry = AuditEntry.objects.get(action="tenant.settings_changed")
    assert entry.changes == {field: [DEFAULTS[field], value]}
    assert entry.actor_type == "api_key"


def test_patch_several_fields_at_once(acme: TenantSetup) -> None:
    body = {"net_terms_days": 15, "invoice_prefix": "", "support_email": "", "locale": "en"}

    response = _patch(acme, body)

    assert response.status_code == 200
    assert _settings(acme) == {**DEFAULTS, **body}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"name": None}, "name", id="null-name"),
        pytest.param({"require_mfa": None}, "require_mfa", id="null-bool"),
        pytest.param({"net_terms_days": None}, "net_terms_days", id="null-int"),
        pytest.param({"name": ""}, "name", id="blank-name"),
        pytest.param({"name": 12}, "name", id="name-not-a-string"),
        pytest.param({"name": "x" * 201}, "name", id="name-too-long"),
        pytest.param({"net_terms_days": "30"}, "net_terms_days", id="terms-as-string"),
        pytest.param({"net_terms_days": 30.5}, "net_terms_days", id="terms-fraction"),
        pytest.param({"net_terms_days": -1}, "net_terms_days", id="terms-negative"),
        pytest.param({"net_terms_days": 366}, "net_terms_days", id="terms-huge"),
        pytest.param({"net_terms_days": 10**20}, "net_terms_days", id="terms-enormous"),
        pytest.param({"require_mfa": "true"}, "require_mfa", id="bool-as-string"),
        pytest.param({"require_mfa": 1}, "require_mfa", id="bool-as-int"),
        pytest.param({"time_zone": "Mars/Olympus"}, "time_zone", id="unknown-zone"),
        pytest.param({"time_zone": "utc "}, "time_zone", id="zone-with-space"),
        pytest.param({"default_currency": "XAU"}, "default_currency", id="gold"),
        pytest.param({"default_currency": "XTS"}, "default_currency", id="test-currency"),
        pytest.param({"default_currency": "ZZZ"}, "default_currency", id="unknown-currency"),
        pytest.param({"default_currency": "brl"}, "default_currency", id="lowercase-currency"),
        pytest.param({"primary_color": "red"}, "primary_color", id="named-colour"),
        pytest.param({"accent_color": "#12345g"}, "accent_color", id="bad-hex"),
        pytest.param({"primary_color": "#1234567"}, "primary_color", id="long-hex"),
        pytest.param({"locale": "fr"}, "locale", id="unsupported-locale"),
        pytest.param({"locale": "pt-BR"}, "locale", id="locale-wrong-case"),
        pytest.param({"proration_precision": "hour"}, "proration_precision", id="bad-precision"),
        pytest.param({"rounding_mode": "ceiling"}, "rounding_mode", id="bad-rounding"),
        pytest.param(
            {"proration_change_day": "yesterday"}, "proration_change_day", id="bad-change-day"
        ),
        pytest.param({"proration_change_day": 1}, "proration_change_day", id="change-day-int"),
        pytest.param({"proration_change_day": None}, "proration_change_day", id="null-change-day"),
        pytest.param({"proration_day_count": "360"}, "proration_day_count", id="bad-day-count"),
        pytest.param({"proration_day_count": 30}, "proration_day_count", id="day-count-int"),
        pytest.param(
            {"proration_day_count": ["thirty"]}, "proration_day_count", id="day-count-list"
        ),
        pytest.param(
            {"quantity_change_lines": "one"}, "quantity_change_lines", id="bad-quantity-lines"
        ),
        pytest.param(
            {"quantity_change_lines": True}, "quantity_change_lines", id="quantity-lines-bool"
        ),
        pytest.param({"trial_invoice": "free"}, "trial_invoice", id="bad-trial-invoice"),
        pytest.param({"trial_invoice": 0}, "trial_invoice", id="trial-invoice-int"),
        pytest.param({"trial_invoice": None}, "trial_invoice", id="null-trial-invoice"),
        pytest.param(
            {"trial_invoice": "zero", "quantity_change_lines": "both"},
            "quantity_change_lines",
            id="trial-invoice-all-or-nothing",
        ),
        pytest.param(
            {"proration_change_day": "old", "proration_day_count": "31"},
            "proration_day_count",
            id="conventions-all-or-nothing",
        ),
        pytest.param({"invoice_prefix": "AC-ME"}, "invoice_prefix", id="prefix-dash"),
        pytest.param({"invoice_prefix": "A" * 13}, "invoice_prefix", id="prefix-long"),
        pytest.param({"support_email": "nope"}, "support_email", id="bad-email"),
        pytest.param({"support_phone": "9" * 41}, "support_phone", id="long-phone"),
        pytest.param({"logo": "https://evil.example/x.png"}, "logo", id="logo-not-settable"),
        pytest.param({"slug": "globex"}, "slug", id="slug-read-only"),
        pytest.param({"colour": "#112233"}, "colour", id="unknown-field"),
        pytest.param({"name": "Fine", "time_zone": "Nowhere"}, "time_zone", id="all-or-nothing"),
    ],
)
def test_bad_values_get_400_and_change_nothing(
    acme: TenantSetup, body: dict[str, Any], param: str
) -> None:
    response = _patch(acme, body)

    assert response.status_code == 400, response.content
    assert error(response)["param"] == param
    assert _settings(acme) == DEFAULTS
    with tenant_context(acme.tenant):
        assert not AuditEntry.objects.filter(action="tenant.settings_changed").exists()


@pytest.mark.parametrize("body", [[], "name", 3], ids=["list", "string", "number"])
def test_a_body_that_is_not_an_object_is_refused(acme: TenantSetup, body: Any) -> None:
    response = _patch(acme, body)

    assert response.status_code == 400
    error(response)
    assert _settings(acme) == DEFAULTS


def test_a_read_only_key_can_get_but_not_patch(acme: TenantSetup) -> None:
    reader = read_only_client(acme)

    assert reader.get(URL).status_code == 200
    response = reader.patch(URL, {"name": "Hijacked"}, format="json")

    assert response.status_code == 403
    assert error(response)["code"] == "read_only_key"
    assert _settings(acme) == DEFAULTS


def test_no_key_no_account(acme: TenantSetup) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
    assert APIClient().patch(URL, {"name": "x"}, format="json").status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_not_allowed(acme: TenantSetup, method: str) -> None:
    response = getattr(acme.client(), method)(URL, {}, format="json")

    assert response.status_code == 405
    assert _settings(acme) == DEFAULTS


def test_the_schema_documents_the_account(acme: TenantSetup) -> None:
    schema = acme.client().get("/api/v1/schema?format=json").json()
    operations = schema["paths"]["/api/v1/account"]

    assert set(operations) == {"get", "patch"}
    assert operations["get"]["operationId"] == "account_show"
    assert operations["patch"]["operationId"] == "account_modify"
    body = operations["patch"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][name]["properties"]
    # Issue 14: portal sign-in settings (the Google secret is write-only) and the
    # cancellation reasons (tests/portal/test_cancel_reasons.py).
    assert set(properties) == set(DEFAULTS) | {
        "portal_password_signin",
        "google_client_id",
        "google_client_secret",
        "cancel_reasons",
    }
    assert "logo" not in properties
    assert all(spec.get("description") or "allOf" in spec for spec in properties.values())
