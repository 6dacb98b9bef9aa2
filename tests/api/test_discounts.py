"""Coupons on live subscriptions and customers over the API: apply, remove,
shown in the objects, bad input and other tenants' ids."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Coupon, CouponRedemption, Invoice
from tests.api.helpers import counts, error
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _coupon(setup: TenantSetup, code: str, **body: Any) -> dict[str, Any]:
    default = {} if "amount_off_minor" in body else {"percent_off": 20}
    body = {"code": code, **default, **body}
    response = setup.client().post("/api/v1/coupons", body)
    assert response.status_code == 201, response.json()
    return response.json()


def _live_sub(setup: TenantSetup, plan_code: str = "basic") -> dict[str, Any]:
    plan = catalog(setup, code=plan_code)
    return _subscribe(
        setup,
        customer=_customer(setup)["id"],
        plan=plan["id"],
        collection_method="send_invoice",
    )


def test_apply_and_remove_on_a_subscription(acme: TenantSetup) -> None:
    sub = _live_sub(acme)
    _coupon(acme, "TWENTY", duration="forever")
    base = f"/api/v1/subscriptions/{sub['id']}/discount"

    applied = acme.client().post(base, {"coupon": "TWENTY"})

    assert applied.status_code == 200, applied.json()
    discount = applied.json()["discount"]
    assert discount["object"] == "discount"
    assert discount["coupon"] == "TWENTY"
    assert discount["subscription"] == sub["id"]
    assert discount["cycles_left"] is None
    assert discount["carried_minor"] == 0
    assert acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()["discount"] == discount
    # From the next invoice: nothing invoiced now
    assert counts(acme, Invoice) == {"Invoice": 1}

    removed = acme.client().delete(base)

    assert removed.status_code == 200, removed.json()
    assert removed.json()["discount"] is None
    assert counts(acme, CouponRedemption) == {"CouponRedemption": 1}  # history kept
    # Removing again changes nothing
    assert acme.client().delete(base).json()["discount"] is None


def test_apply_now_invoices_the_proration_at_once(acme: TenantSetup) -> None:
    sub = _live_sub(acme)
    _coupon(acme, "HALF", percent_off=50)

    response = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/discount", {"coupon": "HALF", "proration": "now"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["discount"]["cycles_left"] == 0  # the current period was its cycle
    with_update = acme.client().get("/api/v1/invoices", {"subscription": sub["id"]}).json()
    reasons = sorted(i["billing_reason"] for i in with_update["data"])
    assert reasons == ["subscription_create", "subscription_update"]


def test_apply_and_remove_on_a_customer(acme: TenantSetup) -> None:
    customer = _customer(acme)
    _coupon(acme, "LOYAL", duration="repeating", duration_cycles=3)
    base = f"/api/v1/customers/{customer['id']}/discount"

    applied = acme.client().post(base, {"coupon": "LOYAL"})

    assert applied.status_code == 200, applied.json()
    discount = applied.json()["discount"]
    assert (discount["coupon"], discount["subscription"], discount["cycles_left"]) == (
        "LOYAL",
        None,
        3,
    )
    assert acme.client().get(f"/api/v1/customers/{customer['id']}").json()["discount"] == discount
    listed = acme.client().get("/api/v1/customers").json()["data"]
    assert [c["discount"] for c in listed] == [discount]

    removed = acme.client().delete(base)

    assert removed.status_code == 200, removed.json()
    assert removed.json()["discount"] is None


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"coupon": "NOPE"}, "coupon", "coupon_invalid"),
        ({"coupon": "OLD"}, "coupon", "coupon_expired"),
        ({"coupon": "OTHERPLAN"}, "coupon", "coupon_not_applicable"),
        ({"coupon": "THEIRS"}, "coupon", "coupon_invalid"),
        ({"coupon": "USD5"}, "coupon", "coupon_not_applicable"),
        ({"coupon": "FIRST"}, "coupon", "coupon_not_applicable"),
        ({"coupon": "TWENTY", "proration": "later"}, "proration", None),
        ({"coupon": 12}, "coupon", None),
        ({"coupon": ["TWENTY"]}, "coupon", None),
        ({}, "coupon", None),
        ({"coupon": "TWENTY", "extra": 1}, "extra", None),
    ],
)
def test_bad_input_on_a_subscription_changes_nothing(
    acme: TenantSetup,
    globex: TenantSetup,
    body: dict[str, Any],
    param: str,
    code: str | None,
) -> None:
    sub = _live_sub(acme)
    _coupon(acme, "TWENTY")
    _coupon(acme, "OLD", redeem_by="2020-01-01T00:00:00Z")
    _coupon(acme, "OTHERPLAN", plan_codes=["gold"])
    _coupon(acme, "USD5", amount_off_minor=500, currency="USD")
    _coupon(acme, "FIRST", first_purchase_only=True)
    _coupon(globex, "THEIRS")

    response = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/discount", body)

    assert response.status_code == 400, response.json()
    err = error(response)
    assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    assert counts(acme, CouponRedemption, Invoice) == {"CouponRedemption": 0, "Invoice": 1}
    with_counts = counts(acme, Coupon)
    assert with_counts == {"Coupon": 5}
    assert acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()["discount"] is None


def test_bad_input_on_a_customer_changes_nothing(acme: TenantSetup, globex: TenantSetup) -> None:
    customer = _customer(acme)
    _coupon(acme, "ONE", max_redemptions=1)
    _coupon(globex, "THEIRS")
    other = _customer(acme, name="Bia")
    assert (
        acme.client()
        .post(f"/api/v1/customers/{other['id']}/discount", {"coupon": "ONE"})
        .status_code
        == 200
    )
    base = f"/api/v1/customers/{customer['id']}/discount"

    for body, code in (
        ({"coupon": "THEIRS"}, "coupon_invalid"),
        ({"coupon": "ONE"}, "coupon_exhausted"),
        ({"coupon": None}, None),
        ({"coupon": "ONE", "proration": "now"}, None),
    ):
        response = acme.client().post(base, body)
        assert response.status_code == 400, (body, response.json())
        if code is not None:
            assert error(response)["code"] == code
    assert counts(acme, CouponRedemption) == {"CouponRedemption": 1}
    assert acme.client().get(f"/api/v1/customers/{customer['id']}").json()["discount"] is None


def test_a_canceled_subscription_takes_no_discount(acme: TenantSetup) -> None:
    sub = _live_sub(acme)
    _coupon(acme, "TWENTY")
    acme.client().post(f"/api/v1/subscriptions/{sub['id']}/cancel", {})

    url = f"/api/v1/subscriptions/{sub['id']}/discount"
    response = acme.client().post(url, {"coupon": "TWENTY"})

    assert response.status_code == 409, response.json()
    assert error(response)["code"] == "subscription_not_changeable"
    assert counts(acme, CouponRedemption) == {"CouponRedemption": 0}


def test_another_tenants_subscription_and_customer_are_404(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    theirs = _live_sub(globex)
    their_customer = _customer(globex)
    _coupon(acme, "TWENTY")
    _coupon(globex, "TWENTY")

    for method, url in (
        ("post", f"/api/v1/subscriptions/{theirs['id']}/discount"),
        ("delete", f"/api/v1/subscriptions/{theirs['id']}/discount"),
        ("post", f"/api/v1/customers/{their_customer['id']}/discount"),
        ("delete", f"/api/v1/customers/{their_customer['id']}/discount"),
    ):
        response = getattr(acme.client(), method)(url, {"coupon": "TWENTY"})
        assert response.status_code == 404, (method, url, response.json())
    assert counts(globex, CouponRedemption) == {"CouponRedemption": 0}
