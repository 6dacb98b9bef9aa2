"""The billing address: one shape checked whole (customers/domain/address.py), over the API."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from customers.domain.address import address_lines, normalize_address
from customers.models import Customer
from tests.api.helpers import counts, error
from tests.conftest import TenantSetup

PAULISTA = {
    "line1": "Av. Paulista",
    "number": "1000",
    "complement": "conj. 12",
    "district": "Bela Vista",
    "city": "São Paulo",
    "state": "sp",
    "postal_code": "01310-100",
}


def test_a_brazilian_address_is_normalized_and_printed_as_people_write_it() -> None:
    address = normalize_address(PAULISTA)
    assert address == {**PAULISTA, "state": "SP", "postal_code": "01310100", "country": "BR"}
    assert address_lines(address) == [
        "Av. Paulista, 1000 – conj. 12",
        "Bela Vista",
        "São Paulo – SP",
        "01310-100",
    ]
    assert normalize_address({}) == {}
    assert normalize_address({"line1": " ", "city": ""}) == {}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("Av. Paulista", "address"),
        ({**PAULISTA, "postal_code": "0131010"}, "address.postal_code"),
        ({**PAULISTA, "state": "XX"}, "address.state"),
        ({**PAULISTA, "city": ""}, "address.city"),
        ({**PAULISTA, "line1": "Rua\x00 A"}, "address.line1"),
        ({**PAULISTA, "line1": "x" * 201}, "address.line1"),
        ({**PAULISTA, "number": 10}, "address.number"),
        ({**PAULISTA, "country": "Brasil"}, "address.country"),
        ({**PAULISTA, "planet": "Earth"}, "address"),
    ],
)
def test_a_bad_address_names_the_field(raw: object, param: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_address(raw)
    assert caught.value.param == param


def test_a_foreign_address_needs_no_cep() -> None:
    address = normalize_address({"line1": "Str. Lipscani 5", "city": "București", "country": "ro"})
    assert address == {"line1": "Str. Lipscani 5", "city": "București", "country": "RO"}
    assert address_lines(address)[-1] == "RO"


@pytest.mark.django_db
def test_the_api_sets_reads_and_clears_the_address_and_refuses_a_bad_one(
    acme: TenantSetup,
) -> None:
    created = acme.client().post(
        "/api/v1/customers", {"name": "Ana", "address": PAULISTA}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["address"]["postal_code"] == "01310100"
    assert body["address"]["state"] == "SP"

    bad = acme.client().patch(
        f"/api/v1/customers/{body['id']}",
        {"address": {**PAULISTA, "postal_code": "123"}},
        format="json",
    )
    assert bad.status_code == 400
    assert error(bad)["param"] == "address.postal_code"
    assert counts(acme, Customer) == {"Customer": 1}

    cleared = acme.client().patch(f"/api/v1/customers/{body['id']}", {"address": {}}, format="json")
    assert cleared.status_code == 200
    assert cleared.json()["address"] == {}

    refused = acme.client().post(
        "/api/v1/customers", {"name": "Bia", "address": "Rua A"}, format="json"
    )
    assert refused.status_code == 400
    assert counts(acme, Customer) == {"Customer": 1}
