"""``/api/v1/collection_settings``: boleto late charges and due days, bolepix and the
Pix Automático offer, read and changed with the API key, the same as Settings →
Payments in the dashboard; bad input changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import CollectionSettings
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.api.helpers import error, read_only_client
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

URL = "/api/v1/collection_settings"
DEFAULTS = {
    "object": "collection_settings",
    "boleto_fine_percent": "2.00",
    "boleto_monthly_interest_percent": "1.00",
    "boleto_days_to_pay": 3,
    "boleto_with_pix": False,
    "pix_automatico": False,
}


def _saved(setup: TenantSetup) -> tuple[Any, ...] | None:
    with tenant_context(setup.tenant):
        found = CollectionSettings.objects.filter(tenant=setup.tenant).first()
    if found is None:
        return None
    return (
        found.boleto_fine_percent,
        found.boleto_monthly_interest_percent,
        found.boleto_days_to_pay,
        found.boleto_with_pix,
        found.pix_automatico,
    )


def _audits(setup: TenantSetup) -> list[dict[str, Any]]:
    with tenant_context(setup.tenant):
        return [
            a.changes
            for a in AuditEntry.objects.filter(action="collection_settings.updated").order_by("id")
        ]


def _patch(setup: TenantSetup, body: Any) -> Any:
    return setup.client().patch(URL, body, format="json")


def test_get_shows_the_defaults_before_anything_is_saved(acme: TenantSetup) -> None:
    response = acme.client().get(URL)

    assert response.status_code == 200
    assert response.json() == DEFAULTS
    assert _saved(acme) is None  # reading saves nothing


def test_patch_changes_only_what_it_names_and_is_audited(acme: TenantSetup) -> None:
    first = _patch(acme, {"pix_automatico": True, "boleto_fine_percent": 1.5})
    second = _patch(acme, {"boleto_days_to_pay": 5, "boleto_with_pix": True})

    assert first.status_code == second.status_code == 200, first.content
    assert first.json() == {**DEFAULTS, "pix_automatico": True, "boleto_fine_percent": "1.50"}
    assert second.json() == {
        **DEFAULTS,
        "pix_automatico": True,
        "boleto_fine_percent": "1.50",
        "boleto_days_to_pay": 5,
        "boleto_with_pix": True,
    }
    assert acme.client().get(URL).json() == second.json()
    assert _saved(acme) == (Decimal("1.50"), Decimal("1.00"), 5, True, True)
    assert [(a["pix_automatico"], a["days_to_pay"]) for a in _audits(acme)] == [
        (True, 3),
        (True, 5),
    ]


def test_the_portal_offer_follows_the_api(acme: TenantSetup) -> None:
    from billing.segunda_via import collection_settings

    _patch(acme, {"pix_automatico": True})
    with tenant_context(acme.tenant):
        assert collection_settings(tenant=acme.tenant).pix_automatico is True


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"boleto_fine_percent": 10.01}, "boleto_fine_percent", id="fine-too-big"),
        pytest.param({"boleto_fine_percent": -1}, "boleto_fine_percent", id="fine-negative"),
        pytest.param({"boleto_fine_percent": 1.005}, "boleto_fine_percent", id="fine-3-decimals"),
        pytest.param({"boleto_fine_percent": "2"}, "boleto_fine_percent", id="fine-string"),
        pytest.param({"boleto_fine_percent": 1e308}, "boleto_fine_percent", id="fine-huge"),
        pytest.param(
            {"boleto_monthly_interest_percent": 11},
            "boleto_monthly_interest_percent",
            id="interest-too-big",
        ),
        pytest.param({"boleto_days_to_pay": 0}, "boleto_days_to_pay", id="days-zero"),
        pytest.param({"boleto_days_to_pay": 31}, "boleto_days_to_pay", id="days-too-many"),
        pytest.param({"boleto_days_to_pay": 2.5}, "boleto_days_to_pay", id="days-fraction"),
        pytest.param({"boleto_days_to_pay": "3"}, "boleto_days_to_pay", id="days-string"),
        pytest.param({"boleto_with_pix": "true"}, "boleto_with_pix", id="bolepix-string"),
        pytest.param({"pix_automatico": 1}, "pix_automatico", id="pix-number"),
        pytest.param({"pix_automatico": None}, "pix_automatico", id="pix-null"),
        pytest.param({"object": "x"}, "object", id="object-read-only"),
        pytest.param({"late_fee": 2}, "late_fee", id="unknown-field"),
        pytest.param(
            {"pix_automatico": True, "boleto_days_to_pay": 99},
            "boleto_days_to_pay",
            id="all-or-nothing",
        ),
    ],
)
def test_bad_values_get_400_and_change_nothing(
    acme: TenantSetup, body: dict[str, Any], param: str
) -> None:
    response = _patch(acme, body)

    assert response.status_code == 400, response.content
    assert error(response)["param"] == param
    assert _saved(acme) is None
    assert _audits(acme) == []


@pytest.mark.parametrize("body", [[], "pix_automatico", 3], ids=["list", "string", "number"])
def test_a_body_that_is_not_an_object_is_refused(acme: TenantSetup, body: Any) -> None:
    response = _patch(acme, body)

    assert response.status_code == 400
    error(response)
    assert _saved(acme) is None


def test_each_account_sees_and_changes_its_own(acme: TenantSetup, globex: TenantSetup) -> None:
    changed = _patch(acme, {"pix_automatico": True, "boleto_days_to_pay": 7})
    theirs = globex.client().get(URL)

    assert changed.status_code == 200
    assert theirs.json() == DEFAULTS
    assert _saved(globex) is None
    assert _saved(acme) == (Decimal("2.00"), Decimal("1.00"), 7, False, True)


def test_a_read_only_key_can_get_but_not_patch(acme: TenantSetup) -> None:
    reader = read_only_client(acme)

    assert reader.get(URL).status_code == 200
    response = reader.patch(URL, {"pix_automatico": True}, format="json")

    assert response.status_code == 403
    assert error(response)["code"] == "read_only_key"
    assert _saved(acme) is None


def test_no_key_no_settings(acme: TenantSetup) -> None:
    assert APIClient().get(URL).status_code == 401
    assert APIClient().patch(URL, {"pix_automatico": True}, format="json").status_code == 401
    assert _saved(acme) is None


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_not_allowed(acme: TenantSetup, method: str) -> None:
    response = getattr(acme.client(), method)(URL, {}, format="json")

    assert response.status_code == 405
    assert _saved(acme) is None


def test_the_schema_documents_them(acme: TenantSetup) -> None:
    schema = acme.client().get("/api/v1/schema?format=json").json()
    operations = schema["paths"][URL]

    assert set(operations) == {"get", "patch"}
    assert operations["get"]["operationId"] == "collection_settings_show"
    assert operations["patch"]["operationId"] == "collection_settings_modify"
    body = operations["patch"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][name]["properties"]
    assert set(properties) == set(DEFAULTS) - {"object"}
