"""``/api/v1/sellers``: sellers with their commission rule, sales, statements."""

from __future__ import annotations

import pytest

from billing.gateways.sandbox import SandboxGateway
from billing.models import Commission, CommissionPlan, Sale, Seller
from billing.payments import payment_method_attach
from tenants.context import tenant_context
from tests.api.helpers import client_for, counts, error
from tests.conftest import TenantSetup
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 3, 10, 15)


def _subscribed(slug: str):  # type: ignore[no-untyped-def]
    from tenants.services import api_key_create

    with world(NOW, slug=slug) as w:
        key = api_key_create(tenant=w.tenant, name="k", actor=ACTOR, now=NOW)
        customer = w.customer()
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=10_000), customer)
        return TenantSetup(tenant=w.tenant, owner=None, key=key), sub


def test_a_seller_with_a_rule_sells_and_gets_a_statement() -> None:
    setup, sub = _subscribed("acme")
    api = client_for(setup.key.raw)

    created = api.post(
        "/api/v1/sellers",
        {
            "name": "Bia Souza",
            "email": "bia@example.com",
            "commission": {"kind": "recurring", "percent": "10.00", "months": 6},
        },
    )
    assert created.status_code == 201, created.json()
    seller = created.json()
    assert seller["commission"] == {
        "kind": "recurring",
        "percent": "10.00",
        "amount_minor": None,
        "months": 6,
    }
    sold = api.post(f"/api/v1/sellers/{seller['id']}/sales", {"subscription": sub.public_id})
    assert sold.status_code == 201, sold.json()
    assert (sold.json()["subscription"], sold.json()["kind"]) == (sub.public_id, "recurring")

    # The first invoice (R$ 100,00) was paid before the attribution: it earns now.
    statement = api.get(f"/api/v1/sellers/{seller['id']}/statement?from=2026-03-01&to=2026-03-31")
    body = statement.json()
    assert statement.status_code == 200, body
    assert [(line["kind"], line["base_minor"], line["amount_minor"]) for line in body["lines"]] == [
        ("earned", 10_000, 1_000)
    ]
    assert body["lines"][0]["date"] == "2026-03-10"
    assert body["totals"] == {
        "BRL": {"earned_minor": 1_000, "reversed_minor": 0, "net_minor": 1_000}
    }

    patched = api.patch(
        f"/api/v1/sellers/{seller['id']}", {"commission": {"kind": "fixed", "amount_minor": 500}}
    )
    assert patched.json()["commission"]["kind"] == "fixed"
    with tenant_context(setup.tenant):
        # The sale keeps the rule it was sold under.
        assert Sale.objects.get().kind == "recurring"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({}, "name", id="no-name"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": 5}, "name", id="name-not-text"),
        pytest.param({"name": "Bia", "email": "nope"}, "email", id="bad-email"),
        pytest.param({"name": "Bia", "commission": {"kind": "bonus"}}, "commission.kind", id="k"),
        pytest.param(
            {"name": "Bia", "commission": {"kind": "first_payment", "percent": "-5"}},
            "percent",
            id="negative-percent",
        ),
        pytest.param(
            {"name": "Bia", "commission": {"kind": "fixed", "amount_minor": 10**13}},
            "amount_minor",
            id="huge-fixed",
        ),
        pytest.param(
            {"name": "Bia", "commission": {"kind": "recurring", "percent": "5", "months": "x"}},
            "commission.months",
            id="months-not-a-number",
        ),
        pytest.param({"name": "Bia", "extra": 1}, "extra", id="unknown-field"),
    ],
)
def test_bad_sellers_are_refused_and_nothing_is_created(body, param) -> None:  # type: ignore[no-untyped-def]
    setup, _sub = _subscribed("acme")
    api = client_for(setup.key.raw)
    before = counts(setup, Seller, CommissionPlan)

    response = api.post("/api/v1/sellers", body, format="json")

    assert response.status_code == 400, response.json()
    assert param in (error(response)["param"] or "")
    assert counts(setup, Seller, CommissionPlan) == before


def test_sales_and_statements_refuse_bad_input_and_other_tenants_ids() -> None:
    acme, acme_sub = _subscribed("acme")
    globex, globex_sub = _subscribed("globex")
    api = client_for(acme.key.raw)
    seller = api.post("/api/v1/sellers", {"name": "Bia"}).json()["id"]
    with tenant_context(globex.tenant):
        theirs = Seller.objects.create(tenant=globex.tenant, name="Outra").public_id

    assert api.get(f"/api/v1/sellers/{theirs}").status_code == 404
    assert (
        api.post(
            f"/api/v1/sellers/{theirs}/sales", {"subscription": acme_sub.public_id}
        ).status_code
        == 404
    )
    other_sub = api.post(f"/api/v1/sellers/{seller}/sales", {"subscription": globex_sub.public_id})
    assert other_sub.status_code == 400
    assert error(other_sub)["param"] == "subscription"
    assert api.post(f"/api/v1/sellers/{seller}/sales", {}).status_code == 400
    for query, param in [
        ("", "from"),
        ("?from=2026-03-01", "to"),
        ("?from=2026-13-01&to=2026-12-31", "from"),
        ("?from=2026-03-31&to=2026-03-01", "to"),
        ("?from=2020-01-01&to=2026-03-01", "to"),
    ]:
        response = api.get(f"/api/v1/sellers/{seller}/statement{query}")
        assert response.status_code == 400, (query, response.json())
        assert error(response)["param"] == param
    with tenant_context(acme.tenant):
        assert not Sale.objects.exists()
        assert not Commission.objects.exists()
