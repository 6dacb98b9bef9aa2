"""Physical subscriptions: one fulfilment order per paid period, its path and its
refusals (billing/fulfilment.py)."""

from datetime import timedelta

import pytest
from django.test import Client

from billing.fulfilment import (
    fulfilment_cancel,
    fulfilment_deliver,
    fulfilment_order_for_invoice,
    fulfilment_pack,
    fulfilment_pack_many,
    fulfilment_ship,
)
from billing.gateways.sandbox import SandboxGateway
from billing.models import FulfilmentOrder, Invoice, PaymentAttempt
from billing.payments import payment_method_attach
from billing.services import invoice_mark_paid
from core.errors import NotFound, StateConflict, ValidationFailed
from subscriptions.services import subscription_mark_past_due, subscription_pause
from tenants.context import platform_access
from tenants.models import Event
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
SANDBOX = SandboxGateway()
ADDRESS = {
    "line1": "Rua Augusta",
    "number": "1500",
    "district": "Consolação",
    "city": "São Paulo",
    "state": "SP",
    "postal_code": "01304001",
    "country": "BR",
}


def _box_plan(w, **kw):  # type: ignore[no-untyped-def]
    return w.plan(
        "box", amount=8_990, ships_goods=True, box_items="2 x Café 250 g\n1 x Caneca", **kw
    )


def _customer(w):  # type: ignore[no-untyped-def]
    customer = w.customer("Beatriz Lima")
    customer.address = ADDRESS
    customer.save(update_fields=["address"])
    return customer


def _post(body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post("/webhooks/sandbox/", body, content_type="application/json", **http)


def test_a_paid_period_makes_one_order_even_when_the_payment_webhook_comes_twice() -> None:
    with world(NOW) as w:
        customer = _customer(w)
        saved = SANDBOX.tokenize_card(
            number="4000002500003155", exp_month=12, exp_year=2030, cvc="123"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(_box_plan(w, pricing_model="per_seat"), customer, quantity=2)
        invoice = Invoice.objects.get(subscription=sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        assert attempt.status == "requires_action"
        assert not FulfilmentOrder.objects.exists()  # unpaid: no box yet

        # The gateway tells us twice (two deliveries of one event, and a second event).
        body, headers = SANDBOX.complete_authentication(gateway_ref=attempt.gateway_ref)
        again, again_headers = SandboxGateway.signed_event(
            "charge.succeeded", {"idempotency_key": attempt.idempotency_key}
        )
        responses = [_post(body, headers), _post(body, headers), _post(again, again_headers)]

        assert [r.status_code for r in responses] == [200, 200, 200]
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        order = FulfilmentOrder.objects.get()
        assert (order.subscription_id, order.invoice_id) == (sub.pk, invoice.pk)
        assert (order.period_start, order.period_end) == (
            invoice.period_start,
            invoice.period_end,
        )
        assert order.status == "pending"
        assert order.quantity == 2
        assert order.items == "2 x Café 250 g\n1 x Caneca"
        assert order.ship_to_name == "Beatriz Lima"
        assert order.shipping_address == ADDRESS
        assert Event.objects.filter(type="fulfilment_order.created").count() == 1
        # Settling the same invoice again (a late listener call) finds the same order.
        assert fulfilment_order_for_invoice(tenant=w.tenant, invoice=invoice, now=NOW) == order
        assert FulfilmentOrder.objects.count() == 1
        # A later address change does not rewrite the promised box.
        customer.address = {**ADDRESS, "number": "9"}
        customer.save(update_fields=["address"])
        order.refresh_from_db()
        assert order.shipping_address["number"] == "1500"


def test_a_plan_without_goods_ships_nothing() -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan("digital"), _customer(w))
        invoice = Invoice.objects.get(subscription=sub)
        invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=NOW)
        assert not FulfilmentOrder.objects.exists()


def test_a_past_due_subscription_gets_its_box_when_the_overdue_invoice_is_paid() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_box_plan(w), _customer(w))
        first = Invoice.objects.get(subscription=sub)
        invoice_mark_paid(tenant=w.tenant, invoice_id=first.pk, actor=ACTOR, now=NOW)
        assert FulfilmentOrder.objects.count() == 1
        sub = w.refresh(sub)

        renewal_at = sub.current_period_end
        w.advance(renewal_at + timedelta(days=10))
        sub = w.refresh(sub)
        second = Invoice.objects.filter(subscription=sub).exclude(pk=first.pk).get()
        assert second.status == "open"
        # Dunning's verdict on the failed renewal (as its listener would record it).
        subscription_mark_past_due(
            tenant=w.tenant, subscription_id=sub.pk, now=renewal_at, invoice=second.public_id
        )
        assert w.refresh(sub).status == "past_due"
        assert FulfilmentOrder.objects.count() == 1  # past due: no box for the unpaid period

        invoice_mark_paid(
            tenant=w.tenant, invoice_id=second.pk, actor=ACTOR, now=renewal_at + timedelta(days=10)
        )
        orders = list(FulfilmentOrder.objects.order_by("period_start"))
        assert [o.invoice_id for o in orders] == [first.pk, second.pk]
        assert orders[1].period_start == second.period_start


