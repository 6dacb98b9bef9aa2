import pytest

from tests.conftest import TenantSetup


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_api_key_reads_own_customers(acme: TenantSetup) -> None:
    response = acme.client().get("/api/v1/customers")

    assert response.status_code == 200, response.content
