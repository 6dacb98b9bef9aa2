"""Products, plans, coupons and the subscription lifecycle over the API."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Coupon, Invoice, PendingLine
from subscriptions.models import Plan, ScheduledChange, Subscription
from tenants.context import tenant_context
from tests.api.helpers import audit_actions, counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def catalog(setup: TenantSetup, code: str = "basic", **plan: Any) -> dict[str, Any]:
    """A product and a plan, made through the API; returns the plan."""
    product = setup.client().post("/api/v1/products", {"name": f"Product {code}"})
    assert product.status_code == 201, product.json()
    body = {
        "product": product.json()["id"],
        "code": code,
        "name": code.title(),
        "currency": "BRL",
        "amount_minor": 10_000,
        **plan,
    }
    response = setup.client().post("/api/v1/plans", body)
    assert response.status_code == 201, response.json()
    return response.json()


def _customer(setup: TenantSetup, **body: Any) -> dict[str, Any]:
    response = setup.client().post("/api/v1/customers", {"name": "Ana", **body})
    assert response.status_code == 201, response.json()
    return response.json()


def _clock(setup: TenantSetup, at: str = "2026-01-10T12:00:00Z") -> dict[str, Any]:
    response = setup.client().post("/api/v1/test_clocks", {"frozen_time": at, "name": "rehearsal"})
    assert response.status_code == 201, response.json()
    return response.json()


def _subscribe(setup: TenantSetup, **body: Any) -> dict[str, Any]:
    response = setup.client().post("/api/v1/subscriptions", body)
    assert response.status_code == 201, response.json()
    return response.json()


# --- catalog ---------------------------------------------------------------------------------


def test_create_and_read_products_and_plans(acme: TenantSetup) -> None:
    plan = catalog(
        acme,
        interval="month",
        trial_days=7,
        setup_fee_minor=5_000,
        entitlements={"seats": 5, "sso": True},
    )

    assert plan["object"] == "plan"
    assert plan["id"].startswith("plan_")
    assert plan["product"].startswith("prod_")
    assert (plan["amount_minor"], plan["currency"], plan["version"]) == (10_000, "BRL", 1)
    assert plan["entitlements"] == {"seats": 5, "sso": True}
    assert acme.client().get(f"/api/v1/plans/{plan['id']}").json() == plan
    product = acme.client().get(f"/api/v1/products/{plan['product']}").json()
    assert product["object"] == "product"
    listed = acme.client().get("/api/v1/plans", {"product": plan["product"]}).json()
    assert [p["id"] for p in listed["data"]] == [plan["id"]]
    assert acme.client().get("/api/v1/plans", {"currency": "USD"}).json()["data"] == []
    assert ("api_key", "plan.created") in audit_actions(acme)


def test_tiered_plans_take_tiers(acme: TenantSetup) -> None:
    tiers = [
        {"up_to": 10, "unit_amount_minor": 1_000, "flat_amount_minor": 0},
        {"up_to": None, "unit_amount_minor": 800, "flat_amount_minor": 500},
    ]

    plan = catalog(acme, pricing_model="graduated", tiers=tiers)

    assert plan["tiers"] == tiers
    assert plan["pricing_model"] == "graduated"


@pytest.mark.parametrize(
    ("change", "param", "status"),
    [
        pytest.param({"amount_minor": -1}, "amount_minor", 400, id="negative"),
        pytest.param({"amount_minor": 10**13 + 1}, "amount_minor", 400, id="too-large"),
        pytest.param({"amount_minor": 10**40}, "amount_minor", 400, id="huge"),
        pytest.param({"amount_minor": "ten"}, "amount_minor", 400, id="string"),
        pytest.param({"amount_minor": 10.5}, "amount_minor", 400, id="fraction"),
        pytest.param({"amount_minor": True}, "amount_minor", 400, id="bool"),
        pytest.param({"amount_minor": None}, "amount_minor", 400, id="null"),
        pytest.param({"currency": "XYZ"}, "currency", 400, id="unknown-currency"),
        pytest.param({"currency": "brl"}, "currency", 400, id="lowercase-currency"),
        pytest.param({"interval": "fortnight"}, "interval", 400, id="interval"),
        pytest.param({"interval_count": 0}, "interval_count", 400, id="zero-interval"),
        pytest.param({"trial_days": 10**9}, "trial_days", 400, id="huge-trial"),
        pytest.param({"code": "has spaces"}, "code", 400, id="code"),
        pytest.param({"product": "prod_nope"}, "product", 404, id="unknown-product"),
        pytest.param({"tiers": [{"up_to": None}]}, "tiers", 400, id="tiers-on-flat"),
        pytest.param({"entitlements": {"x": [1]}}, "entitlements", 400, id="entitlements"),
        pytest.param({"entitlements": "all"}, "entitlements", 400, id="entitlements-string"),
        pytest.param({"tax_rate": "txr_nope"}, "tax_rate", 404, id="tax-rate"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_created(
    acme: TenantSetup, change: dict, param: str, status: int
) -> None:
    product = acme.client().post("/api/v1/products", {"name": "P"}).json()
    body = {
        "product": product["id"],
        "code": "basic",
        "currency": "BRL",
        "amount_minor": 1000,
        **change,
    }

    response = acme.client().post("/api/v1/plans", body)

    assert response.status_code == status, response.json()
    assert error(response)["param"] == param
    assert counts(acme, Plan) == {"Plan": 0}


def test_another_tenants_product_is_a_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = globex.client().post("/api/v1/products", {"name": "Theirs"}).json()

    response = acme.client().post(
        "/api/v1/plans",
        {"product": theirs["id"], "code": "x", "currency": "BRL", "amount_minor": 1},
    )

    assert response.status_code == 404
    assert error(response)["param"] == "product"
    assert counts(acme, Plan) == {"Plan": 0}
    assert acme.client().get(f"/api/v1/products/{theirs['id']}").status_code == 404


def test_a_taken_plan_code_is_a_conflict(acme: TenantSetup) -> None:
    plan = catalog(acme)

    response = acme.client().post(
        "/api/v1/plans",
        {"product": plan["product"], "code": "basic", "currency": "BRL", "amount_minor": 5},
    )

    assert response.status_code == 409
    assert error(response)["code"] == "plan_code_taken"


def test_a_used_plan_changes_price_through_a_new_version(acme: TenantSetup) -> None:
    plan = catalog(acme, trial_days=30)
    _subscribe(acme, customer=_customer(acme)["id"], plan=plan["id"])

    response = acme.client().post(
        f"/api/v1/plans/{plan['id']}/change_price", {"amount_minor": 12_000}
    )

    assert response.status_code == 200
    new = response.json()
    assert new["id"] != plan["id"]
    assert (new["version"], new["amount_minor"]) == (2, 12_000)
    old = acme.client().get(f"/api/v1/plans/{plan['id']}").json()
    assert (old["amount_minor"], old["active"], old["superseded_by"]) == (10_000, False, new["id"])
    again = acme.client().post(f"/api/v1/plans/{plan['id']}/change_price", {"amount_minor": 1})
    assert again.status_code == 409
    assert error(again)["code"] == "plan_superseded"


def test_coupons(acme: TenantSetup) -> None:
    response = acme.client().post(
        "/api/v1/coupons",
        {"code": "WELCOME", "percent_off": 12.5, "duration": "repeating", "duration_cycles": 3},
    )

    assert response.status_code == 201, response.json()
    coupon = response.json()
    assert (coupon["object"], coupon["percent_off"], coupon["amount_off_minor"]) == (
        "coupon",
        "12.50",
        None,
    )
    assert acme.client().get("/api/v1/coupons", {"code": "WELCOME"}).json()["data"] == [coupon]
    for body, param in (
        ({"code": "BOTH", "percent_off": 10, "amount_off_minor": 100}, "percent_off"),
        ({"code": "NONE"}, "percent_off"),
        ({"code": "ZERO", "percent_off": 0}, "percent_off"),
        ({"code": "OVER", "percent_off": 100.01}, "percent_off"),
        ({"code": "FINE", "percent_off": 12.345}, "percent_off"),
        ({"code": "TEXT", "percent_off": "12.5"}, "percent_off"),
        ({"code": "NOCUR", "amount_off_minor": 100}, "currency"),
        ({"code": "NEG", "amount_off_minor": -5, "currency": "BRL"}, "amount_off_minor"),
    ):
        bad = acme.client().post("/api/v1/coupons", body)
        assert bad.status_code == 400, (body, bad.json())
        assert error(bad)["param"] == param
    taken = acme.client().post("/api/v1/coupons", {"code": "WELCOME", "percent_off": 5})
    assert taken.status_code == 409
    assert counts(acme, Coupon) == {"Coupon": 1}


# --- subscriptions -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # charges go out after commit
def test_subscribe_on_a_test_clock_with_a_trial_and_renew(acme: TenantSetup) -> None:
    plan = catalog(acme, trial_days=14)
    clock = _clock(acme)
    customer = _customer(acme, test_clock=clock["id"])
    acme.client().post(
        f"/api/v1/customers/{customer['id']}/payment_methods", {"type": "card", "token": "tok_visa"}
    )

    sub = _subscribe(acme, customer=customer["id"], plan=plan["id"])

    assert sub["object"] == "subscription"
    assert sub["status"] == "trialing"
    assert sub["customer"] == customer["id"]
    assert sub["plan"] == plan["id"]
    assert sub["trial_end"] == "2026-01-24T12:00:00Z"
    assert sub["cancel_at_period_end"] is False

    advanced = acme.client().post(
        f"/api/v1/test_clocks/{clock['id']}/advance", {"frozen_time": "2026-03-01T00:00:00Z"}
    )
    assert advanced.status_code == 200, advanced.json()
    assert advanced.json()["frozen_time"] == "2026-03-01T00:00:00Z"

    sub = acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()
    invoices = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"]
    assert sub["status"] == "active"
    # The trial ends on Jan 24 (first charge), then the Feb 24 renewal.
    assert sorted(i["period_start"] for i in invoices) == [
        "2026-01-24T12:00:00Z",
        "2026-02-24T12:00:00Z",
    ]
    assert {i["billing_reason"] for i in invoices} == {"subscription_cycle"}
    assert {i["status"] for i in invoices} == {"paid"}
    assert all(i["total_minor"] == 10_000 for i in invoices)


def test_bad_subscription_input_creates_nothing(acme: TenantSetup, globex: TenantSetup) -> None:
    plan = catalog(acme)
    customer = _customer(acme)
    their_customer = _customer(globex)
    their_plan = catalog(globex)
    cases = [
        ({"plan": plan["id"]}, 400, "customer"),
        ({"customer": customer["id"]}, 400, "plan"),
        ({"customer": their_customer["id"], "plan": plan["id"]}, 404, "customer"),
        ({"customer": customer["id"], "plan": their_plan["id"]}, 404, "plan"),
        ({"customer": customer["id"], "plan": plan["id"], "quantity": 0}, 400, "quantity"),
        ({"customer": customer["id"], "plan": plan["id"], "quantity": "1"}, 400, "quantity"),
        ({"customer": customer["id"], "plan": plan["id"], "quantity": 1.0}, 400, "quantity"),
        (
            {"customer": customer["id"], "plan": plan["id"], "calendar_billing": "true"},
            400,
            "calendar_billing",
        ),
        ({"customer": 12, "plan": plan["id"]}, 400, "customer"),
        ({"customer": customer["id"], "plan": plan["id"], "quantity": 10**20}, 400, "quantity"),
        ({"customer": customer["id"], "plan": plan["id"], "quantity": 2}, 400, "quantity"),
        ({"customer": customer["id"], "plan": plan["id"], "trial_days": -1}, 400, "trial_days"),
        ({"customer": customer["id"], "plan": plan["id"], "start_at": "soon"}, 400, "start_at"),
        (
            {"customer": customer["id"], "plan": plan["id"], "start_at": "2001-01-01T00:00:00Z"},
            400,
            "start_at",
        ),
        (
            {"customer": customer["id"], "plan": plan["id"], "start_at": "9999-12-30T00:00:00Z"},
            400,
            "start_at",
        ),
        ({"customer": customer["id"], "plan": plan["id"], "coupon": "NOPE"}, 400, "coupon"),
        (
            {"customer": customer["id"], "plan": plan["id"], "payment_method": "pm_nope"},
            404,
            "payment_method",
        ),
        ({"customer": "cus_" + "x" * 200, "plan": plan["id"]}, 400, "customer"),
    ]
    for body, status, param in cases:
        response = acme.client().post("/api/v1/subscriptions", body)
        assert response.status_code == status, (body, response.json())
        assert error(response)["param"] == param, (body, response.json())
    assert counts(acme, Subscription, Invoice) == {"Subscription": 0, "Invoice": 0}
    assert counts(globex, Subscription) == {"Subscription": 0}


def test_preview_then_change_now_with_proration(acme: TenantSetup) -> None:
    basic = catalog(acme, code="basic", amount_minor=10_000)
    pro = catalog(acme, code="pro", amount_minor=20_000)
    clock = _clock(acme, "2026-01-01T15:00:00Z")
    customer = _customer(acme, test_clock=clock["id"])
    sub = _subscribe(
        acme, customer=customer["id"], plan=basic["id"], collection_method="send_invoice"
    )
    acme.client().post(
        f"/api/v1/test_clocks/{clock['id']}/advance", {"frozen_time": "2026-01-16T15:00:00Z"}
    )
    body = {"plan": pro["id"], "proration": "next_invoice"}

    preview = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/preview_change", body)

    assert preview.status_code == 200, preview.json()
    lines = preview.json()["lines"]
    assert preview.json()["object"] == "subscription_change_preview"
    assert [line["plan"] for line in lines] == [basic["id"], pro["id"]]
    assert lines[0]["amount_minor"] < 0 < lines[1]["amount_minor"]
    assert preview.json()["total_minor"] == sum(line["total_minor"] for line in lines)
    assert counts(acme, PendingLine) == {"PendingLine": 0}

    changed = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/change", body)

    assert changed.status_code == 200, changed.json()
    assert changed.json()["plan"] == pro["id"]
    with tenant_context(acme.tenant):
        amounts = sorted(PendingLine.objects.values_list("amount_minor", flat=True))
    assert amounts == sorted(line["amount_minor"] for line in lines)


def test_change_at_period_end_is_shown_as_pending(acme: TenantSetup) -> None:
    plan = catalog(acme, pricing_model="per_seat")
    sub = _subscribe(
        acme, customer=_customer(acme)["id"], plan=plan["id"], collection_method="send_invoice"
    )
    invoice = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"][0]
    acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})

    response = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/change", {"quantity": 3, "when": "period_end"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["quantity"] == 1
    assert response.json()["pending_update"] == {
        "plan": plan["id"],
        "quantity": 3,
        "effective_at": sub["current_period_end"],
    }


def test_cancel_at_period_end_then_reactivate_then_cancel_now(acme: TenantSetup) -> None:
    plan = catalog(acme)
    sub = _subscribe(
        acme, customer=_customer(acme)["id"], plan=plan["id"], collection_method="send_invoice"
    )
    invoice = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"][0]
    paid = acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    assert paid.status_code == 200
    base = f"/api/v1/subscriptions/{sub['id']}"

    scheduled = acme.client().post(f"{base}/cancel", {"at_period_end": True})
    assert scheduled.status_code == 200, scheduled.json()
    assert scheduled.json()["status"] == "active"
    assert scheduled.json()["cancel_at_period_end"] is True
    assert scheduled.json()["cancel_at"] == sub["current_period_end"]

    reactivated = acme.client().post(f"{base}/reactivate", {})
    assert reactivated.status_code == 200
    assert reactivated.json()["cancel_at_period_end"] is False
    again = acme.client().post(f"{base}/reactivate", {})
    assert again.status_code == 409
    assert error(again)["code"] == "no_scheduled_cancellation"

    canceled = acme.client().post(f"{base}/cancel", {})
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    twice = acme.client().post(f"{base}/cancel", {})
    assert twice.status_code == 409
    assert error(twice)["code"] == "subscription_not_changeable"
    change = acme.client().post(f"{base}/change", {"quantity": 2})
    assert change.status_code == 409
    actions = [a for _t, a in audit_actions(acme) if a.startswith("subscription.")]
    assert actions == [
        "subscription.created",
        "subscription.cancel_scheduled",
        "subscription.cancel_undone",
        "subscription.canceled",
    ]


def test_pause_and_resume(acme: TenantSetup) -> None:
    plan = catalog(acme, max_pauses=1, max_pause_cycles=2)
    sub = _subscribe(
        acme, customer=_customer(acme)["id"], plan=plan["id"], collection_method="send_invoice"
    )
    invoice = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()["data"][0]
    acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    base = f"/api/v1/subscriptions/{sub['id']}"

    too_long = acme.client().post(f"{base}/pause", {"cycles": 3})
    paused = acme.client().post(f"{base}/pause", {"cycles": 2})

    assert too_long.status_code == 400
    assert error(too_long)["code"] == "pause_too_long"
    assert paused.status_code == 200, paused.json()
    assert paused.json()["pending_pause"] == {
        "cycles": 2,
        "effective_at": sub["current_period_end"],
    }
    assert acme.client().post(f"{base}/pause", {"cycles": 1}).status_code == 409

    resumed = acme.client().post(f"{base}/resume", {})
    assert resumed.status_code == 200
    assert resumed.json()["pending_pause"] is None
    assert acme.client().post(f"{base}/resume", {}).status_code == 409
    with tenant_context(acme.tenant):
        assert not ScheduledChange.objects.filter(status="pending").exists()


def test_actions_on_another_tenants_subscription_are_404_and_change_nothing(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    plan = catalog(globex, trial_days=10)
    theirs = _subscribe(globex, customer=_customer(globex)["id"], plan=plan["id"])
    mine = catalog(acme, code="mine")

    for action, body in (
        ("cancel", {}),
        ("cancel", {"at_period_end": True}),
        ("pause", {"cycles": 1}),
        ("resume", {}),
        ("reactivate", {}),
        ("change", {"quantity": 2}),
        ("change", {"plan": mine["id"]}),
        ("preview_change", {"quantity": 2}),
        ("pause", {"when": "now"}),
        ("preview_pause", {}),
        ("resume", {"resume_at": "2030-01-01T00:00:00Z"}),
    ):
        response = acme.client().post(f"/api/v1/subscriptions/{theirs['id']}/{action}", body)
        assert response.status_code == 404, (action, response.json())
    assert globex.client().get(f"/api/v1/subscriptions/{theirs['id']}").json() == theirs
    assert counts(globex, ScheduledChange) == {"ScheduledChange": 0}


def test_list_filters(acme: TenantSetup) -> None:
    basic, pro = catalog(acme, code="basic", trial_days=5), catalog(acme, code="pro")
    ana, bob = _customer(acme), _customer(acme, name="Bob")
    a = _subscribe(acme, customer=ana["id"], plan=basic["id"])
    b = _subscribe(acme, customer=bob["id"], plan=pro["id"], collection_method="send_invoice")

    def ids(**params: str) -> list[str]:
        response = acme.client().get("/api/v1/subscriptions", params)
        assert response.status_code == 200, response.json()
        return [s["id"] for s in response.json()["data"]]

    assert ids() == [b["id"], a["id"]]
    assert ids(customer=ana["id"]) == [a["id"]]
    assert ids(plan=pro["id"]) == [b["id"]]
    assert ids(status="trialing") == [a["id"]]
    assert ids(customer="cus_unknown") == []
    assert ids(customer="garbage!") == []
    assert ids(**{"created[gte]": b["created"]}) == [b["id"]]
    assert ids(**{"created[lte]": a["created"]}) == [a["id"]]
    bad = acme.client().get("/api/v1/subscriptions", {"status": "sleeping"})
    assert bad.status_code == 400
    assert error(bad)["param"] == "status"
    bad_time = acme.client().get("/api/v1/subscriptions", {"created[gte]": "yesterday"})
    assert bad_time.status_code == 400
    assert error(bad_time)["param"] == "created[gte]"
