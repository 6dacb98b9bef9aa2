"""The dashboard's dunning pages: who may see and edit, edits through the
service, bad input shown on the form and nothing changed, other tenants' ids 404."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from core import clock
from core.actors import Actor
from dunning.models import DunningPolicy, DunningStep
from tenants.accounts import staff_user_ensure
from tenants.context import tenant_context
from tenants.services import membership_add
from tests.conftest import TenantSetup, make_tenant

PASSWORD = "s3cret-Pass!"


def _signed_in(email: str) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"login": email, "password": PASSWORD}).status_code == 302
    )
    return client


def _policy(setup: TenantSetup, kind: str) -> DunningPolicy:
    with tenant_context(setup.tenant):
        return DunningPolicy.objects.get(payment_method_kind=kind)


def _steps(setup: TenantSetup) -> list[tuple[Any, ...]]:
    with tenant_context(setup.tenant):
        return sorted(
            DunningStep.objects.filter(retired_at__isnull=True).values_list(
                "policy__payment_method_kind", "offset_days", "action", "template"
            )
        )


def _form(policy: DunningPolicy, rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """What the page posts: the policy's current steps (ticked for deletion, as
    a merchant replacing them would) followed by ``rows``."""
    with tenant_context(policy.tenant):
        existing = [
            {
                "offset_days": str(s.offset_days),
                "action": s.action,
                "template": s.template,
                "DELETE": "on",
                **dict.fromkeys(s.channels, "on"),
            }
            for s in DunningPolicy.objects.get(pk=policy.pk).live_steps()
        ]
    data: dict[str, Any] = {
        "run_hour": policy.run_hour,
        "active": "on",
        "steps-TOTAL_FORMS": str(len(existing) + len(rows)),
        "steps-INITIAL_FORMS": str(len(existing)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "30",
        **fields,
    }
    for i, row in enumerate(existing + rows):
        for key, value in row.items():
            data[f"steps-{i}-{key}"] = value
    return data


def test_the_index_lists_the_policies(acme: TenantSetup) -> None:
    page = _signed_in("owner@acme.example").get("/dashboard/dunning/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "D+15" in html
    assert "D-5" in html
    assert _policy(acme, "card").public_id in html


def test_the_owner_edits_a_policy(acme: TenantSetup) -> None:
    pix = _policy(acme, "pix")
    rows = [
        {
            "offset_days": "-2",
            "action": "remind",
            "email": "on",
            "template": "dunning_reminder_before",
        },
        {"offset_days": "12", "action": "suspend"},
        {"offset_days": "40", "action": "cancel"},
        {"offset_days": "", "action": "", "template": ""},  # a blank extra row
    ]

    response = _signed_in("owner@acme.example").post(
        f"/dashboard/dunning/policies/{pix.public_id}/", _form(pix, rows, run_hour="7")
    )

    assert response.status_code == 302
    assert _policy(acme, "pix").run_hour == 7
    assert [s for s in _steps(acme) if s[0] == "pix"] == [
        ("pix", -2, "remind", "dunning_reminder_before"),
        ("pix", 12, "suspend", ""),
        ("pix", 40, "cancel", ""),
    ]


@pytest.mark.parametrize(
    ("rows", "fields", "message"),
    [
        pytest.param(
            [
                {"offset_days": "1", "action": "remind", "email": "on", "template": "x"},
                {"offset_days": "1", "action": "remind", "sms": "on", "template": "y"},
            ],
            {},
            "already has a remind step on day +1",
            id="duplicate",
        ),
        pytest.param(
            [{"offset_days": "soon", "action": "cancel"}], {}, "Enter a whole number", id="type"
        ),
        pytest.param(
            [{"offset_days": "3", "action": "cancel"}],
            {"run_hour": "25"},
            "less than or equal",
            id="hour",
        ),
        pytest.param(
            [{"offset_days": "3", "action": "retry"}], {}, "cannot be retried", id="retry-boleto"
        ),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(
    acme: TenantSetup, rows: list[dict[str, Any]], fields: dict[str, Any], message: str
) -> None:
    boleto = _policy(acme, "boleto")
    before = (_steps(acme), boleto.run_hour)

    response = _signed_in("owner@acme.example").post(
        f"/dashboard/dunning/policies/{boleto.public_id}/", _form(boleto, rows, **fields)
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert (_steps(acme), _policy(acme, "boleto").run_hour) == before


def test_a_viewer_sees_but_cannot_edit(acme: TenantSetup) -> None:
    user = staff_user_ensure(email="viewer@acme.example", password=PASSWORD)
    with tenant_context(acme.tenant):
        membership_add(
            tenant=acme.tenant, user=user, role="viewer", actor=Actor.system(), now=clock.now()
        )
    card = _policy(acme, "card")
    client = _signed_in("viewer@acme.example")

    assert client.get("/dashboard/dunning/").status_code == 200
    assert client.get(f"/dashboard/dunning/policies/{card.public_id}/").status_code == 403


def test_another_tenants_policy_is_a_404(acme: TenantSetup) -> None:
    globex = make_tenant("globex")
    theirs = _policy(globex, "card")
    before = _steps(globex)

    client = _signed_in("owner@acme.example")
    page = client.get(f"/dashboard/dunning/policies/{theirs.public_id}/")
    post = client.post(
        f"/dashboard/dunning/policies/{theirs.public_id}/",
        _form(theirs, [{"offset_days": "1", "action": "cancel"}]),
    )

    assert (page.status_code, post.status_code) == (404, 404)
    assert _steps(globex) == before


def test_the_data_migration_seeds_tenants_that_have_no_policies(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        DunningStep.objects.all().delete()
        DunningPolicy.objects.all().delete()
    migration = import_module("dunning.migrations.0002_seed_default_policies")

    migration.seed(apps, None)
    migration.seed(apps, None)  # and again: nothing doubles

    assert len(_steps(acme)) == 5 + 8 + 8
