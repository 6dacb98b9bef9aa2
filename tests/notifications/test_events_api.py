"""The events API: list (type and created filters, cursor pages) and retrieve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenants.context import tenant_context
from tenants.outbox import PendingEvent, emit_many
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def seed(setup: TenantSetup) -> list[str]:
    with tenant_context(setup.tenant):
        return emit_many(
            [
                PendingEvent(setup.tenant.pk, "invoice.finalized", T0, "invoice", "in_1"),
                PendingEvent(
                    setup.tenant.pk,
                    "invoice.paid",
                    T0 + timedelta(hours=1),
                    "invoice",
                    "in_1",
                    {"invoice": "in_1", "amount_minor": 990},
                ),
                PendingEvent(
                    setup.tenant.pk,
                    "customer.created",
                    T0 + timedelta(hours=2),
                    "customer",
                    "cus_1",
                ),
            ]
        )


def test_retrieve_has_the_webhook_payload_shape(acme: TenantSetup) -> None:
    _, paid, _ = seed(acme)

    body = acme.client().get(f"/api/v1/events/{paid}").json()

    assert body == {
        "id": paid,
        "object": "event",
        "type": "invoice.paid",
        "created": "2026-03-02T13:00:00Z",
        "data": {"object": "invoice", "id": "in_1", "invoice": "in_1", "amount_minor": 990},
    }


def test_list_filters_by_type_prefix_subject_and_time(acme: TenantSetup) -> None:
    finalized, paid, customer = seed(acme)
    client = acme.client()

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.json()
        return [e["id"] for e in response.json()["data"]]

    assert ids("type=invoice.*") == [paid, finalized]
    assert ids("type=invoice.paid") == [paid]
    assert ids("object_id=cus_1") == [customer]
    assert ids("created[gte]=2026-03-02T12:30:00Z&type=invoice.*") == [paid]
    assert ids("created[lte]=2026-03-02T12:00:00Z&type=invoice.*") == [finalized]
    first = client.get("/api/v1/events?type=invoice.*&limit=1").json()
    second = client.get(f"/api/v1/events?type=invoice.*&limit=1&starting_after={paid}").json()
    assert ([e["id"] for e in first["data"]], first["has_more"]) == ([paid], True)
    assert ([e["id"] for e in second["data"]], second["has_more"]) == ([finalized], False)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("type=*", "type"),
        ("type=Invoice", "type"),
        ("created[gte]=yesterday", "created[gte]"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("starting_after=evt_nope", "starting_after"),
    ],
)
def test_bad_filters_are_400(acme: TenantSetup, query: str, param: str) -> None:
    seed(acme)

    response = acme.client().get(f"/api/v1/events?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_another_tenants_events_are_invisible(acme: TenantSetup, globex: TenantSetup) -> None:
    _, paid, _ = seed(acme)

    assert globex.client().get(f"/api/v1/events/{paid}").status_code == 404
    assert globex.client().get("/api/v1/events?type=invoice.*").json()["data"] == []
