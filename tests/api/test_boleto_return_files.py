"""``/api/v1/boleto_return_files``: CNAB 240 return files, base64 in JSON."""

from __future__ import annotations

import base64

import pytest

from billing.gateways.sandbox import SandboxBoletoGateway
from billing.models import BoletoReturnFile, Invoice, PaymentAttempt
from billing.payments import payment_method_attach_offline
from tenants.context import tenant_context
from tests.api.helpers import client_for, counts, error
from tests.billing.cnab import Titulo, return_file
from tests.conftest import TenantSetup
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _with_boleto(slug: str):  # type: ignore[no-untyped-def]
    from tenants.services import api_key_create

    with world(NOW, slug=slug) as w:
        key = api_key_create(tenant=w.tenant, name="k", actor=ACTOR, now=NOW)
        customer = w.customer()
        customer.tax_id = "529.982.247-25"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=12_345), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        number = SandboxBoletoGateway().slip(gateway_ref=attempt.gateway_ref)["our_number"]
        return TenantSetup(tenant=w.tenant, owner=None, key=key), attempt, number


def _body(content: bytes) -> dict[str, str]:
    return {"filename": "retorno.ret", "content_base64": base64.b64encode(content).decode()}


def test_a_return_file_posted_twice_settles_once_and_is_listed_with_its_lines() -> None:
    setup, attempt, number = _with_boleto("acme")
    api = client_for(setup.key.raw)
    content = return_file([Titulo(number, 12_345, 12_345), Titulo("777", 500, 500)])

    first = api.post("/api/v1/boleto_return_files", _body(content), format="json")
    second = api.post("/api/v1/boleto_return_files", _body(content), format="json")
    listed = api.get("/api/v1/boleto_return_files")
    fetched = api.get(f"/api/v1/boleto_return_files/{first.json()['id']}")

    assert first.status_code == 201, first.json()
    assert [(r["outcome"], r["payment"]) for r in first.json()["lines"]] == [
        ("settled", attempt.public_id),
        ("unknown", None),
    ]
    assert [r["outcome"] for r in second.json()["lines"]] == ["already_paid", "unknown"]
    assert [f["id"] for f in listed.json()["data"]] == [second.json()["id"], first.json()["id"]]
    assert fetched.json()["lines"][0]["line"] == 3
    assert fetched.json()["object"] == "boleto_return_file"
    with tenant_context(setup.tenant):
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"


@pytest.mark.parametrize(
    ("_case", "body", "code"),
    [
        ("empty file", _body(b""), "empty_file"),
        ("binary junk", _body(bytes(range(256)) * 4), "malformed_return_file"),
        ("not base64", {"content_base64": "%%%not base64%%%"}, "invalid_base64"),
        ("unknown field", {"content_base64": "", "file": "x"}, "unknown_parameter"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    _case: str, body: dict[str, str], code: str
) -> None:
    setup, _attempt, _number = _with_boleto("acme")
    api = client_for(setup.key.raw)

    response = api.post("/api/v1/boleto_return_files", body, format="json")

    assert response.status_code == 400, response.content
    assert error(response)["code"] == code
    assert counts(setup, BoletoReturnFile) == {"BoletoReturnFile": 0}


def test_a_10_mb_file_is_refused_with_a_size_limit() -> None:
    setup, _attempt, _number = _with_boleto("acme")
    api = client_for(setup.key.raw)

    response = api.post("/api/v1/boleto_return_files", _body(b"0" * 10_000_000), format="json")

    # Over Django's DATA_UPLOAD_MAX_MEMORY_SIZE the body is never read: 413.
    assert response.status_code == 413, response.content
    assert error(response)["code"] == "request_too_large"
    assert counts(setup, BoletoReturnFile) == {"BoletoReturnFile": 0}


def test_a_file_over_the_limit_but_under_the_body_limit_is_refused_by_size() -> None:
    setup, _attempt, _number = _with_boleto("acme")
    api = client_for(setup.key.raw)

    response = api.post("/api/v1/boleto_return_files", _body(b"0" * 1_000_001), format="json")

    assert response.status_code == 400, response.content
    assert (error(response)["code"], error(response)["param"]) == (
        "file_too_large",
        "content_base64",
    )


def test_a_malformed_file_names_the_line_and_settles_nothing() -> None:
    setup, attempt, number = _with_boleto("acme")
    api = client_for(setup.key.raw)
    content = return_file([Titulo(number, 12_345, 12_345)]).replace(
        b"000000000012345", b"00000000001234X"
    )

    response = api.post("/api/v1/boleto_return_files", _body(content), format="json")

    assert response.status_code == 400
    assert error(response)["param"] == "content_base64"
    assert error(response)["message"].startswith("Line 3, valor nominal (082-096)")
    with tenant_context(setup.tenant):
        attempt.refresh_from_db()
    assert attempt.status == "pending"


def test_another_tenants_file_is_404_and_its_boletos_are_never_matched() -> None:
    acme, acme_attempt, acme_number = _with_boleto("acme")
    globex, _attempt, _number = _with_boleto("globex")
    theirs = client_for(acme.key.raw).post(
        "/api/v1/boleto_return_files",
        _body(return_file([Titulo("1", 100, 100)])),
        format="json",
    )
    api = client_for(globex.key.raw)

    fetched = api.get(f"/api/v1/boleto_return_files/{theirs.json()['id']}")
    posted = api.post(
        "/api/v1/boleto_return_files",
        _body(return_file([Titulo(acme_number, 12_345, 12_345)])),
        format="json",
    )

    assert fetched.status_code == 404
    assert error(fetched)["code"] == "resource_missing"
    assert [r["outcome"] for r in posted.json()["lines"]] == ["unknown"]
    assert api.get("/api/v1/boleto_return_files").json()["data"][0]["id"] == posted.json()["id"]
    assert len(api.get("/api/v1/boleto_return_files").json()["data"]) == 1
    with tenant_context(acme.tenant):
        acme_attempt.refresh_from_db()
    assert acme_attempt.status == "pending"
