"""Structured logs carry the request id and the tenant id."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from core.logging import build_formatter
from tests.conftest import TenantSetup


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(build_formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_each_request_logs_one_json_line_with_request_and_tenant(
    acme: TenantSetup, json_log: io.StringIO
) -> None:
    response = acme.client().get("/api/v1/customers", HTTP_X_REQUEST_ID="req-123")

    [finished] = [line for line in _lines(json_log) if line["event"] == "request.finished"]
    assert response["X-Request-ID"] == "req-123"
    assert finished["request_id"] == "req-123"
    assert finished["tenant_id"] == acme.tenant.pk
    assert finished["status"] == 200
    assert finished["path"] == "/api/v1/customers"
    assert finished["level"] == "info"
    assert str(finished["timestamp"]).endswith("Z")


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one_and_stdlib_logs_are_structured(
    client: Client, json_log: io.StringIO
) -> None:
    response = client.get("/healthz")
    logging.getLogger("x").info("plain stdlib logging", extra={"invoice_id": 7})

    lines = _lines(json_log)
    assert len(response["X-Request-ID"]) == 32
    assert {"event": "plain stdlib logging", "invoice_id": 7}.items() <= lines[-1].items()
