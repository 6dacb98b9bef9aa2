"""The subscriber's right of access: one zip with every personal row about them,
and nobody else's."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from billing.models import Invoice, InvoiceLine, PaymentAttempt
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_url
from portal import privacy
from subscriptions.models import Subscription
from tenants.context import platform_access, tenant_context
from tenants.models import AuditEntry
from tests.support.billing import utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _enter(client: Client, customer: Customer) -> None:
    url = portal_url(customer)
    response = client.get(url[url.index("/t/") :].split("?")[0])
    assert response.status_code == 302, response.content


def _zip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_the_export_holds_every_personal_row_of_the_subscriber_and_no_token() -> None:
    with world(NOW) as w:
        plan = w.plan()
        ana = w.customer("Ana Export")
        Customer.objects.filter(pk=ana.pk).update(
            email="ana@example.com", tax_id="52998224725", phone="+5511999990000"
        )
        ana.refresh_from_db()
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=ana,
            kind="card",
            gateway="sandbox",
            token="tok_secret_never_exported",
            brand="visa",
            last4="4242",
        )
        w.subscribe(plan, customer=ana)
        w.subscribe(w.plan("pro", 20_000), customer=ana)
        # Someone else at the same merchant: never in Ana's export.
        bia = w.customer("Bia Other")
        w.subscribe(plan, customer=bia)
        slug = w.tenant.slug
        expected = {
            "customer": 1,
            "payment_methods": PaymentMethod.objects.filter(customer=ana).count(),
            "subscriptions": Subscription.objects.filter(customer=ana).count(),
            "invoices": Invoice.objects.filter(customer=ana).count(),
            "invoice_lines": InvoiceLine.objects.filter(invoice__customer=ana).count(),
            "payments": PaymentAttempt.objects.filter(invoice__customer=ana).count(),
        }
    assert expected["subscriptions"] == 2
    assert expected["invoices"] >= 2

    client = Client()
    _enter(client, ana)
    page = client.get(f"/t/{slug}/privacy/")
    assert page.status_code == 200
    assert client.get(f"/t/{slug}/privacy/export/").status_code == 405
    response = client.post(f"/t/{slug}/privacy/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    files = _zip(response.content)
    assert {"data.json"} | {f"{s.name}.csv" for s in privacy.SECTIONS} == set(files)
    data = json.loads(files["data.json"])
    for name, count in expected.items():
        assert len(data[name]) == count, name
        csv_rows = list(csv.DictReader(io.StringIO(files[f"{name}.csv"])))
        assert len(csv_rows) == count, name
    assert data["customer"][0]["email"] == "ana@example.com"
    assert data["customer"][0]["tax_id"] == "52998224725"
    assert data["payment_methods"][0]["last4"] == "4242"
    whole = "".join(files.values())
    assert "tok_secret_never_exported" not in whole
    assert "token" not in data["payment_methods"][0]
    assert "Bia Other" not in whole
    assert bia.public_id not in whole
    assert all(inv["customer"] == ana.public_id for inv in data["invoices"])
    with tenant_context(w.tenant):
        entry = AuditEntry.objects.get(action="customer.data_exported")
    assert entry.changes["sections"]["invoices"] == expected["invoices"]


def test_the_privacy_pages_need_a_session_of_this_merchant() -> None:
    with world(NOW, slug="acme") as a:
        ana = a.customer("Ana")
    with world(NOW, slug="other") as b:
        b.customer("Bob")
    anonymous = Client()
    assert anonymous.get("/t/acme/privacy/").status_code == 403
    assert anonymous.post("/t/acme/privacy/export/").status_code == 403
    client = Client()
    _enter(client, ana)
    # Ana's session is no key to the other merchant's portal.
    assert client.get("/t/other/privacy/").status_code == 403
    response = client.post("/t/other/privacy/export/")
    assert response.status_code == 403
    assert response.get("Content-Type") != "application/zip"


def test_collect_refuses_a_customer_of_another_tenant() -> None:
    with world(NOW, slug="acme") as a:
        ana = a.customer("Ana")
    with world(NOW, slug="other") as b, pytest.raises(ValueError):
        privacy.collect(tenant=b.tenant, customer=ana)


PERSONAL = {
    "name": "Zuleica Erasmo Quintanilha",
    "email": "zuleica.erasmo@example.com",
    "phone": "+5511988887777",
    "tax_id": "52998224725",
}
ADDRESS_LINE = "Rua Zuleica Secreta 4321"


def _tables_holding(value: str) -> set[str]:
    """Every (table.column) of the database whose text or JSON holds ``value``."""
    from django.db import connection

    found = set()
    with platform_access(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'json', 'jsonb', 'character')"
        )
        columns = cursor.fetchall()
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',
                [f"%{value}%"],
            )
            if cursor.fetchone():
                found.add(f"{table}.{column}")
    return found


def test_erasure_cancels_then_leaves_personal_data_only_in_the_fiscal_columns() -> None:
    with world(NOW) as w:
        plan = w.plan()
        zu = w.customer(PERSONAL["name"])
        Customer.objects.filter(pk=zu.pk).update(
            email=PERSONAL["email"],
            phone=PERSONAL["phone"],
            tax_id=PERSONAL["tax_id"],
            address={"line1": ADDRESS_LINE, "city": "Campinas", "country": "BR"},
        )
        zu.refresh_from_db()
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=zu,
            kind="card",
            gateway="sandbox",
            token="tok_zu",
            brand="visa",
            last4="4242",
        )
        sub = w.subscribe(plan, customer=zu)
        other = w.customer("Bia Kept")
        other_sub = w.subscribe(plan, customer=other)
        slug = w.tenant.slug
        issued = Invoice.objects.filter(customer=zu).exclude(status="draft").count()
    assert issued >= 1
    # The values are really everywhere before: the scan is not blind.
    assert "customers_customer.email" in _tables_holding(PERSONAL["email"])

    client = Client()
    _enter(client, zu)
    refused = client.post(f"/t/{slug}/privacy/erase/", {})  # not confirmed: nothing happens
    assert refused.status_code == 400
    with tenant_context(w.tenant):
        assert Customer.objects.get(pk=zu.pk).email == PERSONAL["email"]
    response = client.post(f"/t/{slug}/privacy/erase/", {"confirm": "yes"})
    assert response.status_code == 200
    # Signed out: the portal does not open any more with this session.
    assert client.get(f"/t/{slug}/privacy/").status_code == 403

    with tenant_context(w.tenant):
        assert Subscription.objects.get(pk=sub.pk).status == Subscription.Status.CANCELED
        assert Subscription.objects.get(pk=other_sub.pk).status != Subscription.Status.CANCELED
        assert Customer.objects.get(pk=other.pk).name == "Bia Kept"
        for invoice in Invoice.objects.filter(customer=zu).exclude(status="draft"):
            assert invoice.customer_snapshot["name"] == PERSONAL["name"]
            assert invoice.customer_snapshot["tax_id"] == PERSONAL["tax_id"]
        assert AuditEntry.objects.filter(action="customer.erasure_requested").count() == 1
        from tenants.models import Event

        assert Event.objects.filter(type="customer.erased", subject_id=zu.public_id).exists()
        method = PaymentMethod.objects.get(customer=zu)
        assert method.detached_at is not None
        assert method.token != "tok_zu"
    fiscal = {"billing_invoice.customer_snapshot"}
    for key in ("name", "tax_id"):
        assert _tables_holding(PERSONAL[key]) == fiscal, key
    for value in (PERSONAL["email"], PERSONAL["phone"]):
        assert _tables_holding(value) == set(), value
    assert _tables_holding(ADDRESS_LINE) == fiscal