def test_a_paused_subscription_gets_no_box() -> None:
    with world(NOW) as w:
        sub = w.subscribe(_box_plan(w, max_pauses=1, max_pause_cycles=2), _customer(w))
        first = Invoice.objects.get(subscription=sub)
        invoice_mark_paid(tenant=w.tenant, invoice_id=first.pk, actor=ACTOR, now=NOW)
        sub = w.refresh(sub)
        subscription_pause(tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=NOW, cycles=1)
        w.advance(sub.current_period_end + timedelta(days=5))
        sub = w.refresh(sub)
        assert sub.status == "paused"
        assert FulfilmentOrder.objects.count() == 1
        # Even an invoice paid while paused (e.g. an old one settled late) makes no box.
        second_period = Invoice(
            tenant=w.tenant,
            customer=sub.customer,
            subscription=sub,
            status="paid",
            billing_reason="subscription_cycle",
            currency="BRL",
            period_start=sub.current_period_end,
            period_end=sub.current_period_end + timedelta(days=30),
        )
        assert fulfilment_order_for_invoice(tenant=w.tenant, invoice=second_period, now=NOW) is None
        assert FulfilmentOrder.objects.count() == 1


def _order(w):  # type: ignore[no-untyped-def]
    sub = w.subscribe(_box_plan(w), _customer(w))
    invoice = Invoice.objects.get(subscription=sub)
    invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=NOW)
    return FulfilmentOrder.objects.get(subscription=sub)


def test_the_box_path_and_its_refusals() -> None:
    with world(NOW) as w:
        order = _order(w)
        for bad, param in (
            ("", "tracking_code"),
            ("  ", "tracking_code"),
            ("A" * 10_240, "tracking_code"),
            ("AB\x00C", "tracking_code"),
        ):
            with pytest.raises(ValidationFailed) as err:
                fulfilment_ship(
                    tenant=w.tenant, order_id=order.pk, tracking_code=bad, actor=ACTOR, now=NOW
                )
            assert err.value.param == param
        with pytest.raises(ValidationFailed):
            fulfilment_ship(
                tenant=w.tenant,
                order_id=order.pk,
                tracking_code="X1",
                carrier="C" * 61,
                actor=ACTOR,
                now=NOW,
            )
        order.refresh_from_db()
        assert (order.status, order.tracking_code) == ("pending", "")
        with pytest.raises(StateConflict):
            fulfilment_deliver(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW)

        packed = fulfilment_pack_many(tenant=w.tenant, order_ids=[order.pk], actor=ACTOR, now=NOW)
        assert [o.status for o in packed] == ["packed"]
        with pytest.raises(StateConflict):
            fulfilment_pack(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW)
        shipped = fulfilment_ship(
            tenant=w.tenant,
            order_id=order.pk,
            tracking_code=" BR123456789BR ",
            carrier="Correios",
            actor=ACTOR,
            now=NOW,
        )
        assert (shipped.status, shipped.tracking_code, shipped.carrier) == (
            "shipped",
            "BR123456789BR",
            "Correios",
        )
        with pytest.raises(StateConflict):
            fulfilment_ship(
                tenant=w.tenant, order_id=order.pk, tracking_code="Z", actor=ACTOR, now=NOW
            )
        with pytest.raises(StateConflict):
            fulfilment_cancel(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW)
        delivered = fulfilment_deliver(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW)
        assert delivered.status == "delivered"
        assert delivered.delivered_at == NOW
        with pytest.raises(StateConflict):
            fulfilment_ship(
                tenant=w.tenant, order_id=order.pk, tracking_code="Z", actor=ACTOR, now=NOW
            )
        order.refresh_from_db()
        assert order.tracking_code == "BR123456789BR"
        shipped_events = Event.objects.filter(type="fulfilment_order.shipped")
        assert shipped_events.count() == 1
        assert shipped_events.get().data["tracking_code"] == "BR123456789BR"


def test_a_pending_order_can_be_canceled_and_another_tenants_order_is_not_found() -> None:
    with world(NOW) as w:
        order = _order(w)
        assert (
            fulfilment_cancel(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW).status
            == "canceled"
        )
        with pytest.raises(StateConflict):
            fulfilment_pack(tenant=w.tenant, order_id=order.pk, actor=ACTOR, now=NOW)
    with world(NOW, slug="other") as other:
        with pytest.raises(NotFound):
            fulfilment_ship(
                tenant=other.tenant, order_id=order.pk, tracking_code="X", actor=ACTOR, now=NOW
            )
        with pytest.raises(NotFound):
            fulfilment_pack_many(tenant=other.tenant, order_ids=[order.pk], actor=ACTOR, now=NOW)
    with platform_access():
        assert FulfilmentOrder.objects.get(pk=order.pk).status == "canceled"
