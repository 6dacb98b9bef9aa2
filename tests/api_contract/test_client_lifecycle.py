"""A Python client generated from the live schema runs a whole lifecycle.

The schema is fetched from a live server, ``openapi-python-client`` generates a
client from it into a temporary folder, and that client — nothing hand-written
between the test and the HTTP wire — creates a product and two plans, a
customer on a test clock with a sandbox card, a subscription with a trial; the
clock runs through the trial and two renewals; the subscription is upgraded
with proration, cancelled at period end, and the invoices read back are exactly
the ones computed by hand below.

Tenant: America/Sao_Paulo (UTC-3), proration by calendar day (the day of the
change counts as remaining), half-even rounding. Basic R$100.00 with a 14-day
trial, Pro R$250.00, both monthly.

    Feb  1 12:00  subscribe to Basic: trialing until Feb 15 12:00, nothing billed
    Feb 15 12:00  trial ends          #1 subscription_cycle  10,000  (Feb 15 → Mar 15)
    Mar 15 12:00  renewal             #2 subscription_cycle  10,000  (Mar 15 → Apr 15)
    Apr 15 12:00  renewal             #3 subscription_cycle  10,000  (Apr 15 → May 15)
    Apr 29 12:00  upgrade to Pro, prorations invoiced now; Apr 29 .. May 14 remain,
                  16 of the period's 30 days:
                    credit Basic  10,000 × 16/30 =  5,333.33 →  -5,333
                    charge Pro    25,000 × 16/30 = 13,333.33 →  13,333
                                      #4 subscription_update   8,000
    Apr 29 12:00  cancel at period end: ends May 15 12:00, no renewal
    May 20        nothing more billed; the subscription is canceled

Every invoice is charged to the card and paid in full.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import TenantSetup, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


def sp(*args: int) -> datetime:
    """A São Paulo wall-clock time (UTC-3, no daylight saving) as UTC."""
    year, month, day, hour = args
    return datetime(year, month, day, hour + 3, tzinfo=UTC)


@pytest.fixture
def tenant(transactional_db: None) -> TenantSetup:
    return make_tenant("acme")


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package generated from the live server's schema, imported."""
    response = httpx.get(f"{live_server.url}/api/v1/schema?format=json", timeout=30)
    assert response.status_code == 200, response.text[:500]
    schema_path = tmp_path / "schema.json"
    schema_path.write_bytes(response.content)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"post_hooks": []}))  # no ruff run over the output
    package = f"ciclo_client_{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema_path),
            "--meta",
            "none",
            "--config",
            str(config_path),
            "--output-path",
            str(tmp_path / package),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


class Api:
    """The generated client's operations, called by operation id, with a new
    Idempotency-Key on every POST and a check of the expected status."""

    def __init__(self, package: ModuleType, base_url: str, key: str) -> None:
        self.package = package
        self.client = package.AuthenticatedClient(base_url=base_url, token=key, timeout=60)

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)

    def __call__(self, operation: str, expect: int = 200, **kwargs: Any) -> Any:
        module = importlib.import_module(f"{self.package.__name__}.api.v1.{operation}")
        if "idempotency_key" in module.sync_detailed.__code__.co_varnames:
            kwargs.setdefault("idempotency_key", uuid.uuid4().hex)
        response = module.sync_detailed(client=self.client, **kwargs)
        assert response.status_code == expect, (
            f"{operation}: {response.status_code} {response.content[:800]!r}"
        )
        return response.parsed


