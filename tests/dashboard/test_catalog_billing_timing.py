"""The plan form's billing timing (issue 16, item 6): chosen when a plan is
created, shown on its page, changeable only while nothing uses the plan; bad
input shown next to the field with nothing saved."""

from __future__ import annotations

from subscriptions.models import Plan
from tenants.context import tenant_context
from tests.conftest import TenantSetup
from tests.dashboard.test_catalog import (
    _edit_body,
    _errors_of,
    _owner,
    _plan,
    _plan_body,
    _product,
    _subscribe,
)


def test_a_plan_billed_in_arrears_is_created_and_shown(acme: TenantSetup) -> None:
    product = _product(acme)

    response = _owner(acme).post(
        "/dashboard/catalog/plans/new/", _plan_body(product, billing_timing="in_arrears")
    )

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(tenant=acme.tenant)
    assert plan.billing_timing == "in_arrears"
    page = _owner(acme).get(f"/dashboard/catalog/plans/{plan.public_id}/").content.decode()
    assert 'data-testid="plan-billing-timing">In arrears (at the end of each period)<' in page


def test_a_plan_form_without_a_timing_bills_in_advance(acme: TenantSetup) -> None:
    product = _product(acme)
    form = _owner(acme).get("/dashboard/catalog/plans/new/").content.decode()
    assert 'name="billing_timing"' in form

    response = _owner(acme).post("/dashboard/catalog/plans/new/", _plan_body(product))

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        assert Plan.objects.get(tenant=acme.tenant).billing_timing == "in_advance"


def test_a_bad_timing_is_refused_next_to_the_field(acme: TenantSetup) -> None:
    product = _product(acme)

    response = _owner(acme).post(
        "/dashboard/catalog/plans/new/", _plan_body(product, billing_timing="monthly")
    )

    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), "billing_timing")
    with tenant_context(acme.tenant):
        assert not Plan.objects.filter(tenant=acme.tenant).exists()


def test_an_unused_plan_changes_its_timing(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))

    response = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/edit/",
        _edit_body(billing_timing="in_arrears"),
    )

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert plan.billing_timing == "in_arrears"


def test_a_subscribed_plan_keeps_its_timing(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    _subscribe(acme, plan, "Ana")

    response = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/edit/", _edit_body(billing_timing="in_arrears")
    )

    assert response.status_code == 400
    errors = _errors_of(response.content.decode(), "billing_timing")
    assert "cannot change" in errors
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert (plan.billing_timing, plan.name, plan.trial_days) == ("in_advance", "Mensal", 0)
