"""The OpenAPI schema: valid, free of warnings, and covering every route."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from config.api import router
from tests.support.routes import fill_groups


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:  # type: ignore[no-untyped-def]
    """``manage.py spectacular --validate --fail-on-warn``: raises on any warning."""
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def _template(pattern: str) -> str:
    """A router regex as an OpenAPI path: ^customers/(?P<id>[^/.]+)$ → /customers/{id}."""
    path = pattern.lstrip("^").rstrip("$")
    return "/api/v1/" + fill_groups(path, lambda name: "{" + name + "}")


def test_the_schema_validates_without_warnings_and_every_route_is_in_it(schema: dict) -> None:
    paths = schema["paths"]

    routes = {_template(str(url.pattern)) for url in router.urls}
    assert routes
    assert routes <= set(paths), sorted(routes - set(paths))


def test_operations_are_described_and_document_errors_and_idempotency(schema: dict) -> None:
    ids = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            ids.append(operation["operationId"])
            assert {"401", "404", "429"} <= set(operation["responses"]), (path, method)
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert ("Idempotency-Key" in headers) == (method == "post"), (path, method)
    assert len(ids) == len(set(ids))
    assert {"customer_create", "subscription_cancel", "invoice_pay", "test_clock_advance"} <= set(
        ids
    )


@pytest.mark.parametrize(
    "component",
    [
        "Customer",
        "Subscription",
        "Invoice",
        "Plan",
        "Product",
        "Coupon",
        "CreditNote",
        "Payment",
        "Refund",
        "TestClock",
        "PaymentMethod",
    ],
)
def test_every_field_of_the_core_resources_is_described(schema: dict, component: str) -> None:
    properties = schema["components"]["schemas"][component]["properties"]

    undescribed = [
        name
        for name, spec in properties.items()
        if not (spec.get("description") or spec.get("example") or "allOf" in spec)
    ]
    assert undescribed == []
