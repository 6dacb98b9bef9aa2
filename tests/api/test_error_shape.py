"""The one error shape holds where no viewset answers normally: an unrouted
/api/ path, the PDF route's errors, and list filters after a malformed id."""

from __future__ import annotations

import pytest

from tests.api.helpers import error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def test_an_id_the_router_cannot_match_gets_the_json_error(acme: TenantSetup) -> None:
    response = acme.client().get("/api/v1/customers/a.b")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error(response)["code"] == "resource_missing"


def test_pages_outside_the_api_keep_the_html_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_pdf_routes_errors_are_json(acme: TenantSetup) -> None:
    response = acme.client().get(
        "/api/v1/invoices/in_nosuchinvoice/pdf?format=pdf", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error(response)["code"] == "resource_missing"


def test_a_malformed_id_filter_does_not_hide_a_bad_date(acme: TenantSetup) -> None:
    response = acme.client().get(
        "/api/v1/subscriptions", {"customer": "not an id!", "created[gte]": "yesterday"}
    )
    assert response.status_code == 400
    assert error(response)["param"] == "created[gte]"
    fine = acme.client().get("/api/v1/subscriptions", {"customer": "not an id!"})
    assert fine.status_code == 200
    assert fine.json()["data"] == []
