"""``/api/v1/dunning_policies``: read and edit the régua; bad input and other
tenants' ids are refused and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.models import DunningPolicy, DunningStep
from tenants.context import tenant_context
from tests.conftest import TenantSetup

URL = "/api/v1/dunning_policies"


def _ids(setup: TenantSetup) -> dict[str, str]:
    with tenant_context(setup.tenant):
        return dict(DunningPolicy.objects.values_list("payment_method_kind", "public_id"))


def _state(setup: TenantSetup) -> tuple[Any, ...]:
    with tenant_context(setup.tenant):
        return (
            sorted(DunningPolicy.objects.values_list("public_id", "run_hour", "smart_retry")),
            sorted(DunningStep.objects.values_list("pk", "offset_days", "action", "retired_at")),
        )


def test_lists_the_tenants_three_policies(acme: TenantSetup, globex: TenantSetup) -> None:
    response = acme.client().get(URL)

    body = response.json()
    assert response.status_code == 200
    assert body["object"] == "list"
    assert sorted(p["id"] for p in body["data"]) == sorted(_ids(acme).values())
    assert not set(_ids(globex).values()) & {p["id"] for p in body["data"]}


def test_retrieves_a_policy_with_its_steps(acme: TenantSetup) -> None:
    card = _ids(acme)["card"]

    body = acme.client().get(f"{URL}/{card}").json()

    assert body["id"] == card
    assert body["object"] == "dunning_policy"
    assert (body["payment_method_kind"], body["run_hour"], body["smart_retry"], body["active"]) == (
        "card",
        9,
        False,
        True,
    )
    assert body["steps"] == [
        *(
            {
                "offset_days": d,
                "action": "retry",
                "channels": ["email"],
                "template": "dunning_payment_failed",
            }
            for d in (1, 3, 5, 7)
        ),
        {"offset_days": 15, "action": "cancel", "channels": [], "template": ""},
    ]


def test_updates_a_policy(acme: TenantSetup) -> None:
    pix = _ids(acme)["pix"]
    steps = [
        {
            "offset_days": 0,
            "action": "remind",
            "channels": ["sms"],
            "template": "dunning_reminder_due",
        },
        {"offset_days": 45, "action": "uncollectible"},
    ]

    response = acme.client().patch(
        f"{URL}/{pix}", {"run_hour": 18, "active": False, "steps": steps}, format="json"
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["run_hour"], body["active"]) == (18, False)
    assert body["steps"] == [
        {
            "offset_days": 0,
            "action": "remind",
            "channels": ["sms"],
            "template": "dunning_reminder_due",
        },
        {"offset_days": 45, "action": "uncollectible", "channels": [], "template": ""},
    ]
    assert acme.client().get(f"{URL}/{pix}").json() == body


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        pytest.param({"run_hour": "nine"}, 400, "validation_failed", "run_hour", id="hour-type"),
        pytest.param({"run_hour": -1}, 400, "validation_failed", "run_hour", id="hour-range"),
        pytest.param({"smart_retry": "true"}, 400, "validation_failed", "smart_retry", id="bool"),
        pytest.param({"steps": {"offset_days": 1}}, 400, "validation_failed", "steps", id="steps"),
        pytest.param(
            {
                "steps": [
                    {"offset_days": 2, "action": "retry"},
                    {"offset_days": 2, "action": "retry"},
                ]
            },
            400,
            "duplicate_step",
            "steps[1].offset_days",
            id="duplicate",
        ),
        pytest.param({"colour": "red"}, 400, "unknown_parameter", "colour", id="unknown"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    acme: TenantSetup, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    card = _ids(acme)["card"]
    before = _state(acme)

    response = acme.client().patch(f"{URL}/{card}", body, format="json")

    error = response.json()["error"]
    assert response.status_code == status
    assert (error["code"], error["param"]) == (code, param)
    assert error["message"]
    assert _state(acme) == before


def test_another_tenants_policy_is_a_404_and_is_not_changed(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    theirs = _ids(globex)["card"]
    before = _state(globex)

    read = acme.client().get(f"{URL}/{theirs}")
    write = acme.client().patch(f"{URL}/{theirs}", {"run_hour": 3}, format="json")
    unknown = acme.client().get(f"{URL}/dpol_doesnotexist")

    assert [r.status_code for r in (read, write, unknown)] == [404, 404, 404]
    assert write.json()["error"]["code"] == "resource_missing"
    assert _state(globex) == before


def test_policies_are_neither_created_nor_deleted(acme: TenantSetup) -> None:
    card = _ids(acme)["card"]
    before = _state(acme)

    created = acme.client().post(URL, {"payment_method_kind": "card"}, format="json")
    deleted = acme.client().delete(f"{URL}/{card}")

    assert (created.status_code, deleted.status_code) == (405, 405)
    assert _state(acme) == before


def test_needs_an_api_key(acme: TenantSetup) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
