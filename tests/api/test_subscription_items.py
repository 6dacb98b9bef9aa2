"""Subscription items (add-ons) over the API (issue 16 item 4): list, add,
change quantity, remove, the previews, items on create and in the
subscription's representation; bad input and other tenants' ids refused with
nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Invoice, PendingLine
from subscriptions.models import Subscription, SubscriptionItem
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.api.helpers import counts, error
from tests.api.test_subscription_interval_pause import _monthly_on_a_clock
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

WATCHED = (Subscription, SubscriptionItem, Invoice, PendingLine, AuditEntry)


def _snapshot(setup: TenantSetup, sub: dict[str, Any]) -> tuple[Any, ...]:
    return (
        counts(setup, *WATCHED),
        setup.client().get(f"/api/v1/subscriptions/{sub['id']}").json(),
    )


def test_add_preview_then_add_change_and_remove_an_addon(acme: TenantSetup) -> None:
    # R$100 a month from Jan 15 noon (São Paulo) on a clock now at Mar 3 noon.
    sub, _clock = _monthly_on_a_clock(acme)
    storage = catalog(acme, code="storage", amount_minor=1_400, pricing_model="per_seat")
    base = f"/api/v1/subscriptions/{sub['id']}"
    body = {"plan": storage["id"], "quantity": 2}

    preview = acme.client().post(f"{base}/items/preview", body)
    assert counts(acme, SubscriptionItem, Invoice) == {"SubscriptionItem": 0, "Invoice": 2}
    added = acme.client().post(f"{base}/items", body)

    # [Feb 15, Mar 15) is 28 days; Mar 3 .. Mar 14 remain: 12. 2 × 1400 = 2800 × 12/28 = 1200.
    assert preview.status_code == 200, preview.json()
    assert preview.json()["invoiced"] is True
    assert [(ln["kind"], ln["quantity"], ln["amount_minor"]) for ln in preview.json()["lines"]] == [
        ("proration", 2, 1_200)
    ]
    assert preview.json()["total_minor"] == 1_200
    assert added.status_code == 201, added.json()
    item = added.json()
    assert (item["object"], item["id"][:3], item["plan"], item["quantity"]) == (
        "subscription_item",
        "si_",
        storage["id"],
        2,
    )
    with tenant_context(acme.tenant):
        written = Invoice.objects.filter(tenant=acme.tenant).order_by("-id").first()
        assert written is not None
        assert [(ln.kind, ln.quantity, ln.amount_minor) for ln in written.lines.all()] == [
            ("proration", 2, 1_200)
        ]
    shown = acme.client().get(base).json()["items"]
    assert [(i["id"], i["quantity"]) for i in shown] == [(item["id"], 2)]

    # Three seats: credit 2800 × 12/28 = 1200, charge 4200 × 12/28 = 1800.
    p_update = acme.client().post(f"{base}/items/{item['id']}/preview", {"quantity": 3})
    updated = acme.client().post(f"{base}/items/{item['id']}", {"quantity": 3})
    assert [ln["amount_minor"] for ln in p_update.json()["lines"]] == [-1_200, 1_800]
    assert updated.status_code == 200, updated.json()
    assert updated.json()["quantity"] == 3

    # Removed: 4200 × 12/28 = 1800 credited (carried to the balance).
    p_remove = acme.client().post(f"{base}/items/{item['id']}/preview_remove", {})
    removed = acme.client().delete(f"{base}/items/{item['id']}")
    assert next((ln["kind"], ln["amount_minor"]) for ln in p_remove.json()["lines"]) == (
        "proration",
        -1_800,
    )
    assert removed.status_code == 200, removed.json()
    assert removed.json()["ended_at"] is not None
    assert acme.client().get(base).json()["items"] == []
    listed = acme.client().get(f"{base}/items").json()
    assert (listed["object"], listed["has_more"]) == ("list", False)
    assert [(i["id"], i["ended_at"] is not None) for i in listed["data"]] == [(item["id"], True)]


def test_create_with_items_bills_them_on_the_first_invoice(acme: TenantSetup) -> None:
    basic = catalog(acme, code="basic", amount_minor=10_000)
    support = catalog(acme, code="support", amount_minor=4_650, setup_fee_minor=1_000)
    customer = _customer(acme)

    sub = _subscribe(
        acme,
        customer=customer["id"],
        plan=basic["id"],
        collection_method="send_invoice",
        items=[{"plan": support["id"], "quantity": 1}],
    )

    assert [(i["plan"], i["quantity"]) for i in sub["items"]] == [(support["id"], 1)]
    with tenant_context(acme.tenant):
        first = Invoice.objects.filter(tenant=acme.tenant).get()
        # 10000 + 4650 + the add-on's setup 1000 = 15650
        assert [(ln.kind, ln.amount_minor) for ln in first.lines.all()] == [
            ("recurring", 10_000),
            ("recurring", 4_650),
            ("setup_fee", 1_000),
        ]
        assert first.total_minor == 15_650


@pytest.mark.parametrize(
    ("_case", "body", "status", "param"),
    [
        ("quantity 0", {"quantity": 0}, 400, "quantity"),
        ("quantity 10^9", {"quantity": 10**9}, 400, "quantity"),
        ("unknown plan", {"plan": "plan_nope"}, 404, "plan"),
        ("bad proration", {"proration": "later"}, 400, "proration"),
    ],
)
def test_bad_item_input_changes_nothing(
    acme: TenantSetup, _case: str, body: dict[str, Any], status: int, param: str
) -> None:
    sub, _clock = _monthly_on_a_clock(acme)
    seats = catalog(acme, code="seats", amount_minor=1_000, pricing_model="per_seat")
    before = _snapshot(acme, sub)

    response = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/items", {"plan": seats["id"], **body}
    )

    assert response.status_code == status, response.json()
    assert error(response)["param"] == param
    assert _snapshot(acme, sub) == before


def test_addon_in_another_currency_or_interval_is_refused(acme: TenantSetup) -> None:
    sub, _clock = _monthly_on_a_clock(acme)
    usd = catalog(acme, code="usd", currency="USD")
    yearly = catalog(acme, code="yearly", interval="year")
    before = _snapshot(acme, sub)

    for plan, code in ((usd, "item_currency_mismatch"), (yearly, "item_interval_mismatch")):
        response = acme.client().post(
            f"/api/v1/subscriptions/{sub['id']}/items", {"plan": plan["id"]}
        )
        assert response.status_code == 400, response.json()
        assert (error(response)["param"], error(response)["code"]) == ("plan", code)
    assert _snapshot(acme, sub) == before


def test_other_tenants_subscription_item_and_plan_are_404(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    sub, _clock = _monthly_on_a_clock(acme)
    storage = catalog(acme, code="storage", amount_minor=1_400)
    item = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/items", {"plan": storage["id"]})
    assert item.status_code == 201, item.json()
    foreign_plan = catalog(globex, code="storage", amount_minor=1_400)
    before = _snapshot(acme, sub)
    base = f"/api/v1/subscriptions/{sub['id']}"
    item_id = item.json()["id"]

    # Another tenant's key sees neither the subscription nor its item.
    assert globex.client().get(f"{base}/items").status_code == 404
    assert globex.client().post(f"{base}/items", {"plan": foreign_plan["id"]}).status_code == 404
    assert globex.client().post(f"{base}/items/{item_id}", {"quantity": 2}).status_code == 404
    assert globex.client().delete(f"{base}/items/{item_id}").status_code == 404
    # The owner cannot add another tenant's plan, nor reach an unknown item.
    foreign = acme.client().post(f"{base}/items", {"plan": foreign_plan["id"]})
    assert foreign.status_code == 404
    assert error(foreign)["param"] == "plan"
    assert acme.client().delete(f"{base}/items/si_unknown").status_code == 404
    assert _snapshot(acme, sub) == before
