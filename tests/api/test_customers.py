"""Customers, their payment methods and entitlements over the API."""

from __future__ import annotations

import pytest

from customers.models import Customer, PaymentMethod
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import Event
from tests.api.helpers import audit_actions, counts, error, read_only_client
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _create(setup: TenantSetup, **body: object) -> dict:
    response = setup.client().post("/api/v1/customers", {"name": "Ana", **body})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_retrieve_update_list_and_delete_a_customer(acme: TenantSetup) -> None:
    created = _create(
        acme,
        email="ana@example.com",
        tax_id="529.982.247-25",
        locale="pt-br",
        metadata={"crm": "42"},
    )

    assert created["object"] == "customer"
    assert created["id"].startswith("cus_")
    assert created["tax_id"] == "52998224725"
    assert created["metadata"] == {"crm": "42"}
    assert created["test_clock"] is None
    assert created["created"].endswith("Z")

    fetched = acme.client().get(f"/api/v1/customers/{created['id']}").json()
    assert fetched == created

    updated = acme.client().patch(
        f"/api/v1/customers/{created['id']}", {"name": "Ana Souza", "phone": "+55 11 99999-0000"}
    )
    assert updated.status_code == 200
    assert updated.json()["name"] == "Ana Souza"
    assert updated.json()["email"] == "ana@example.com"

    listed = acme.client().get("/api/v1/customers").json()
    assert listed["object"] == "list"
    assert [c["id"] for c in listed["data"]] == [created["id"]]

    deleted = acme.client().delete(f"/api/v1/customers/{created['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": created["id"], "object": "customer", "deleted": True}
    assert counts(acme, Customer) == {"Customer": 0}
    assert [a for _t, a in audit_actions(acme) if a.startswith("customer.")] == [
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ]
    with tenant_context(acme.tenant):
        types = list(Event.objects.filter(subject_id=created["id"]).values_list("type", flat=True))
    assert sorted(types) == ["customer.created", "customer.deleted", "customer.updated"]


