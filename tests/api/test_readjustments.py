"""Readjustment over the API: index series and values, policies, the due list,
applying, the subscription's history; bad input and other tenants' ids."""

from __future__ import annotations

from typing import Any

import pytest

from subscriptions.models import IndexSeries, IndexValue, Readjustment, ReadjustmentPolicy
from tenants.models import Event
from tests.api.helpers import counts, error
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

# IPCA 2023 (IBGE), percent per month; compounded +4.62 %.
IPCA_2023 = ["0.53", "0.84", "0.71", "0.61", "0.23", "-0.08"]
IPCA_2023 += ["0.12", "0.23", "0.26", "0.24", "0.28", "0.56"]
MODELS = (IndexSeries, IndexValue, ReadjustmentPolicy, Readjustment)


def _series(setup: TenantSetup) -> dict[str, Any]:
    response = setup.client().post(
        "/api/v1/index_series", {"kind": "ipca", "name": "IPCA"}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _values(setup: TenantSetup, series_id: str, body: Any) -> Any:
    return setup.client().post(f"/api/v1/index_series/{series_id}/values", body, format="json")


def test_series_and_values(acme: TenantSetup) -> None:
    series = _series(acme)
    assert (series["object"], series["kind"], series["name"]) == ("index_series", "ipca", "IPCA")
    body = {"values": [{"month": f"2023-{m:02d}", "rate": r} for m, r in enumerate(IPCA_2023, 1)]}
    response = _values(acme, series["id"], body)
    assert response.status_code == 200, response.json()
    got = acme.client().get(f"/api/v1/index_series/{series['id']}/values").json()
    assert [(v["month"], v["rate"]) for v in got["data"]][:6:5] == [
        ("2023-01", "0.5300"),
        ("2023-06", "-0.0800"),
    ]
    assert len(got["data"]) == 12
    # A month sent again replaces its rate.
    assert (
        _values(acme, series["id"], {"values": [{"month": "2023-01", "rate": 0.6}]}).status_code
        == 200
    )
    with_new = acme.client().get(f"/api/v1/index_series/{series['id']}/values").json()["data"]
    assert with_new[0] == {"month": "2023-01", "rate": "0.6000"}
    listed = acme.client().get("/api/v1/index_series").json()
    assert [s["id"] for s in listed["data"]] == [series["id"]]


@pytest.mark.parametrize(
    ("_case", "body"),
    [
        ("a 13th month", {"values": [{"month": "2023-13", "rate": "0.5"}]}),
        ("a month as a number", {"values": [{"month": 202301, "rate": "0.5"}]}),
        ("a rate that is not a number", {"values": [{"month": "2023-01", "rate": "abc"}]}),
        ("a rate as a list", {"values": [{"month": "2023-01", "rate": [1]}]}),
        ("an absurd rate", {"values": [{"month": "2023-01", "rate": "250"}]}),
        ("values not a list", {"values": "2023-01=0.5"}),
        ("no values", {"values": []}),
        (
            "a month twice",
            {"values": [{"month": "2023-01", "rate": "1"}, {"month": "2023-01", "rate": "2"}]},
        ),
        ("an unknown field", {"values": [{"month": "2023-01", "rate": "1", "x": 1}]}),
    ],
)
def test_bad_values_change_nothing(acme: TenantSetup, _case: str, body: Any) -> None:
    series = _series(acme)
    before = counts(acme, *MODELS)
    response = _values(acme, series["id"], body)
    assert response.status_code == 400, response.json()
    assert error(response)["type"] == "invalid_request_error"
    assert counts(acme, *MODELS) == before


def test_bad_series(acme: TenantSetup) -> None:
    for body in (
        {"kind": "selic", "name": "X"},
        {"kind": "ipca", "name": ""},
        {"kind": 1, "name": "X"},
    ):
        response = acme.client().post("/api/v1/index_series", body, format="json")
        assert response.status_code == 400, (body, response.json())
    assert counts(acme, IndexSeries) == {"IndexSeries": 0}


def test_another_tenants_series_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    series = _series(acme)
    before = counts(acme, *MODELS)
    for method, url, body in (
        ("get", f"/api/v1/index_series/{series['id']}", None),
        ("get", f"/api/v1/index_series/{series['id']}/values", None),
        (
            "post",
            f"/api/v1/index_series/{series['id']}/values",
            {"values": [{"month": "2023-01", "rate": "1"}]},
        ),
    ):
        call = getattr(globex.client(), method)
        response = call(url, body, format="json") if body else call(url)
        assert response.status_code == 404, (url, response.json())
        assert error(response)["code"] == "resource_missing"
    # Nor may a policy of globex name acme's series.
    plan = catalog(globex)
    response = globex.client().post(
        "/api/v1/readjustment_policies",
        {"plan": plan["id"], "method": "index", "index_series": series["id"]},
        format="json",
    )
    assert response.status_code == 404
    assert error(response)["param"] == "index_series"
    assert counts(acme, *MODELS) == before
    assert counts(globex, ReadjustmentPolicy) == {"ReadjustmentPolicy": 0}


def test_policy_due_list_apply_and_history(acme: TenantSetup, globex: TenantSetup) -> None:
    plan = catalog(acme)
    bad = acme.client().post(
        "/api/v1/readjustment_policies",
        {
            "plan": plan["id"],
            "method": "fixed",
            "fixed_percent": "5",
            "floor_percent": "6",
            "cap_percent": "4",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert error(bad)["param"] == "cap_percent"
    for body in (
        {
            "plan": plan["id"],
            "method": "fixed",
            "fixed_percent": "5",
            "period": "fixed_month",
            "month": 13,
        },
        {"plan": plan["id"], "method": "fixed", "fixed_percent": "five"},
        {"plan": plan["id"], "method": "fixed", "notice_days": "30 days"},
        {"plan": plan["id"], "method": "index"},  # no series
    ):
        assert (
            acme.client().post("/api/v1/readjustment_policies", body, format="json").status_code
            == 400
        ), body
    assert counts(acme, ReadjustmentPolicy) == {"ReadjustmentPolicy": 0}
    response = acme.client().post(
        "/api/v1/readjustment_policies",
        {"plan": plan["id"], "method": "fixed", "fixed_percent": "5", "cap_percent": "10"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["plan_code"], response.json()["notice_days"]) == ("basic", 30)

    customer = _customer(acme)
    sub = _subscribe(
        acme, customer=customer["id"], plan=plan["id"], collection_method="send_invoice"
    )
    assert (sub["unit_amount"], sub["readjustments"]) == (10_000, [])
    assert acme.client().get("/api/v1/readjustments/due?days=abc").status_code == 400
    assert acme.client().get("/api/v1/readjustments/due?days=30").json()["data"] == []
    [row] = acme.client().get("/api/v1/readjustments/due?days=366").json()["data"]
    assert (row["subscription"], row["old_amount"], row["factor"], row["new_amount"]) == (
        sub["id"],
        10_000,
        "0.05000000",
        10_500,
    )
    assert row["readjustment"] is None

    # Another tenant's subscription cannot be applied: 404, nothing decided.
    foreign = globex.client().post(
        "/api/v1/readjustments/apply", {"subscriptions": [sub["id"]]}, format="json"
    )
    assert foreign.status_code == 404
    assert counts(acme, Readjustment) == {"Readjustment": 0}

    applied = acme.client().post(
        "/api/v1/readjustments/apply", {"subscriptions": [sub["id"]]}, format="json"
    )
    assert applied.status_code == 200, applied.json()
    [rdj] = applied.json()["data"]
    assert (rdj["old_amount"], rdj["new_amount"], rdj["status"]) == (10_000, 10_500, "scheduled")
    # Applied twice: the same one, no second notice.
    again = acme.client().post(
        "/api/v1/readjustments/apply", {"subscriptions": [sub["id"]]}, format="json"
    )
    assert [r["id"] for r in again.json()["data"]] == [rdj["id"]]
    from tenants.context import tenant_context

    with tenant_context(acme.tenant):
        assert Event.objects.filter(type="subscription.price_change_scheduled").count() == 1
    fresh = acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()
    assert [(r["id"], r["new_amount"]) for r in fresh["readjustments"]] == [(rdj["id"], 10_500)]
    assert fresh["unit_amount"] == 10_000  # from the next period after its date
    assert acme.client().get(f"/api/v1/readjustments/{rdj['id']}").json()["new_amount"] == 10_500
    assert globex.client().get(f"/api/v1/readjustments/{rdj['id']}").status_code == 404
    assert globex.client().get("/api/v1/readjustments/due?days=366").json()["data"] == []


# --- add-ons (applies_to) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "applies_to"),
    [
        ("unknown", "everything"),
        ("empty", ""),
        ("a number", 5),
        ("a list", ["recurring"]),
        ("a boolean", True),
        ("an object", {"recurring": True}),
        ("null", None),
    ],
)
def test_a_bad_applies_to_is_refused_and_nothing_changes(
    acme: TenantSetup, _case: str, applies_to: Any
) -> None:
    plan = catalog(acme)
    body = {"plan": plan["id"], "method": "fixed", "fixed_percent": "5"}
    assert (
        acme.client().post("/api/v1/readjustment_policies", body, format="json").status_code == 201
    )
    before = acme.client().get("/api/v1/readjustment_policies").json()["data"]

    response = acme.client().post(
        "/api/v1/readjustment_policies",
        {**body, "fixed_percent": "9", "applies_to": applies_to},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == "applies_to"
    assert acme.client().get("/api/v1/readjustment_policies").json()["data"] == before
    assert [p["applies_to"] for p in before] == ["recurring"]


def test_a_policy_covering_add_ons_lists_them_with_the_totals(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    plan = catalog(acme)
    storage = catalog(acme, "storage", amount_minor=3_100, pricing_model="per_seat")
    response = acme.client().post(
        "/api/v1/readjustment_policies",
        {
            "plan": plan["id"],
            "method": "fixed",
            "fixed_percent": "5",
            "applies_to": "recurring_and_add_ons",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["applies_to"] == "recurring_and_add_ons"
    sub = _subscribe(
        acme, customer=_customer(acme)["id"], plan=plan["id"], collection_method="send_invoice"
    )
    added = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/items",
        {"plan": storage["id"], "quantity": 2, "proration": "none"},
        format="json",
    )
    assert added.status_code == 201, added.json()
    item = added.json()

    # 10 000 × 1.05 = 10 500; Storage 3 100 × 1.05 = 3 255 a seat. Totals:
    # 10 000 + 2 × 3 100 = 16 200 before, 10 500 + 2 × 3 255 = 17 010 after.
    [row] = acme.client().get("/api/v1/readjustments/due?days=366").json()["data"]
    applied = acme.client().post(
        "/api/v1/readjustments/apply", {"subscriptions": [sub["id"]]}, format="json"
    )
    [rdj] = applied.json()["data"]
    fetched = acme.client().get(f"/api/v1/readjustments/{rdj['id']}").json()
    [after] = acme.client().get("/api/v1/readjustments/due?days=366").json()["data"]
    items = acme.client().get(f"/api/v1/subscriptions/{sub['id']}/items").json()

    add_on = {
        "item": item["id"],
        "plan": "storage",
        "quantity": 2,
        "old_amount": 3_100,
        "new_amount": 3_255,
    }
    assert (row["new_amount"], row["add_ons"], row["old_total"], row["new_total"]) == (
        10_500,
        [add_on],
        16_200,
        17_010,
    )
    assert (rdj["new_amount"], rdj["add_ons"]) == (10_500, [add_on])
    assert fetched == rdj
    assert (after["readjustment"], after["add_ons"], after["new_total"]) == (
        rdj["id"],
        [add_on],
        17_010,
    )
    # From the next period after its date; until then the list price.
    assert [i["unit_amount"] for i in items["data"]] == [3_100]
    assert globex.client().get(f"/api/v1/readjustments/{rdj['id']}").status_code == 404
