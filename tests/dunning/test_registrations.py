"""Dunning hears billing and tenant creation only through what it registers in
settings (BILLING_LISTENERS, TENANT_CREATED_LISTENERS): billing and tenants
never import it. Without the registration nothing reaches dunning; with a
listener of its own, a test hears exactly what billing tells."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import pytest
from django.test import override_settings

from billing.models import Invoice, PaymentAttempt
from core.errors import ValidationFailed
from dunning.models import DunningCase, DunningPolicy
from tenants.context import platform_access
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.dunning.helpers import DECLINED_CARD, GOOD_CARD, attach_card
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import world

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    heard: ClassVar[list[tuple[str, str, str]]] = []

    def invoice_settled(self, *, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
        self.heard.append(("invoice_settled", invoice.public_id, invoice.status))

    def payment_unsettled(self, *, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
        self.heard.append(("payment_unsettled", attempt.invoice.public_id, attempt.status))


def test_billing_tells_its_registered_listeners_what_was_settled_and_unsettled() -> None:
    Recorder.heard = []
    recording = override_settings(BILLING_LISTENERS=[f"{__name__}.Recorder"])
    with recording, world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        first = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
        attach_card(w, customer, DECLINED_CARD)
        w.advance(sp(2026, 2, 5, 13))
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        cases = DunningCase.objects.filter(invoice=renewal).count()

    assert Recorder.heard == [
        ("invoice_settled", first.public_id, "paid"),
        ("payment_unsettled", renewal.public_id, "failed"),
    ]
    assert cases == 0  # dunning was not registered, so it heard nothing


def test_with_its_registration_dunning_opens_a_case_for_the_declined_renewal() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        attach_card(w, customer, DECLINED_CARD)
        w.advance(sp(2026, 2, 5, 13))
        renewal = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
        cases = DunningCase.objects.filter(invoice=renewal).count()

    assert cases == 1


def test_a_new_tenant_gets_its_policies_only_through_the_registration() -> None:
    with override_settings(TENANT_CREATED_LISTENERS=[]):
        bare = make_tenant("bare").tenant
    seeded = make_tenant("seeded").tenant

    with platform_access():
        kinds = {
            t.slug: sorted(
                DunningPolicy.objects.filter(tenant=t).values_list("payment_method_kind", flat=True)
            )
            for t in (bare, seeded)
        }
    assert kinds == {"bare": [], "seeded": ["boleto", "card", "pix", "pix_automatico"]}


def _refuse(*, tenant: Tenant, now: datetime) -> None:
    raise ValidationFailed("A listener refused the tenant.")


def test_a_listener_that_fails_leaves_no_tenant_behind() -> None:
    listeners = ["dunning.services.dunning_policies_seed", f"{__name__}._refuse"]
    with override_settings(TENANT_CREATED_LISTENERS=listeners), pytest.raises(ValidationFailed):
        make_tenant("halfway")

    with platform_access():
        assert not Tenant.objects.filter(slug="halfway").exists()
        assert not DunningPolicy.objects.filter(tenant__slug="halfway").exists()
