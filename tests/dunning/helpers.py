"""Helpers for the dunning tests: cards and slips through the real payment
services, and compact views of the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.gateways.sandbox import SandboxBoletoGateway, SandboxGateway
from billing.models import Invoice, PaymentAttempt
from billing.payments import payment_method_attach, payment_method_attach_offline, webhook_receive
from customers.models import Customer, PaymentMethod
from tenants.models import Event
from tests.scenarios.helpers_lifecycle import loc
from tests.support.billing import ACTOR, World

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000009995"  # insufficient_funds, every time


def attach_card(w: World, customer: Customer, number: str) -> PaymentMethod:
    saved = SandboxGateway().tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123")
    return payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=w.now
    )


def boleto_customer(w: World, name: str = "Bia") -> Customer:
    customer = w.customer(name)
    customer.tax_id = "529.982.247-25"
    customer.email = f"{name.lower()}@example.com"
    customer.save()
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=w.now
    )
    return customer


def pay_slip(invoice: Invoice, now: datetime) -> str:
    """The payer pays the boleto; the gateway's signed webhook arrives at ``now``."""
    attempt = PaymentAttempt.objects.get(invoice=invoice, status="pending")
    body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=attempt.gateway_ref)
    return webhook_receive(gateway_name="sandbox_boleto", body=body, headers=headers, now=now)


RELEVANT = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.marked_uncollectible",
    "payment.",
    "dunning.",
    "customer.payment_method_attached",
    "subscription.past_due",
    "subscription.suspended",
    "subscription.reactivated",
    "subscription.canceled",
    "subscription.activated",
)


def timeline(since: datetime, *, subjects: set[str] | None = None) -> list[tuple[Any, ...]]:
    """(local time, type, detail) of the events since ``since``, in order."""
    rows = []
    for e in Event.objects.filter(at__gte=since).order_by("at", "id"):
        if not e.type.startswith(RELEVANT):
            continue
        if subjects is not None and e.subject_id not in subjects:
            continue
        detail: Any = ""
        if e.type == "dunning.reminder":
            detail = (e.data["offset_days"], e.data["template"])
        elif e.type == "dunning.step_executed":
            detail = (e.data["offset_days"], e.data["action"], e.data["outcome"])
        elif e.type == "dunning.case_closed":
            detail = e.data["reason"]
        rows.append((loc(e.at), e.type, detail))
    return rows
