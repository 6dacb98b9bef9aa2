"""The dashboard's bank return files page: upload, summary, bad files, isolation."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.gateways.sandbox import SandboxBoletoGateway
from billing.models import BoletoReturnFile, Invoice, PaymentAttempt
from billing.payments import payment_method_attach_offline
from tenants.context import tenant_context
from tests.billing.cnab import Titulo, return_file
from tests.dashboard.helpers import signed_in
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
UPLOAD = "/dashboard/payments/return-files/upload/"


def _boleto(slug: str):  # type: ignore[no-untyped-def]
    with world(NOW, slug=slug) as w:
        customer = w.customer()
        customer.tax_id = "529.982.247-25"
        customer.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=12_345), customer)
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        number = SandboxBoletoGateway().slip(gateway_ref=attempt.gateway_ref)["our_number"]
        return w.tenant, attempt, number


def _upload(client, content: bytes, name: str = "retorno.ret"):  # type: ignore[no-untyped-def]
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)})


def test_uploading_the_same_file_twice_settles_once_and_shows_the_summary() -> None:
    tenant, attempt, number = _boleto("acme")
    client = signed_in("owner@acme.example")
    content = return_file(
        [
            Titulo(number, 12_345, 12_345),
            Titulo("555", 100, 100),  # a nosso número this tenant never issued
        ]
    )

    first = _upload(client, content)
    second = _upload(client, content)
    first_page = client.get(first["Location"])
    second_page = client.get(second["Location"])
    listing = client.get("/dashboard/payments/return-files/")

    assert (first.status_code, second.status_code) == (302, 302)
    html = first_page.content.decode()
    assert 'data-testid="count-settled">1<' in html
    assert 'data-testid="count-unknown">1<' in html
    assert 'data-testid="line-3" data-outcome="settled"' in html
    assert 'data-testid="line-5" data-outcome="unknown"' in html
    again = second_page.content.decode()
    assert 'data-testid="count-settled">0<' in again
    assert 'data-testid="count-already-paid">1<' in again
    assert listing.content.decode().count('data-testid="return-file-brf_') == 2
    with tenant_context(tenant):
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"


@pytest.mark.parametrize(
    ("_case", "content"),
    [
        ("empty file", b""),
        ("binary junk", bytes(range(256)) * 4),
        ("10 MB", b"0" * 10_000_000),
        ("trailer miscounts", return_file([Titulo("1", 100, 100)]).replace(b"000006", b"000009")),
    ],
)
def test_a_bad_file_gets_an_error_next_to_the_field_and_changes_nothing(
    _case: str, content: bytes
) -> None:
    tenant, attempt, _number = _boleto("acme")
    client = signed_in("owner@acme.example")

    response = _upload(client, content)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["file"]
    with tenant_context(tenant):
        assert not BoletoReturnFile.objects.exists()
        attempt.refresh_from_db()
    assert attempt.status == "pending"


def test_a_malformed_file_error_names_the_line() -> None:
    _tenant, _attempt, _number = _boleto("acme")
    client = signed_in("owner@acme.example")
    content = return_file([Titulo("1", 100, 100)]).replace(b"000006", b"000009")

    response = _upload(client, content)

    assert response.context["form"].errors["file"] == [
        "This is not a valid CNAB 240 return file. "
        "Line 6, quantidade de registros (024-029): says 9, the file has 6"
    ]


def test_another_tenants_file_is_404() -> None:
    _boleto("acme")
    _boleto("globex")
    acme_client = signed_in("owner@acme.example")
    theirs = _upload(acme_client, return_file([Titulo("1", 100, 100)]))["Location"]

    response = signed_in("owner@globex.example").get(theirs)

    assert response.status_code == 404
