"""Bad input on the issue 16 actions over the API, where the neighbouring files
leave gaps: an interval change to a plan in another currency, quantities of 0
and 10**9 on a change, on an add-on's update and on the items of a new
subscription, expired and other-plan coupons put on a customer, pausing a
canceled subscription at the period end. Each is a 4xx with the error shape
(type, code, message, param) and nothing changed: every watched table's count,
the coupons' redemptions and the subscription as the API shows it are the same
before and after."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Coupon, CouponRedemption, CreditNote, Invoice, PendingLine
from subscriptions.models import ScheduledChange, Subscription, SubscriptionItem
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event
from tests.api.helpers import counts, error
from tests.api.test_discounts import _coupon
from tests.api.test_subscription_interval_pause import _monthly_on_a_clock
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

WATCHED = (
    Subscription,
    SubscriptionItem,
    Invoice,
    CreditNote,
    PendingLine,
    ScheduledChange,
    CouponRedemption,
    AuditEntry,
    Event,
)


def _state(setup: TenantSetup, *, sub: dict[str, Any] | None = None, customer: str = "") -> Any:
    """What a refused call must leave as it was."""
    with tenant_context(setup.tenant):
        coupons = sorted(Coupon.objects.values_list("code", "times_redeemed"))
    return (
        counts(setup, *WATCHED),
        coupons,
        setup.client().get(f"/api/v1/subscriptions/{sub['id']}").json() if sub else None,
        setup.client().get(f"/api/v1/customers/{customer}").json() if customer else None,
    )


def _refused(response: Any, status: int, param: str, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.json()
    err = error(response)
    assert err["param"] == param, err
    assert err["message"], err
    if code is not None:
        assert err["code"] == code, err
    return err


# --- a change to a plan in another currency ------------------------------------------


@pytest.mark.parametrize(
    ("plan", "extra"),
    [
        pytest.param(
            {"interval": "year", "amount_minor": 100_000}, {"anchor": "reset"}, id="reset"
        ),
        pytest.param({"interval": "year", "amount_minor": 100_000}, {"anchor": "keep"}, id="keep"),
        pytest.param(
            {"interval": "month", "interval_count": 3, "amount_minor": 27_000}, {}, id="quarter"
        ),
        # The same interval, another currency: refused the same way.
        pytest.param({"amount_minor": 2_000}, {"proration": "invoice_now"}, id="same-interval"),
    ],
)
def test_a_change_to_a_plan_in_another_currency_changes_nothing(
    acme: TenantSetup, plan: dict[str, Any], extra: dict[str, Any]
) -> None:
    sub, _clock = _monthly_on_a_clock(acme)  # BRL, monthly, mid-period
    usd = catalog(acme, code="usd", currency="USD", **plan)
    before = _state(acme, sub=sub)

    for action in ("preview_change", "change"):
        response = acme.client().post(
            f"/api/v1/subscriptions/{sub['id']}/{action}", {"plan": usd["id"], **extra}
        )
        err = _refused(response, 400, "plan", "plan_currency_mismatch")
        assert "BRL" in err["message"]
        assert "USD" in err["message"]

    assert _state(acme, sub=sub) == before


# --- quantities of 0 and 10**9 -------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, 10**9])
def test_a_plan_change_to_quantity_zero_or_a_billion_changes_nothing(
    acme: TenantSetup, quantity: int
) -> None:
    sub, _clock = _monthly_on_a_clock(acme, pricing_model="per_seat")
    before = _state(acme, sub=sub)

    for action in ("preview_change", "change"):
        for extra in ({}, {"when": "period_end"}, {"proration": "invoice_now"}):
            response = acme.client().post(
                f"/api/v1/subscriptions/{sub['id']}/{action}", {"quantity": quantity, **extra}
            )
            _refused(response, 400, "quantity")

    assert _state(acme, sub=sub) == before


@pytest.mark.parametrize("quantity", [0, 10**9])
def test_an_addon_updated_to_quantity_zero_or_a_billion_changes_nothing(
    acme: TenantSetup, quantity: int
) -> None:
    sub, _clock = _monthly_on_a_clock(acme)
    seats = catalog(acme, code="seats", amount_minor=1_000, pricing_model="per_seat")
    added = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/items", {"plan": seats["id"], "quantity": 2}
    )
    assert added.status_code == 201, added.json()
    item = f"/api/v1/subscriptions/{sub['id']}/items/{added.json()['id']}"
    before = _state(acme, sub=sub)

    for url in (f"{item}/preview", item):
        _refused(acme.client().post(url, {"quantity": quantity}), 400, "quantity")

    after = _state(acme, sub=sub)
    assert after == before
    assert [i["quantity"] for i in after[2]["items"]] == [2]


@pytest.mark.parametrize("quantity", [0, 10**9])
def test_a_new_subscription_with_quantity_zero_or_a_billion_creates_nothing(
    acme: TenantSetup, quantity: int
) -> None:
    seats = catalog(acme, code="seats", amount_minor=1_000, pricing_model="per_seat")
    storage = catalog(acme, code="storage", amount_minor=500, pricing_model="per_seat")
    customer = _customer(acme)
    before = _state(acme, customer=customer["id"])

    # The base plan's quantity, then an add-on's
    base = {"customer": customer["id"], "plan": seats["id"]}
    _refused(
        acme.client().post("/api/v1/subscriptions", {**base, "quantity": quantity}), 400, "quantity"
    )
    with_item = acme.client().post(
        "/api/v1/subscriptions",
        {**base, "items": [{"plan": storage["id"], "quantity": quantity}]},
        format="json",
    )
    assert with_item.status_code == 400, with_item.json()
    assert error(with_item)["param"].startswith("items"), with_item.json()

    assert _state(acme, customer=customer["id"]) == before
    assert counts(acme, Subscription) == {"Subscription": 0}


# --- coupons put on a customer -------------------------------------------------------


@pytest.mark.parametrize(
    ("coupon", "code"),
    [
        pytest.param("OLD", "coupon_expired", id="expired"),
        # Their only live subscription is on "basic"; this one is for "gold".
        pytest.param("GOLDONLY", "coupon_not_applicable", id="other-plan"),
        # Their subscriptions bill in BRL; this takes USD 5 off.
        pytest.param("USD5", "coupon_not_applicable", id="other-currency"),
    ],
)
def test_a_coupon_the_customer_cannot_use_is_refused_on_the_customer(
    acme: TenantSetup, coupon: str, code: str
) -> None:
    sub = _subscribe(
        acme,
        customer=_customer(acme)["id"],
        plan=catalog(acme, code="basic")["id"],
        collection_method="send_invoice",
    )
    _coupon(acme, "OLD", redeem_by="2020-01-01T00:00:00Z")
    _coupon(acme, "GOLDONLY", plan_codes=["gold"])
    _coupon(acme, "USD5", amount_off_minor=500, currency="USD")
    url = f"/api/v1/customers/{sub['customer']}/discount"
    before = _state(acme, sub=sub, customer=sub["customer"])

    _refused(acme.client().post(url, {"coupon": coupon}), 400, "coupon", code)

    after = _state(acme, sub=sub, customer=sub["customer"])
    assert after == before
    assert after[3]["discount"] is None


def test_a_plan_coupon_fits_a_customer_with_that_plan_or_no_subscription_yet(
    acme: TenantSetup,
) -> None:
    # The refusal above is about the customer's live subscriptions: with one on
    # "gold", or none yet (for the ones to come), the coupon is taken.
    gold = catalog(acme, code="gold")
    _coupon(acme, "GOLDONLY", plan_codes=["gold"])
    with_gold = _subscribe(
        acme, customer=_customer(acme)["id"], plan=gold["id"], collection_method="send_invoice"
    )
    newcomer = _customer(acme, name="Bia")

    for customer in (with_gold["customer"], newcomer["id"]):
        response = acme.client().post(
            f"/api/v1/customers/{customer}/discount", {"coupon": "GOLDONLY"}
        )
        assert response.status_code == 200, response.json()
        assert response.json()["discount"]["coupon"] == "GOLDONLY"
    assert counts(acme, CouponRedemption) == {"CouponRedemption": 2}


def test_a_coupon_on_a_canceled_subscriptions_customer_is_not_judged_by_it(
    acme: TenantSetup,
) -> None:
    # Only live subscriptions count: a customer whose "basic" subscription was
    # canceled may take a "gold" coupon for what they buy next.
    sub = _subscribe(
        acme,
        customer=_customer(acme)["id"],
        plan=catalog(acme, code="basic")["id"],
        collection_method="send_invoice",
    )
    assert acme.client().post(f"/api/v1/subscriptions/{sub['id']}/cancel", {}).status_code == 200
    _coupon(acme, "GOLDONLY", plan_codes=["gold"])

    response = acme.client().post(
        f"/api/v1/customers/{sub['customer']}/discount", {"coupon": "GOLDONLY"}
    )

    assert response.status_code == 200, response.json()


# --- pausing a canceled subscription -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="default"),
        pytest.param({"cycles": 1}, id="at-period-end"),
        pytest.param({"when": "now", "unused": "carry"}, id="now-carry"),
    ],
)
def test_pausing_a_canceled_subscription_changes_nothing(
    acme: TenantSetup, body: dict[str, Any]
) -> None:
    sub, _clock = _monthly_on_a_clock(acme, max_pauses=2, max_pause_cycles=3)
    assert acme.client().post(f"/api/v1/subscriptions/{sub['id']}/cancel", {}).status_code == 200
    before = _state(acme, sub=sub)

    response = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/pause", body)

    _refused(response, 409, None, "subscription_not_pausable")
    after = _state(acme, sub=sub)
    assert after == before
    assert after[2]["status"] == "canceled"
