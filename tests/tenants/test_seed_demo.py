"""`manage.py seed_demo`: a demo business with a year of history, made through the
real services on a test clock, once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Coupon, Invoice, PaymentAttempt, TaxRate
from customers.domain.taxid import normalize_tax_id
from customers.models import Customer, PaymentMethod, TestClock
from subscriptions.models import Plan, Product, Subscription
from tenants.context import tenant_context
from tenants.management.commands.seed_demo import DEMO_CLOCK_NAME, DEMO_KEY_NAME, cpf
from tenants.models import ApiKey, Tenant

# The command charges cards and runs its clock in transactions of its own.
pytestmark = pytest.mark.django_db(transaction=True)


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--customers", "20", "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Product, Plan, Coupon, TaxRate, TestClock, Customer, PaymentMethod, Subscription,
            Invoice, PaymentAttempt,
        )
    }  # fmt: skip


def test_cpfs_have_valid_check_digits() -> None:
    import random

    rng = random.Random(1)
    for _ in range(200):
        normalize_tax_id(cpf(rng))  # raises on a wrong check digit


def test_seed_demo_builds_a_year_of_business_once() -> None:
    out = _seed()
    assert "Sign in:  owner@demo.ciclo.local" in out
    assert "API key:  sk_" in out
    tenant = Tenant.objects.get(slug="demo")
    with tenant_context(tenant):
        clock = TestClock.objects.get(name=DEMO_CLOCK_NAME)
        customers = Customer.objects.filter(test_clock=clock)
        assert customers.count() == 20
        assert all(c.locale == "pt-br" and c.email and c.tax_id for c in customers)
        for c in customers:
            normalize_tax_id(c.tax_id)
        kinds = set(PaymentMethod.objects.values_list("kind", flat=True))
        assert {"card", "boleto", "pix"} <= kinds

        codes = set(Plan.objects.values_list("code", flat=True))
        assert {"crm-basico", "crm-pro", "crm-pro-anual", "equipe-por-usuario"} <= codes
        assert Plan.objects.filter(interval="year", max_installments__gt=1).exists()
        assert Plan.objects.filter(pricing_model="per_seat").exists()
        assert Plan.objects.filter(setup_fee_minor__gt=0, tax_rate__isnull=False).exists()
        assert Coupon.objects.filter(code="BEMVINDO20").exists()

        statuses = set(Subscription.objects.values_list("status", flat=True))
        assert "active" in statuses
        assert "paused" in statuses
        assert statuses & {"past_due", "canceled"}

        # A year of history: paid invoices in each of the last 12 calendar months.
        paid = Invoice.objects.filter(status="paid").values_list("issued_at", flat=True)
        assert len({(at.year, at.month) for at in paid}) >= 12
        assert clock.frozen_time - min(paid) >= timedelta(days=360)
        assert Invoice.objects.filter(status="open").exists()
        reasons = set(Invoice.objects.values_list("billing_reason", flat=True))
        assert {"subscription_create", "subscription_cycle"} <= reasons

        # Failed cards and boletos/Pix went through the sandbox gateways.
        attempts = set(PaymentAttempt.objects.values_list("gateway", "status"))
        assert ("sandbox", "failed") in attempts
        assert ("sandbox", "succeeded") in attempts
        assert ("sandbox_boleto", "succeeded") in attempts or (
            "sandbox_pix",
            "succeeded",
        ) in attempts
        before = _counts()
        first_key = ApiKey.objects.get(name=DEMO_KEY_NAME, revoked_at__isnull=True)

    out = _seed()

    assert "Seeded" not in out
    assert "API key:  sk_" in out
    with tenant_context(tenant):
        assert _counts() == before
        live = ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True)
        assert live.count() == 1
        assert live.get().pk != first_key.pk
