"""Changing the payment method of a live subscription over the API."""

from __future__ import annotations

from typing import Any

import pytest

from subscriptions.models import Subscription
from tenants.context import tenant_context
from tests.api.helpers import audit_actions, error
from tests.api.test_subscriptions import _customer, _subscribe, catalog
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _method(setup: TenantSetup, customer: str, kind: str = "pix") -> dict[str, Any]:
    response = setup.client().post(f"/api/v1/customers/{customer}/payment_methods", {"type": kind})
    assert response.status_code == 201, response.json()
    return response.json()


def _stored_method(setup: TenantSetup, sub_id: str) -> str | None:
    with tenant_context(setup.tenant):
        sub = Subscription.objects.select_related("payment_method").get(public_id=sub_id)
        return sub.payment_method.public_id if sub.payment_method else None


def test_set_and_clear_the_payment_method(acme: TenantSetup) -> None:
    plan = catalog(acme, trial_days=10)
    customer = _customer(acme)["id"]
    first = _method(acme, customer)
    second = _method(acme, customer)
    sub = _subscribe(acme, customer=customer, plan=plan["id"])
    assert sub["payment_method"] is None
    url = f"/api/v1/subscriptions/{sub['id']}/payment_method"

    response = acme.client().post(url, {"payment_method": second["id"]})
    assert response.status_code == 200, response.json()
    assert response.json()["object"] == "subscription"
    assert response.json()["payment_method"] == second["id"]
    assert _stored_method(acme, sub["id"]) == second["id"]
    assert (
        acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()["payment_method"]
        == (second["id"])
    )

    response = acme.client().post(url, {"payment_method": first["id"]})
    assert response.json()["payment_method"] == first["id"]

    response = acme.client().post(url, {"payment_method": None}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["payment_method"] is None
    assert _stored_method(acme, sub["id"]) is None
    changed = [a for _t, a in audit_actions(acme) if a == "subscription.payment_method_changed"]
    assert len(changed) == 3


def test_refused_methods_change_nothing(acme: TenantSetup, globex: TenantSetup) -> None:
    plan = catalog(acme, trial_days=10)
    customer = _customer(acme)["id"]
    mine = _method(acme, customer)
    other_customer = _customer(acme, name="Bia")["id"]
    someone_elses = _method(acme, other_customer)
    detached = _method(acme, customer)
    gone = acme.client().delete(f"/api/v1/customers/{customer}/payment_methods/{detached['id']}")
    assert gone.status_code == 200, gone.json()
    their_method = _method(globex, _customer(globex)["id"])
    sub = _subscribe(acme, customer=customer, plan=plan["id"], payment_method=mine["id"])
    url = f"/api/v1/subscriptions/{sub['id']}/payment_method"
    before = acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json()
    audit_before = audit_actions(acme)

    cases = [
        ({"payment_method": someone_elses["id"]}, 404),
        ({"payment_method": detached["id"]}, 404),
        ({"payment_method": their_method["id"]}, 404),
        ({"payment_method": "pm_nope"}, 404),
        ({"payment_method": 12}, 400),
        ({"payment_method": True}, 400),
        ({"payment_method": [mine["id"]]}, 400),
        ({}, 400),
        ({"payment_method": mine["id"], "extra": 1}, 400),
    ]
    for body, status in cases:
        response = acme.client().post(url, body, format="json")
        assert response.status_code == status, (body, response.json())
        assert error(response)["param"] in ("payment_method", "extra"), (body, response.json())
    assert acme.client().get(f"/api/v1/subscriptions/{sub['id']}").json() == before
    assert _stored_method(acme, sub["id"]) == mine["id"]
    assert audit_actions(acme) == audit_before


def test_ended_subscription_is_refused(acme: TenantSetup) -> None:
    plan = catalog(acme, trial_days=10)
    customer = _customer(acme)["id"]
    method = _method(acme, customer)
    sub = _subscribe(acme, customer=customer, plan=plan["id"])
    canceled = acme.client().post(f"/api/v1/subscriptions/{sub['id']}/cancel", {})
    assert canceled.status_code == 200, canceled.json()
    assert canceled.json()["status"] in ("canceled", "ended")

    response = acme.client().post(
        f"/api/v1/subscriptions/{sub['id']}/payment_method", {"payment_method": method["id"]}
    )
    assert response.status_code == 409, response.json()
    assert error(response)["code"] == "subscription_not_changeable"
    assert _stored_method(acme, sub["id"]) is None


def test_another_tenants_subscription_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    plan = catalog(globex, trial_days=10)
    their_customer = _customer(globex)["id"]
    their_method = _method(globex, their_customer)
    theirs = _subscribe(globex, customer=their_customer, plan=plan["id"])
    my_method = _method(acme, _customer(acme)["id"])

    for body in ({"payment_method": their_method["id"]}, {"payment_method": my_method["id"]}):
        response = acme.client().post(f"/api/v1/subscriptions/{theirs['id']}/payment_method", body)
        assert response.status_code == 404, response.json()
    assert _stored_method(globex, theirs["id"]) is None
