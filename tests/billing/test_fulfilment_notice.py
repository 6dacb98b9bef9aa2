"""Shipping a box tells the subscriber once, with the tracking code, by email
through a real local SMTP server."""

import pytest

from billing.fulfilment import fulfilment_ship
from billing.models import FulfilmentOrder, Invoice
from billing.services import invoice_mark_paid
from notifications.models import MessageDelivery
from notifications.outbox import dispatch_batch
from tests.support.billing import ACTOR, utc, world
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def test_the_subscriber_gets_one_email_with_the_tracking_code(settings) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(settings) as smtp, world(NOW) as w:
        customer = w.customer("Beatriz Lima")
        customer.email = "bia@example.com"
        customer.locale = "en"
        customer.save(update_fields=["email", "locale"])
        plan = w.plan("box", amount=8_990, name="Coffee Box", ships_goods=True, box_items="Café")
        sub = w.subscribe(plan, customer)
        invoice = Invoice.objects.get(subscription=sub)
        invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=NOW)
        order = FulfilmentOrder.objects.get(subscription=sub)
        dispatch_batch(tenant=w.tenant, now=NOW)  # earlier events (welcome, receipt…)
        sent_before = MessageDelivery.objects.filter(status="sent").count()
        assert len(smtp.wait_for(sent_before)) == sent_before

        fulfilment_ship(
            tenant=w.tenant,
            order_id=order.pk,
            tracking_code="BR123456789BR",
            carrier="Correios",
            actor=ACTOR,
            now=NOW,
        )
        dispatch_batch(tenant=w.tenant, now=NOW)
        dispatch_batch(tenant=w.tenant, now=NOW)  # a second pass finds nothing new

        rows = MessageDelivery.objects.filter(template="order_shipped")
        assert [(r.recipient, r.status) for r in rows] == [("bia@example.com", "sent")]
        received = smtp.wait_for(sent_before + 1)
        shipped = [m for m in received if "has shipped" in str(m["Subject"])]
        assert len(shipped) == 1
        assert shipped[0]["Subject"] == "Your Coffee Box box has shipped"
        body = next(
            part.get_content()
            for part in shipped[0].walk()
            if part.get_content_type() == "text/plain"
        )
        assert "Tracking code: BR123456789BR" in body
        assert "Carrier: Correios" in body
        assert len(smtp.messages) == sent_before + 1
