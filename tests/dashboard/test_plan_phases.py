"""The plan form's introductory phase (issue 16, item 5): created, shown on the
plan's page, and bad input shown next to its field with nothing saved."""

from __future__ import annotations

import pytest

from subscriptions.models import Plan
from tenants.context import tenant_context
from tests.conftest import TenantSetup
from tests.dashboard.test_catalog import _count, _errors_of, _owner, _plan_body, _product

pytestmark = pytest.mark.django_db


def test_a_plan_is_created_with_an_intro_phase_and_shows_it(acme: TenantSetup) -> None:
    product = _product(acme)
    body = _plan_body(product, amount="49,90", intro_amount="9,90", intro_cycles="3")
    client = _owner(acme, "pt-br")

    response = client.post("/dashboard/catalog/plans/new/", body)

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(tenant=acme.tenant)
    assert (plan.amount_minor, plan.intro_amount_minor, plan.intro_cycles) == (4_990, 990, 3)
    page = _owner(acme).get(response["Location"]).content.decode()
    assert 'data-testid="intro-price"' in page
    assert "for the first 3 cycles" in page


def test_a_plan_without_an_intro_phase_has_none(acme: TenantSetup) -> None:
    product = _product(acme)

    response = _owner(acme).post("/dashboard/catalog/plans/new/", _plan_body(product))

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(tenant=acme.tenant)
    assert (plan.intro_amount_minor, plan.intro_cycles) == (None, 0)
    assert (
        'data-testid="intro-price"' not in _owner(acme).get(response["Location"]).content.decode()
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"intro_amount": "9.90", "intro_cycles": "13", "term_cycles": "12"}, "intro_cycles"),
        ({"intro_amount": "-1", "intro_cycles": "3"}, "intro_amount"),
        ({"intro_amount": "nine", "intro_cycles": "3"}, "intro_amount"),
        ({"intro_amount": "9.90", "intro_cycles": "0"}, "intro_cycles"),
        ({"intro_amount": "9.90"}, "intro_cycles"),
        ({"intro_cycles": "3"}, "intro_amount"),
        ({"intro_amount": "9.90", "intro_cycles": "-2"}, "intro_cycles"),
    ],
)
def test_a_bad_intro_phase_is_shown_next_to_its_field(
    acme: TenantSetup, changes: dict[str, str], field: str
) -> None:
    product = _product(acme)

    response = _owner(acme).post("/dashboard/catalog/plans/new/", _plan_body(product) | changes)

    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    assert _count(acme, Plan) == 0
