"""Issue 12, finding 6: where the schema and the server disagreed, they agree.

DELETE answers 200 with a body and the schema says so for every DELETE; the
Unix timestamps ``created[gte]`` takes are documented; a dunning policy PATCH
with a null is refused instead of answering 200 and changing nothing; the
Idempotency-Key's rules are in the schema and hold. (Each operation is also
tried on an existing object against the schema: test_existing_objects.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.api.helpers import error
from tests.api_contract.bodies import fetch_schema
from tests.conftest import TenantSetup
from tests.dunning.test_api import URL as POLICIES
from tests.dunning.test_api import _ids, _state

pytestmark = pytest.mark.django_db


def test_every_delete_documents_the_200_it_answers(acme: TenantSetup) -> None:
    schema = fetch_schema(acme.client())
    deletes = {
        path: op["responses"]
        for path, item in schema["paths"].items()
        for m, op in item.items()
        if m == "delete"
    }
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}).json()

    deleted = acme.client().delete(f"/api/v1/customers/{customer['id']}")

    assert len(deletes) >= 4
    assert {path for path, r in deletes.items() if "200" not in r or "204" in r} == set()
    assert deleted.status_code == 200
    assert deleted.json() == {"id": customer["id"], "object": "customer", "deleted": True}


def test_created_filters_document_and_take_unix_timestamps(acme: TenantSetup) -> None:
    schema = fetch_schema(acme.client())
    [param] = [
        p
        for p in schema["paths"]["/api/v1/customers"]["get"]["parameters"]
        if p["name"] == "created[gte]"
    ]
    customer = acme.client().post("/api/v1/customers", {"name": "Ana"}).json()
    created = datetime.fromisoformat(customer["created"].replace("Z", "+00:00"))
    before, after = int(created.timestamp()) - 60, int(created.timestamp()) + 60

    assert "Unix timestamp" in param["description"]
    assert {"type": "string", "pattern": "^[0-9]{1,11}$"} in param["schema"]["anyOf"]
    assert {"type": "string", "format": "date-time"} in param["schema"]["anyOf"]
    listed = acme.client().get("/api/v1/customers", {"created[gte]": str(before)}).json()
    assert [c["id"] for c in listed["data"]] == [customer["id"]]
    later = acme.client().get("/api/v1/customers", {"created[gte]": str(after)}).json()
    assert later["data"] == []
    assert datetime.fromtimestamp(before, tz=UTC) < created


@pytest.mark.parametrize("field", ["steps", "run_hour", "smart_retry", "active"])
def test_a_dunning_policy_patch_with_a_null_is_refused(acme: TenantSetup, field: str) -> None:
    card = _ids(acme)["card"]
    before = _state(acme)

    response = acme.client().patch(f"{POLICIES}/{card}", {field: None}, format="json")

    assert response.status_code == 400
    assert error(response)["param"] == field
    assert _state(acme) == before


def test_the_idempotency_key_rules_are_in_the_schema_and_hold(acme: TenantSetup) -> None:
    schema = fetch_schema(acme.client())
    [param] = [
        p
        for p in schema["paths"]["/api/v1/customers"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    key = uuid.uuid4().hex
    first = acme.client().post("/api/v1/customers", {"name": "Ana"}, HTTP_IDEMPOTENCY_KEY=key)
    replay = acme.client().post("/api/v1/customers", {"name": "Ana"}, HTTP_IDEMPOTENCY_KEY=key)
    other = acme.client().post("/api/v1/customers", {"name": "Bia"}, HTTP_IDEMPOTENCY_KEY=key)
    too_long = acme.client().post(
        "/api/v1/customers", {"name": "Ana"}, HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert param["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[^\\x00-\\x1f\\x7f]+$",
    }
    for rule in (
        "24 hours",
        "Idempotent-Replayed",
        "idempotency_key_reused",
        "idempotency_key_in_use",
        "idempotency_key_invalid",
    ):
        assert rule in param["description"]
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert (other.status_code, error(other)["code"]) == (409, "idempotency_key_reused")
    assert (too_long.status_code, error(too_long)["code"]) == (400, "idempotency_key_invalid")