def test_generated_client_runs_a_whole_subscription_lifecycle(
    tenant: TenantSetup, live_server: Any, generated: ModuleType
) -> None:
    api = Api(generated, live_server.url, tenant.key.raw)
    m = api.model

    product = api("product_create", 201, body=m("ProductCreate")(name="Ciclo Cloud"))
    basic = api(
        "plan_create",
        201,
        body=m("PlanCreate")(
            product=product.id,
            code="basic",
            name="Basic",
            currency="BRL",
            amount_minor=10_000,
            trial_days=14,
        ),
    )
    pro = api(
        "plan_create",
        201,
        body=m("PlanCreate")(
            product=product.id, code="pro", name="Pro", currency="BRL", amount_minor=25_000
        ),
    )
    clock = api("test_clock_create", 201, body=m("TestClockCreate")(frozen_time=sp(2026, 2, 1, 12)))
    customer = api(
        "customer_create",
        201,
        body=m("CustomerCreate")(name="Ana Souza", email="ana@example.com", test_clock=clock.id),
    )
    card = api(
        "payment_method_create",
        201,
        customer_id=customer.id,
        body=m("PaymentMethodAttach")(type_=m("PaymentMethodKindEnum").CARD, token="tok_visa"),
    )
    assert card.id.startswith("pm_")
    sub = api(
        "subscription_create",
        201,
        body=m("SubscriptionCreate")(customer=customer.id, plan=basic.id),
    )
    assert sub.status == m("SubscriptionStatusEnum").TRIALING
    assert sub.trial_end == sp(2026, 2, 15, 12)

    def invoices() -> list[Any]:
        page = api("invoice_list", customer=customer.id, limit=100)
        assert page.has_more is False
        return sorted(page.data, key=lambda i: (i.issued_at, i.number))

    def advance(to: datetime) -> None:
        moved = api("test_clock_advance", id=clock.id, body=m("TestClockAdvance")(frozen_time=to))
        assert moved.frozen_time == to

    # Through the trial: the first invoice at trial end.
    advance(sp(2026, 2, 16, 0))
    assert [(i.billing_reason, i.total_minor) for i in invoices()] == [
        ("subscription_cycle", 10_000)
    ]
    assert api("subscription_retrieve", id=sub.id).status == m("SubscriptionStatusEnum").ACTIVE

    # Two renewals, then the day of the upgrade.
    advance(sp(2026, 4, 29, 12))
    assert len(invoices()) == 3

    change = m("Change")(
        plan=pro.id, when=m("WhenEnum").NOW, proration=m("ProrationEnum").INVOICE_NOW
    )
    preview = api("subscription_preview_change", id=sub.id, body=change)
    assert sorted(line.amount_minor for line in preview.lines) == [-5_333, 13_333]
    upgraded = api("subscription_change", id=sub.id, body=change)
    assert upgraded.plan == pro.id

    canceled = api("subscription_cancel", id=sub.id, body=m("Cancel")(at_period_end=True))
    assert canceled.cancel_at_period_end is True
    assert canceled.status == m("SubscriptionStatusEnum").ACTIVE

    advance(sp(2026, 5, 20, 0))
    final = api("subscription_retrieve", id=sub.id)
    got = invoices()

    assert final.status == m("SubscriptionStatusEnum").CANCELED
    assert final.ended_at == sp(2026, 5, 15, 12)
    paid = m("InvoiceStatusEnum").PAID
    assert [
        (
            i.billing_reason,
            i.status,
            i.issued_at,
            i.total_minor,
            i.amount_paid_minor,
            [line.amount_minor for line in i.lines],
        )
        for i in got
    ] == [
        ("subscription_cycle", paid, sp(2026, 2, 15, 12), 10_000, 10_000, [10_000]),
        ("subscription_cycle", paid, sp(2026, 3, 15, 12), 10_000, 10_000, [10_000]),
        ("subscription_cycle", paid, sp(2026, 4, 15, 12), 10_000, 10_000, [10_000]),
        ("subscription_update", paid, sp(2026, 4, 29, 12), 8_000, 8_000, [-5_333, 13_333]),
    ]
    assert [i.number for i in got] == [f"ACME-2026-00000{n}" for n in range(1, 5)]
    assert {i.subscription for i in got} == {sub.id}
    assert {i.currency for i in got} == {"BRL"}
