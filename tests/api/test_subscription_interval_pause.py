"""Interval changes and pauses now over the API (issue 16): the new fields, the
previews, and bad input refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import CreditNote, Invoice
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.api.helpers import counts, error
from tests.api.test_subscriptions import _clock, _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

WATCHED = (Subscription, Invoice, CreditNote, AuditEntry)


def _monthly_on_a_clock(setup: TenantSetup, **plan: Any) -> tuple[dict[str, Any], str]:
    """R$100 a month bought on a test clock at 2026-01-15 15:00Z (noon in São
    Paulo), advanced to 2026-03-03 15:00Z; returns (subscription, clock id)."""
    basic = catalog(setup, code="basic", amount_minor=10_000, **plan)
    clock = _clock(setup, "2026-01-15T15:00:00Z")
    customer = _customer(setup, test_clock=clock["id"])
    sub = _subscribe(
        setup, customer=customer["id"], plan=basic["id"], collection_method="send_invoice"
    )
    advanced = setup.client().post(
        f"/api/v1/test_clocks/{clock['id']}/advance", {"frozen_time": "2026-03-03T15:00:00Z"}
    )
    assert advanced.status_code == 200, advanced.json()
    return sub, clock["id"]


def _snapshot(setup: TenantSetup, sub: dict[str, Any]) -> tuple[Any, ...]:
    return (
        counts(setup, *WATCHED),
        setup.client().get(f"/api/v1/subscriptions/{sub['id']}").json(),
    )


def test_account_defaults_for_interval_changes_and_pauses(acme: TenantSetup) -> None:
    account = acme.client().get("/api/v1/account").json()
    assert (account["interval_change_anchor"], account["pause_unused"]) == ("reset", "credit")

    updated = acme.client().patch(
        "/api/v1/account", {"interval_change_anchor": "keep", "pause_unused": "carry"}
    )
    bad = acme.client().patch("/api/v1/account", {"pause_unused": "forget"})

    assert updated.status_code == 200, updated.json()
    assert (updated.json()["interval_change_anchor"], updated.json()["pause_unused"]) == (
        "keep",
        "carry",
    )
    assert bad.status_code == 400
    assert error(bad)["param"] == "pause_unused"
    assert acme.client().get("/api/v1/account").json()["pause_unused"] == "carry"


def test_preview_then_change_interval_keeping_the_anchor(acme: TenantSetup) -> None:
    sub, _clock_id = _monthly_on_a_clock(acme)
    annual = catalog(acme, code="annual", amount_minor=100_000, interval="year")
    base = f"/api/v1/subscriptions/{sub['id']}"
    body = {"plan": annual["id"], "anchor": "keep"}

    preview = acme.client().post(f"{base}/preview_change", body)
    assert counts(acme, Invoice) == {"Invoice": 2}
    changed = acme.client().post(f"{base}/change", body)

    # Credit Mar 3 .. Mar 14 = 12 of 28 days: 10000 × 12/28 = 4285.71 → 4286; the
    # year on the Jan 15 grid from Mar 3: 318 of 365 days: 100000 × 318/365 =
    # 87123.29 → 87123; total 82837.
    assert preview.status_code == 200, preview.json()
    assert [(ln["kind"], ln["amount_minor"]) for ln in preview.json()["lines"]] == [
        ("proration", -4_286),
        ("recurring", 87_123),
    ]
    assert preview.json()["total_minor"] == 82_837
    assert changed.status_code == 200, changed.json()
    assert changed.json()["plan"] == annual["id"]
    assert changed.json()["current_period_end"] == "2027-01-15T15:00:00Z"
    invoices = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"]
    assert sorted(i["total_minor"] for i in invoices) == [10_000, 10_000, 82_837]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        pytest.param({"plan": "plan_nope"}, 404, "plan", None, id="unknown-plan"),
        pytest.param({"anchor": "sometimes"}, 400, "anchor", None, id="unknown-anchor"),
        pytest.param({"when": "period_end"}, 400, "when", "interval_change_now_only", id="later"),
        pytest.param({"proration": "maybe"}, 400, "proration", None, id="unknown-proration"),
    ],
)
def test_bad_interval_changes_change_nothing(
    acme: TenantSetup, body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    sub, _clock_id = _monthly_on_a_clock(acme)
    annual = catalog(acme, code="annual", amount_minor=100_000, interval="year")
    before = _snapshot(acme, sub)

    for action in ("preview_change", "change"):
        response = acme.client().post(
            f"/api/v1/subscriptions/{sub['id']}/{action}", {"plan": annual["id"], **body}
        )
        assert response.status_code == status, (action, response.json())
        assert error(response)["param"] == param
        if code:
            assert error(response)["code"] == code
    assert _snapshot(acme, sub) == before


def test_an_unknown_interval_is_refused_on_the_plan(acme: TenantSetup) -> None:
    product = acme.client().post("/api/v1/products", {"name": "P"}).json()
    response = acme.client().post(
        "/api/v1/plans",
        {
            "product": product["id"],
            "code": "fortnight",
            "name": "Fortnight",
            "currency": "BRL",
            "amount_minor": 100,
            "interval": "fortnight",
        },
    )
    assert response.status_code == 400
    assert error(response)["param"] == "interval"


def test_pause_now_preview_then_pause_then_resume_on_a_date(acme: TenantSetup) -> None:
    sub, _clock_id = _monthly_on_a_clock(acme, max_pauses=1, max_pause_cycles=3)
    base = f"/api/v1/subscriptions/{sub['id']}"

    preview = acme.client().post(f"{base}/preview_pause", {"unused": "credit"})
    assert counts(acme, CreditNote) == {"CreditNote": 0}
    paused = acme.client().post(f"{base}/pause", {"when": "now", "unused": "credit"})
    resumed = acme.client().post(f"{base}/resume", {"resume_at": "2026-04-20T15:00:00Z"})

    # Mar 3 .. Mar 14 = 12 of 28 days: 10000 × 12/28 = 4285.71 → 4286
    assert preview.status_code == 200, preview.json()
    assert preview.json()["object"] == "subscription_pause_preview"
    assert (preview.json()["credit_minor"], preview.json()["unused"]) == (4_286, "credit")
    assert preview.json()["resumes_at"] == "2026-06-03T15:00:00Z"
    assert paused.status_code == 200, paused.json()
    assert (paused.json()["status"], paused.json()["paused_at"]) == (
        "paused",
        "2026-03-03T15:00:00Z",
    )
    assert paused.json()["current_period_end"] == "2026-06-03T15:00:00Z"
    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["current_period_end"] == "2026-04-20T15:00:00Z"
    with tenant_context(acme.tenant):
        assert list(CreditNote.objects.values_list("total_minor", flat=True)) == [4_286]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        pytest.param(
            {"when": "now", "resume_at": "2026-03-01T00:00:00Z"},
            "resume_at",
            "resume_in_past",
            id="resume-in-past",
        ),
        pytest.param(
            {"when": "now", "resume_at": "2026-09-01T00:00:00Z"},
            "resume_at",
            "pause_too_long",
            id="too-long",
        ),
        pytest.param({"when": "now", "unused": "forget"}, "unused", None, id="unknown-unused"),
        pytest.param({"when": "now", "cycles": 1}, "cycles", None, id="cycles-with-now"),
        pytest.param({"unused": "credit", "cycles": 1}, "unused", None, id="unused-at-end"),
        pytest.param({"when": "soon"}, "when", None, id="unknown-when"),
    ],
)
def test_bad_pauses_change_nothing(
    acme: TenantSetup, body: dict[str, Any], param: str, code: str | None
) -> None:
    sub, _clock_id = _monthly_on_a_clock(acme, max_pauses=1, max_pause_cycles=3)
    before = _snapshot(acme, sub)

    response = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/pause", body)

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == param
    if code:
        assert error(response)["code"] == code
    assert _snapshot(acme, sub) == before


def test_resume_date_in_the_past_and_pausing_a_canceled_subscription(acme: TenantSetup) -> None:
    sub, _clock_id = _monthly_on_a_clock(acme, max_pauses=1, max_pause_cycles=3)
    base = f"/api/v1/subscriptions/{sub['id']}"
    assert acme.client().post(f"{base}/pause", {"when": "now"}).status_code == 200
    before = _snapshot(acme, sub)

    past = acme.client().post(f"{base}/resume", {"resume_at": "2026-03-02T15:00:00Z"})

    assert past.status_code == 400
    assert (error(past)["param"], error(past)["code"]) == ("resume_at", "resume_in_past")
    assert _snapshot(acme, sub) == before

    assert acme.client().post(f"{base}/cancel", {}).status_code == 200
    before = _snapshot(acme, sub)
    again = acme.client().post(f"{base}/pause", {"when": "now"})
    preview = acme.client().post(f"{base}/preview_pause", {})

    assert (again.status_code, preview.status_code) == (409, 409)
    assert error(again)["code"] == error(preview)["code"] == "subscription_not_pausable"
    assert _snapshot(acme, sub) == before


def test_another_tenants_subscription_is_404_for_the_new_actions(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    theirs, _clock_id = _monthly_on_a_clock(globex, max_pauses=1, max_pause_cycles=3)
    annual = catalog(acme, code="annual", amount_minor=100_000, interval="year")
    before = _snapshot(globex, theirs)

    for action, body in (
        ("pause", {"when": "now", "unused": "credit"}),
        ("preview_pause", {}),
        ("resume", {"resume_at": "2026-04-01T00:00:00Z"}),
        ("preview_change", {"plan": annual["id"], "anchor": "keep"}),
        ("change", {"plan": annual["id"], "anchor": "reset"}),
    ):
        response = acme.client().post(f"/api/v1/subscriptions/{theirs['id']}/{action}", body)
        assert response.status_code == 404, (action, response.json())
    assert _snapshot(globex, theirs) == before
