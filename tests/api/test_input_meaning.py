"""Issue 12, finding 5: input no user means is refused.

Phone numbers are validated and stored in E.164 (a number without a country
code read in the tenant's region); prices and invoices take only circulating
currencies, whose minor units come from one table (``core.money``)."""

from __future__ import annotations

from typing import Any

import pytest

from core.money import Money, circulating_currencies, currency_exponent
from customers.models import Customer
from tenants.context import tenant_context
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db

NOT_MONEY = ["XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "CLF", "DEM"]


@pytest.mark.parametrize(
    "phone",
    [
        "+55 11 98765-4321\x07",  # a control character after a valid number
        "+55 11 98765-4321\x00",
        "+55 11 98765\u200b-4321",  # a zero-width space
        "\u202e+55 11 98765-4321",  # a right-to-left override
        "+55 11 9999-0000",  # not a valid Brazilian number
        "call me",
        "5511",
    ],
)
def test_a_phone_number_no_one_means_is_refused(acme: TenantSetup, phone: str) -> None:
    response = acme.client().post("/api/v1/customers", {"name": "Ana", "phone": phone})

    assert response.status_code == 400, response.json()
    assert error(response)["param"] == "phone"
    assert counts(acme, Customer) == {"Customer": 0}


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("(11) 98765-4321", "+5511987654321"),  # read in the tenant's region (BRL: Brazil)
        ("+55 11 98765-4321", "+5511987654321"),
        ("+1 650-253-0000", "+16502530000"),
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(acme: TenantSetup, phone: str, stored: str) -> None:
    created = acme.client().post("/api/v1/customers", {"name": "Ana", "phone": phone})
    assert created.status_code == 201, created.json()
    assert created.json()["phone"] == stored

    updated = acme.client().patch(
        f"/api/v1/customers/{created.json()['id']}", {"phone": "+55 (21) 99876-5432"}
    )
    assert updated.json()["phone"] == "+5521998765432"
    with tenant_context(acme.tenant):
        assert Customer.objects.get().phone == "+5521998765432"


def test_a_tenant_outside_brazil_needs_the_country_code(acme: TenantSetup) -> None:
    acme.tenant.default_currency = "USD"
    acme.tenant.locale = "en"
    acme.tenant.save()

    response = acme.client().post("/api/v1/customers", {"name": "Ana", "phone": "(11) 98765-4321"})

    assert response.status_code == 400
    assert "country code" in error(response)["message"]


def _plan_body(acme: TenantSetup, currency: str) -> dict[str, Any]:
    product = acme.client().post("/api/v1/products", {"name": "P"}).json()
    return {"product": product["id"], "code": "p", "currency": currency, "amount_minor": 1000}


@pytest.mark.parametrize("currency", NOT_MONEY)
def test_prices_and_invoices_refuse_what_is_not_money(acme: TenantSetup, currency: str) -> None:
    plan = acme.client().post("/api/v1/plans", _plan_body(acme, currency))
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}).json()
    invoice = acme.client().post(
        "/api/v1/invoices",
        {
            "customer": customer["id"],
            "currency": currency,
            "lines": [{"description": "Consulting", "unit_amount_minor": 100, "quantity": 1}],
        },
    )

    assert (plan.status_code, error(plan)["param"]) == (400, "currency")
    assert (invoice.status_code, error(invoice)["param"]) == (400, "currency")
    with pytest.raises(ValueError, match="Unknown currency"):
        Money(100, currency)


@pytest.mark.parametrize("currency", ["BRL", "USD", "EUR", "JPY", "KWD", "XOF", "XAF", "XCD"])
def test_circulating_currencies_are_taken(acme: TenantSetup, currency: str) -> None:
    plan = acme.client().post("/api/v1/plans", _plan_body(acme, currency))

    assert plan.status_code == 201, plan.json()


def test_minor_units_come_from_one_table() -> None:
    table = circulating_currencies()

    assert {c: table[c] for c in ("BRL", "USD", "JPY", "KWD", "CLP", "XOF")} == {
        "BRL": 2,
        "USD": 2,
        "JPY": 0,
        "KWD": 3,
        "CLP": 0,
        "XOF": 0,
    }
    assert all(currency_exponent(code) == units for code, units in table.items())
    assert not set(NOT_MONEY) & set(table)
    assert len(table) > 140
