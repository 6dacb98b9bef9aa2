"""Small helpers for the money scenarios (test_money_*.py).

Expectations in those tests are computed by hand; these helpers only read rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from billing import coupons as billing_coupons
from billing import subscriptions as billing_subs
from billing.models import Coupon, Invoice
from core.errors import ValidationFailed
from subscriptions.models import Subscription
from tenants.models import Event
from tests.support.billing import ACTOR, World

SP = "America/Sao_Paulo"


def coupon(w: World, code: str, **kw: Any) -> Coupon:
    return billing_coupons.coupon_create(tenant=w.tenant, code=code, actor=ACTOR, now=w.now, **kw)


def amounts(invoice: Invoice) -> tuple[int, int, int, int, int, int]:
    """(subtotal, discount, tax, total, credit applied, amount due)."""
    return (
        invoice.subtotal_minor,
        invoice.discount_minor,
        invoice.tax_minor,
        invoice.total_minor,
        invoice.credit_applied_minor,
        invoice.amount_due_minor,
    )


def period(invoice: Invoice) -> tuple[datetime | None, datetime | None]:
    return (invoice.period_start, invoice.period_end)


def line_periods(invoice: Invoice) -> list[tuple[str, datetime | None, datetime | None]]:
    return [(line.kind, line.period_start, line.period_end) for line in invoice.lines.all()]


def refused(call: Callable[[], object]) -> str:
    """The code of the ValidationFailed the call raises."""
    with pytest.raises(ValidationFailed) as err:
        call()
    return err.value.code


def events(sub: Subscription, type: str) -> list[tuple[datetime, dict[str, Any]]]:
    return [
        (e.at, e.data)
        for e in Event.objects.filter(subject_id=sub.public_id, type=type).order_by("at", "id")
    ]


def change(w: World, sub: Subscription, **kw: Any) -> Subscription:
    return billing_subs.subscription_change(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )
