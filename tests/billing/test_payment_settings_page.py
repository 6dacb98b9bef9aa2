"""The dashboard's payments page: connect a Stripe account (keys stored
encrypted, never shown back), see the webhook URL, disconnect."""

import pytest
from django.test import Client

from billing.models import GatewayAccount
from core import clock
from core.actors import Actor
from tenants.accounts import staff_user_ensure
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.permissions import Role
from tenants.services import membership_add
from tests.conftest import make_tenant
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.django_db

GOOD = {
    "mode": "test",
    "api_key": "sk_test_dashboard1234",
    "webhook_secret": "whsec_dashboard1234",
    "publishable_key": "pk_test_dashboard1234",
}


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_owner_connects_stripe_and_the_keys_are_never_shown_back() -> None:
    acme = make_tenant("acme")
    client = _client(acme.owner)
    page = client.get("/dashboard/billing/payments/")
    assert page.status_code == 200
    assert b"No Stripe account connected yet" in page.content
    assert b"/webhooks/stripe/acme/" in page.content

    response = client.post("/dashboard/billing/payments/", GOOD)
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        account = GatewayAccount.objects.get(gateway="stripe")
        assert account.credentials == {k: v for k, v in GOOD.items() if k != "mode"}
        assert "sk_test_dashboard1234" not in account.credentials_encrypted
        entry = AuditEntry.objects.get(action="gateway_account.set")
        assert "sk_test" not in str(entry.changes)
    page = client.get("/dashboard/billing/payments/").content.decode()
    assert 'data-gateway="stripe-test"' in page
    assert "sk_test_…" in page
    for secret in ("sk_test_dashboard1234", "whsec_dashboard1234"):
        assert secret not in page

    client.post("/dashboard/billing/payments/stripe/test/disconnect/")
    with tenant_context(acme.tenant):
        account.refresh_from_db()
        assert not account.active
        assert account.credentials == {}
    assert b"No Stripe account connected yet" in client.get("/dashboard/billing/payments/").content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_key", "sk_live_dashboard1234"),  # live key in test mode
        ("api_key", "not-a-key"),
        ("webhook_secret", ""),
        ("publishable_key", "pk_live_dashboard1234"),
        ("mode", "production"),
    ],
)
def test_bad_credentials_are_a_form_error_and_change_nothing(field: str, value: str) -> None:
    acme = make_tenant("acme")
    response = _client(acme.owner).post("/dashboard/billing/payments/", {**GOOD, field: value})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    with tenant_context(acme.tenant):
        assert not GatewayAccount.objects.exists()


def test_only_the_owner_manages_gateway_accounts() -> None:
    acme = make_tenant("acme")
    admin = staff_user_ensure(email="admin@acme.example", password=PASSWORD)
    with tenant_context(acme.tenant):
        membership_add(
            tenant=acme.tenant, user=admin, role=Role.ADMIN, actor=Actor.system(), now=clock.now()
        )
    client = _client(admin)
    assert client.get("/dashboard/billing/payments/").status_code == 403
    assert client.post("/dashboard/billing/payments/", GOOD).status_code == 403
    with tenant_context(acme.tenant):
        assert not GatewayAccount.objects.exists()


def test_owner_sets_the_boleto_late_charges_and_bad_values_change_nothing() -> None:
    from decimal import Decimal

    from billing.models import CollectionSettings

    acme = make_tenant("acme")
    client = _client(acme.owner)
    page = client.get("/dashboard/billing/payments/").content.decode()
    assert 'name="fine_percent"' in page
    assert 'value="2.00"' in page  # the default multa

    good = {
        "form": "late_charges",
        "fine_percent": "1.50",
        "monthly_interest_percent": "0.99",
        "days_to_pay": "5",
    }
    assert client.post("/dashboard/billing/payments/", good).status_code == 302
    with tenant_context(acme.tenant):
        saved = CollectionSettings.objects.get()
        assert (saved.boleto_fine_percent, saved.boleto_monthly_interest_percent) == (
            Decimal("1.50"),
            Decimal("0.99"),
        )
        assert saved.boleto_days_to_pay == 5
        assert AuditEntry.objects.filter(action="collection_settings.updated").count() == 1
        # The Stripe form was not touched by this post.
        assert not GatewayAccount.objects.exists()

    for field, value in (
        ("fine_percent", "-1"),
        ("fine_percent", "11"),
        ("monthly_interest_percent", "abc"),
        ("days_to_pay", "0"),
        ("days_to_pay", "31"),
        ("fine_percent", "1.555"),
    ):
        response = client.post("/dashboard/billing/payments/", {**good, field: value})
        assert response.status_code == 400, (field, value)
    with tenant_context(acme.tenant):
        saved.refresh_from_db()
        assert saved.boleto_fine_percent == Decimal("1.50")
        assert saved.boleto_days_to_pay == 5