def test_the_audit_log_names_the_api_key(acme: TenantSetup) -> None:
    _create(acme)

    assert audit_actions(acme)[-1] == ("api_key", "customer.created")


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        pytest.param({}, "name", "required", id="missing-name"),
        pytest.param({"name": ""}, "name", "blank", id="blank-name"),
        pytest.param({"name": ["Ana"]}, "name", "invalid_type", id="name-list"),
        pytest.param({"name": "A" * 201}, "name", "max_length", id="name-too-long"),
        pytest.param({"name": "Ana", "email": "no"}, "email", "invalid", id="bad-email"),
        pytest.param(
            {"name": "Ana", "tax_id": "111.111.111-11"}, "tax_id", "invalid_tax_id", id="bad-cpf"
        ),
        pytest.param({"name": "Ana", "locale": "xx"}, "locale", "invalid_choice", id="locale"),
        pytest.param({"name": "Ana", "metadata": [1]}, "metadata", "invalid", id="metadata-list"),
        pytest.param(
            {"name": "Ana", "metadata": {"k": 1}}, "metadata", "invalid", id="metadata-number"
        ),
        pytest.param(
            {"name": "Ana", "metadata": {f"k{i}": "v" for i in range(51)}},
            "metadata",
            "invalid",
            id="metadata-too-many",
        ),
        pytest.param({"name": "Ana", "nmae": "x"}, "nmae", "unknown_parameter", id="unknown"),
        pytest.param({"name": "Ana", "phone": 5511}, "phone", "invalid_type", id="phone-number"),
        pytest.param({"name": 42}, "name", "invalid_type", id="name-number"),
        pytest.param({"name": "Ana", "locale": 1}, "locale", "invalid_type", id="locale-number"),
        pytest.param({"name": "Ana\x00"}, "name", "null_characters_not_allowed", id="nul"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter_and_creates_nothing(
    acme: TenantSetup, body: dict, param: str, code: str
) -> None:
    response = acme.client().post("/api/v1/customers", body)

    assert response.status_code == 400
    assert error(response)["param"] == param
    assert error(response)["code"] == code
    assert error(response)["type"] == "invalid_request_error"
    assert counts(acme, Customer, Event) == {"Customer": 0, "Event": 0}


def test_a_body_that_is_not_json_is_refused(acme: TenantSetup) -> None:
    malformed = acme.client().generic(
        "POST", "/api/v1/customers", "{not json", content_type="application/json"
    )
    form = acme.client().post("/api/v1/customers", {"name": "Ana"}, format="multipart")
    array = acme.client().post("/api/v1/customers", [{"name": "Ana"}])

    assert malformed.status_code == 400
    assert error(malformed)["code"] == "parse_error"
    assert form.status_code == 415
    assert error(form)["code"] == "unsupported_media_type"
    assert array.status_code == 400
    assert counts(acme, Customer) == {"Customer": 0}


def test_another_tenants_customer_is_a_404_and_stays_unchanged(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    theirs = _create(globex, email="g@example.com")

    for response in (
        acme.client().get(f"/api/v1/customers/{theirs['id']}"),
        acme.client().patch(f"/api/v1/customers/{theirs['id']}", {"name": "Stolen"}),
        acme.client().delete(f"/api/v1/customers/{theirs['id']}"),
        acme.client().get(f"/api/v1/customers/{theirs['id']}/entitlements"),
        acme.client().get(f"/api/v1/customers/{theirs['id']}/payment_methods"),
        acme.client().post(f"/api/v1/customers/{theirs['id']}/payment_methods", {"type": "pix"}),
    ):
        assert response.status_code == 404
        assert error(response)["code"] == "resource_missing"

    assert globex.client().get(f"/api/v1/customers/{theirs['id']}").json() == theirs
    assert counts(globex, PaymentMethod) == {"PaymentMethod": 0}


@pytest.mark.parametrize(
    "bad_id", ["cus_doesnotexist", "nonsense", "cus_%00", "CUS_ABC", "x" * 300, "1"]
)
def test_unknown_or_malformed_ids_are_404(acme: TenantSetup, bad_id: str) -> None:
    response = acme.client().get(f"/api/v1/customers/{bad_id}")

    assert response.status_code == 404
    assert error(response)["code"] == "resource_missing"


def test_a_customer_with_subscriptions_cannot_be_deleted(acme: TenantSetup) -> None:
    from tests.api.test_subscriptions import catalog

    plan = catalog(acme)
    customer = _create(acme)
    created = acme.client().post(
        "/api/v1/subscriptions", {"customer": customer["id"], "plan": plan["id"]}
    )
    assert created.status_code == 201

    response = acme.client().delete(f"/api/v1/customers/{customer['id']}")

    assert response.status_code == 409
    assert error(response)["code"] == "customer_in_use"
    assert counts(acme, Customer, Subscription) == {"Customer": 1, "Subscription": 1}


def test_a_read_only_key_reads_but_cannot_write(acme: TenantSetup) -> None:
    created = _create(acme)
    reader = read_only_client(acme)

    assert reader.get(f"/api/v1/customers/{created['id']}").status_code == 200
    for response in (
        reader.post("/api/v1/customers", {"name": "Bob"}),
        reader.patch(f"/api/v1/customers/{created['id']}", {"name": "Bob"}),
        reader.delete(f"/api/v1/customers/{created['id']}"),
        reader.post(f"/api/v1/customers/{created['id']}/payment_methods", {"type": "pix"}),
    ):
        assert response.status_code == 403
        assert error(response)["code"] == "read_only_key"
    assert counts(acme, Customer, PaymentMethod) == {"Customer": 1, "PaymentMethod": 0}


def test_filter_by_email(acme: TenantSetup) -> None:
    ana = _create(acme, email="ana@example.com")
    _create(acme, name="Bob", email="bob@example.com")

    listed = acme.client().get("/api/v1/customers", {"email": "ANA@example.com"}).json()

    assert [c["id"] for c in listed["data"]] == [ana["id"]]


# --- payment methods ---------------------------------------------------------------------


def test_attach_list_set_default_and_detach_payment_methods(acme: TenantSetup) -> None:
    customer = _create(acme, tax_id="52998224725")
    base = f"/api/v1/customers/{customer['id']}/payment_methods"

    visa = acme.client().post(base, {"type": "card", "token": "tok_visa"})
    boleto = acme.client().post(base, {"type": "boleto", "make_default": False})

    assert visa.status_code == 201, visa.json()
    assert visa.json()["card"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": visa.json()["card"]["exp_year"],
    }
    assert visa.json()["is_default"] is True
    assert visa.json()["gateway"] == "sandbox"
    assert "token" not in visa.json()
    assert boleto.status_code == 201
    assert boleto.json()["is_default"] is False
    assert boleto.json()["card"] is None

    listed = acme.client().get(base).json()["data"]
    assert {m["id"] for m in listed} == {visa.json()["id"], boleto.json()["id"]}

    made = acme.client().post(f"{base}/{boleto.json()['id']}/set_default")
    assert made.status_code == 200
    assert made.json()["is_default"] is True
    assert acme.client().get(f"{base}/{visa.json()['id']}").json()["is_default"] is False

    detached = acme.client().delete(f"{base}/{boleto.json()['id']}")
    assert detached.status_code == 200
    assert detached.json()["detached"] is not None
    assert [m["id"] for m in acme.client().get(base).json()["data"]] == [visa.json()["id"]]
    assert acme.client().delete(f"{base}/{boleto.json()['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"type": "card"}, "token", id="card-without-token"),
        pytest.param({"type": "card", "token": "4242424242424242"}, "token", id="raw-number"),
        pytest.param({"type": "cash"}, "type", id="unknown-type"),
        pytest.param({"type": "pix", "token": "tok_visa"}, "token", id="pix-with-token"),
        pytest.param({"type": "boleto"}, "tax_id", id="boleto-needs-tax-id"),
        pytest.param(
            {"type": "card", "token": "tok_visa", "card_number": "4242"},
            "card_number",
            id="unknown-field",
        ),
    ],
)
def test_bad_payment_method_input_attaches_nothing(
    acme: TenantSetup, body: dict, param: str
) -> None:
    customer = _create(acme)

    response = acme.client().post(f"/api/v1/customers/{customer['id']}/payment_methods", body)

    assert response.status_code == 400
    assert error(response)["param"] == param
    assert counts(acme, PaymentMethod) == {"PaymentMethod": 0}


def test_another_customers_payment_method_is_not_reachable_through_mine(
    acme: TenantSetup,
) -> None:
    ana, bob = _create(acme), _create(acme, name="Bob")
    bobs = acme.client().post(
        f"/api/v1/customers/{bob['id']}/payment_methods", {"type": "card", "token": "tok_visa"}
    )

    response = acme.client().delete(
        f"/api/v1/customers/{ana['id']}/payment_methods/{bobs.json()['id']}"
    )

    assert response.status_code == 404
    with tenant_context(acme.tenant):
        assert PaymentMethod.objects.get(public_id=bobs.json()["id"]).detached_at is None


# --- entitlements ---------------------------------------------------------------------------


def test_entitlements_merge_active_and_trialing_subscriptions_only(acme: TenantSetup) -> None:
    from tests.api.test_subscriptions import catalog

    basic = catalog(acme, code="basic", entitlements={"seats": 3, "sso": False, "api": True})
    pro = catalog(
        acme, code="pro", trial_days=14, entitlements={"seats": 10, "sso": True, "exports": None}
    )
    gone = catalog(acme, code="extra", entitlements={"seats": 1000, "beta": True})
    customer = _create(acme)
    subs = [
        acme.client()
        .post(
            "/api/v1/subscriptions",
            {"customer": customer["id"], "plan": plan["id"], "collection_method": "send_invoice"},
        )
        .json()
        for plan in (basic, pro, gone)
    ]
    # The third one is cancelled: it grants nothing any more.
    assert (
        acme.client().post(f"/api/v1/subscriptions/{subs[2]['id']}/cancel", {}).status_code == 200
    )

    found = acme.client().get(f"/api/v1/customers/{customer['id']}/entitlements").json()

    assert [s["status"] for s in subs[:2]] == ["active", "trialing"]
    assert found["object"] == "entitlements"
    assert found["subscriptions"] == [subs[1]["id"], subs[0]["id"]]
    assert found["features"] == {"seats": 10, "sso": True, "exports": None, "api": True}


def test_entitlements_merge_flags_and_limits(acme: TenantSetup) -> None:
    from tests.api.test_subscriptions import catalog

    one = catalog(acme, code="one", trial_days=7, entitlements={"seats": 3, "sso": False})
    two = catalog(acme, code="two", trial_days=7, entitlements={"seats": 10, "sso": True})
    customer = _create(acme)
    for plan in (one, two):
        acme.client().post(
            "/api/v1/subscriptions", {"customer": customer["id"], "plan": plan["id"]}
        )

    found = acme.client().get(f"/api/v1/customers/{customer['id']}/entitlements").json()

    assert found["features"] == {"seats": 10, "sso": True}
    assert sorted(found["plans"]) == sorted([one["id"], two["id"]])


def test_a_retrieved_customer_is_exactly_as_listed(acme: TenantSetup) -> None:
    """Retrieve renders the printed columns as a row (core/projection.py), the list
    the CustomerSerializer on models: both must print the same customer."""
    client = acme.client()
    clock = client.post("/api/v1/test_clocks", {"frozen_time": "2026-01-10T12:00:00Z"}).json()
    made = [
        client.post("/api/v1/customers", body).json()
        for body in (
            {"name": "Ana"},
            {
                "name": "Bia",
                "email": "bia@example.com",
                "phone": "+55 11 99999-0000",
                "tax_id": "529.982.247-25",
                "locale": "pt-br",
                "metadata": {"crm": "42", "tier": ""},
                "test_clock": clock["id"],
            },
        )
    ]

    listed = client.get("/api/v1/customers").json()["data"]

    assert {c["id"] for c in listed} == {c["id"] for c in made}
    assert any(c["test_clock"] == clock["id"] for c in listed)
    for customer in listed:
        assert client.get(f"/api/v1/customers/{customer['id']}").json() == customer
