"""Dunning policies: seeded for every tenant, edited only through validated
services; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import NotFound, ValidationFailed
from dunning.models import DunningPolicy, DunningStep
from dunning.services import dunning_policies_seed, dunning_policy_update
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event, Tenant
from tests.conftest import TenantSetup, make_tenant
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import ACTOR

NOW = sp(2026, 3, 2, 12)

CARD = [
    (1, "retry", ["email"], "dunning_payment_failed"),
    (3, "retry", ["email"], "dunning_payment_failed"),
    (5, "retry", ["email"], "dunning_payment_failed"),
    (7, "retry", ["email"], "dunning_payment_failed"),
    (15, "cancel", [], ""),
]
OFFLINE = [
    (-5, "remind", ["email"], "dunning_reminder_before"),
    (-1, "remind", ["email"], "dunning_reminder_before"),
    (0, "remind", ["email"], "dunning_reminder_due"),
    (1, "remind", ["email"], "dunning_reminder_overdue"),
    (3, "remind", ["email"], "dunning_reminder_overdue"),
    (7, "remind", ["email"], "dunning_reminder_overdue"),
    (10, "suspend", [], ""),
    (30, "cancel", [], ""),
]


def steps_of(policy: DunningPolicy) -> list[tuple[Any, ...]]:
    return [(s.offset_days, s.action, s.channels, s.template) for s in policy.live_steps()]


def policy(tenant: Tenant, kind: str) -> DunningPolicy:
    return DunningPolicy.objects.prefetch_related("steps").get(
        tenant=tenant, payment_method_kind=kind
    )


def snapshot(tenant: Tenant) -> tuple[Any, ...]:
    return (
        sorted(
            DunningPolicy.objects.filter(tenant=tenant).values_list(
                "payment_method_kind", "run_hour", "smart_retry", "active"
            )
        ),
        sorted(
            DunningStep.objects.filter(tenant=tenant).values_list(
                "pk", "offset_days", "action", "template", "retired_at"
            )
        ),
        Event.objects.filter(tenant=tenant).count(),
        AuditEntry.objects.filter(tenant=tenant).count(),
    )


def test_every_new_tenant_gets_the_default_policies(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        kinds = sorted(
            DunningPolicy.objects.values_list("payment_method_kind", "run_hour", "active")
        )
        card, boleto, pix = (policy(acme.tenant, k) for k in ("card", "boleto", "pix"))
        again = dunning_policies_seed(tenant=acme.tenant, now=NOW)

    assert kinds == [
        ("boleto", 9, True),
        ("card", 9, True),
        ("pix", 9, True),
        ("pix_automatico", 9, True),
    ]
    assert steps_of(card) == CARD
    assert steps_of(boleto) == OFFLINE
    assert steps_of(pix) == OFFLINE
    assert again == []  # seeding is idempotent


def test_a_policy_is_edited_with_an_event_and_an_audit_entry(acme: TenantSetup) -> None:
    tenant = acme.tenant
    with tenant_context(tenant):
        boleto = policy(tenant, "boleto")
        old_steps = set(DunningStep.objects.filter(policy=boleto).values_list("pk", flat=True))
        updated = dunning_policy_update(
            tenant=tenant,
            policy_id=boleto.pk,
            actor=ACTOR,
            now=NOW,
            run_hour=14,
            steps=[
                {
                    "offset_days": 2,
                    "action": "remind",
                    "channels": ["sms", "email"],
                    "template": "dunning_reminder_overdue",
                },
                {
                    "offset_days": -3,
                    "action": "remind",
                    "channels": ["email"],
                    "template": "dunning_reminder_before",
                },
                {"offset_days": 20, "action": "uncollectible"},
                {"offset_days": 20, "action": "cancel"},
            ],
        )
        retired = DunningStep.objects.filter(pk__in=old_steps, retired_at=NOW).count()
        event = Event.objects.get(type="dunning.policy_updated")
        audit = AuditEntry.objects.get(action="dunning_policy.updated")

    assert updated.run_hour == 14
    # Running order: by day, and on one day remind < retry < suspend < cancel < write-off.
    assert steps_of(updated) == [
        (-3, "remind", ["email"], "dunning_reminder_before"),
        (2, "remind", ["sms", "email"], "dunning_reminder_overdue"),
        (20, "cancel", [], ""),
        (20, "uncollectible", [], ""),
    ]
    assert retired == len(old_steps) == 8
    assert event.subject_id == updated.public_id
    assert event.data["run_hour"] == 14
    assert audit.changes["run_hour"] == [9, 14]


@pytest.mark.parametrize(
    ("kind", "changes", "param", "code"),
    [
        pytest.param("card", {"run_hour": "9"}, "run_hour", "validation_failed", id="hour-str"),
        pytest.param("card", {"run_hour": 24}, "run_hour", "validation_failed", id="hour-24"),
        pytest.param("card", {"run_hour": True}, "run_hour", "validation_failed", id="hour-bool"),
        pytest.param(
            "card", {"smart_retry": "yes"}, "smart_retry", "validation_failed", id="smart"
        ),
        pytest.param("card", {"active": 1}, "active", "validation_failed", id="active-int"),
        pytest.param("card", {"steps": "retry"}, "steps", "validation_failed", id="steps-str"),
        pytest.param("card", {"steps": [7]}, "steps[0]", "validation_failed", id="step-int"),
        pytest.param(
            "card",
            {"steps": [{"offset_days": "1", "action": "retry"}]},
            "steps[0].offset_days",
            "validation_failed",
            id="offset-str",
        ),
        pytest.param(
            "card",
            {"steps": [{"offset_days": 1.5, "action": "retry"}]},
            "steps[0].offset_days",
            "validation_failed",
            id="offset-float",
        ),
        pytest.param(
            "card",
            {"steps": [{"offset_days": 999, "action": "retry"}]},
            "steps[0].offset_days",
            "validation_failed",
            id="offset-huge",
        ),
        pytest.param(
            "card",
            {"steps": [{"offset_days": 1, "action": "explode"}]},
            "steps[0].action",
            "validation_failed",
            id="action",
        ),
        pytest.param(
            "card",
            {"steps": [{"offset_days": 1, "action": "retry", "colour": "red"}]},
            "steps[0].colour",
            "validation_failed",
            id="unknown-field",
        ),
        pytest.param(
            "card",
            {
                "steps": [
                    {"offset_days": 1, "action": "retry"},
                    {"offset_days": 1, "action": "retry"},
                ]
            },
            "steps[1].offset_days",
            "duplicate_step",
            id="duplicate",
        ),
        pytest.param(
            "boleto",
            {"steps": [{"offset_days": 1, "action": "remind", "channels": ["email"]}]},
            "steps[0].template",
            "validation_failed",
            id="remind-no-template",
        ),
        pytest.param(
            "boleto",
            {
                "steps": [
                    {"offset_days": 1, "action": "remind", "channels": ["fax"], "template": "x"}
                ]
            },
            "steps[0].channels",
            "validation_failed",
            id="channel",
        ),
        pytest.param(
            "boleto",
            {
                "steps": [
                    {
                        "offset_days": 1,
                        "action": "remind",
                        "channels": ["email"],
                        "template": "Not A Key!",
                    }
                ]
            },
            "steps[0].template",
            "validation_failed",
            id="template-chars",
        ),
        pytest.param(
            "boleto",
            {
                "steps": [
                    {"offset_days": 1, "action": "cancel", "channels": ["email"], "template": "x"}
                ]
            },
            "steps[0].channels",
            "validation_failed",
            id="cancel-with-message",
        ),
        pytest.param(
            "boleto",
            {"steps": [{"offset_days": 5, "action": "retry"}]},
            "steps",
            "retry_not_supported",
            id="retry-boleto",
        ),
        pytest.param(
            "pix", {"smart_retry": True}, "smart_retry", "validation_failed", id="smart-pix"
        ),
        pytest.param(
            "card",
            {
                "steps": [
                    {"offset_days": 5, "action": "cancel"},
                    {"offset_days": 9, "action": "suspend"},
                ]
            },
            "steps",
            "step_after_end",
            id="suspend-after-cancel",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(
    acme: TenantSetup, kind: str, changes: dict[str, Any], param: str, code: str
) -> None:
    tenant = acme.tenant
    with tenant_context(tenant):
        target = policy(tenant, kind)
        before = snapshot(tenant)
        with pytest.raises(ValidationFailed) as caught:
            dunning_policy_update(
                tenant=tenant, policy_id=target.pk, actor=ACTOR, now=NOW, **changes
            )
        after = snapshot(tenant)

    assert (caught.value.param, caught.value.code) == (param, code)
    assert caught.value.message
    assert after == before


def test_another_tenants_policy_is_not_found_and_not_changed(acme: TenantSetup) -> None:
    globex = make_tenant("globex").tenant
    with tenant_context(globex):
        theirs = policy(globex, "card")
        before = snapshot(globex)
    with tenant_context(acme.tenant), pytest.raises(NotFound) as caught:
        dunning_policy_update(
            tenant=acme.tenant, policy_id=theirs.pk, actor=ACTOR, now=NOW, run_hour=3
        )
    with tenant_context(globex):
        after = snapshot(globex)

    assert caught.value.param == "policy"
    assert after == before


def test_an_unchanged_policy_writes_nothing(acme: TenantSetup) -> None:
    tenant = acme.tenant
    with tenant_context(tenant):
        card = policy(tenant, "card")
        before = snapshot(tenant)
        dunning_policy_update(
            tenant=tenant,
            policy_id=card.pk,
            actor=ACTOR,
            now=NOW,
            run_hour=9,
            steps=[
                {"offset_days": d, "action": a, "channels": c, "template": t} for d, a, c, t in CARD
            ],
        )
        assert snapshot(tenant) == before
