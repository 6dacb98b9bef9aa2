"""Planning and sending subscriber messages from outbox events, through the real
dispatcher, the real billing and subscription services and Django's mail outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, PaymentAttempt, SandboxCharge
from billing.payments import payment_method_attach, payment_method_attach_offline
from customers.models import Customer
from notifications import messages
from notifications.messages import deliver, plan_messages, send_due
from notifications.models import MessageDelivery
from notifications.outbox import dispatch_pending
from tenants.models import Event
from tenants.outbox import emit
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _customer(w, *, email="ana@example.com", phone="", locale="en", tax_id=""):  # type: ignore[no-untyped-def]
    return Customer.objects.create(
        tenant=w.tenant,
        name="Ana Souza",
        email=email,
        phone=phone,
        locale=locale,
        tax_id=tax_id,
        test_clock=w.clock,
    )


def _card(w, customer, number="4242424242424242"):  # type: ignore[no-untyped-def]
    saved = SandboxGateway().tokenize_card(number=number, exp_month=12, exp_year=2030, cvc="123")
    return payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
    )


def _dispatch(w) -> None:  # type: ignore[no-untyped-def]
    dispatch_pending(tenant=w.tenant, now=NOW)


def _rows(**filters):  # type: ignore[no-untyped-def]
    return list(
        MessageDelivery.objects.filter(**filters)
        .order_by("id")
        .values_list("template", "channel", "recipient", "status")
    )


# --- planning ----------------------------------------------------------------------


def test_a_card_subscription_sends_a_welcome_and_a_receipt_not_an_invoice_notice() -> None:
    with world(NOW) as w:
        customer = _customer(w)
        _card(w, customer)
        w.subscribe(w.plan(amount=9_990), customer)

        _dispatch(w)

        assert _rows() == [
            ("welcome", "email", "ana@example.com", "sent"),
            ("payment_succeeded", "email", "ana@example.com", "sent"),
        ]
        assert [m.subject for m in mail.outbox] == [
            "Welcome to Acme",
            "Receipt for your payment of R$99.90",
        ]
        receipt = MessageDelivery.objects.get(template="payment_succeeded")
        assert receipt.attempts == 1
        assert receipt.provider_id == mail.outbox[1].extra_headers["Message-ID"]
        assert receipt.next_attempt_at is None


def test_planning_an_event_twice_writes_and_sends_nothing_more() -> None:
    with world(NOW) as w:
        customer = _customer(w)
        event_id = emit(
            tenant_id=w.tenant.pk,
            type="customer.payment_method_expiring",
            at=NOW,
            subject_type="customer",
            subject_id=customer.public_id,
            data={
                "customer": customer.public_id,
                "brand": "visa",
                "last4": "4242",
                "exp_month": 7,
                "exp_year": 2026,
            },
        )
        event = Event.objects.get(public_id=event_id)

        with transaction.atomic():
            plan_messages(event, now=NOW)
        with transaction.atomic():
            plan_messages(event, now=NOW)

        assert _rows() == [("card_expiring", "email", "ana@example.com", "sent")]
        assert len(mail.outbox) == 1
        assert "Visa card ending in 4242 expires on 07/2026" in mail.outbox[0].body
        with pytest.raises(IntegrityError), transaction.atomic():
            MessageDelivery.objects.create(
                tenant=w.tenant,
                event=event,
                template="card_expiring",
                channel="email",
                recipient="ana@example.com",
                language="en",
                created_at=NOW,
                next_attempt_at=NOW,
            )


def test_the_language_is_the_customers_then_the_tenants() -> None:
    with world(NOW) as w:
        w.tenant.locale = "ro"
        w.tenant.save()
        ana = _customer(w, email="ana@example.com", locale="pt-br")
        ion = _customer(w, email="ion@example.com", locale="")
        for customer in (ana, ion):
            emit(
                tenant_id=w.tenant.pk,
                type="subscription.price_change_scheduled",
                at=NOW,
                subject_type="customer",
                subject_id=customer.public_id,
                data={
                    "customer": customer.public_id,
                    "new_amount": 10_990,
                    "currency": "BRL",
                    "effective_at": "2026-07-01T03:00:00+00:00",
                },
            )

        _dispatch(w)

        assert list(
            MessageDelivery.objects.order_by("recipient").values_list("recipient", "language")
        ) == [("ana@example.com", "pt-br"), ("ion@example.com", "ro")]
        bodies = {m.to[0]: m.body for m in mail.outbox}
        assert "R$\xa0109,90" in bodies["ana@example.com"]  # pt-BR money
        assert "109,90\xa0BRL" in bodies["ion@example.com"]  # ro money
        assert {m.extra_headers["Content-Language"] for m in mail.outbox} == {"pt-BR", "ro"}


def test_no_address_no_message_and_events_about_nobody_plan_nothing() -> None:
    with world(NOW) as w:
        customer = _customer(w, email="", phone="")
        emit(
            tenant_id=w.tenant.pk,
            type="customer.payment_method_expiring",
            at=NOW,
            subject_type="customer",
            subject_id=customer.public_id,
            data={"customer": customer.public_id},
        )
        emit(
            tenant_id=w.tenant.pk,
            type="plan.created",
            at=NOW,
            subject_type="plan",
            subject_id="plan_x",
            data={},
        )

        _dispatch(w)

        assert MessageDelivery.objects.count() == 0
        assert Event.objects.filter(dispatched_at__isnull=True).count() == 0


def _dunning_event(w, invoice, customer, *, template, channels):  # type: ignore[no-untyped-def]
    return emit(
        tenant_id=w.tenant.pk,
        type="dunning.reminder",
        at=NOW,
        subject_type="invoice",
        subject_id=invoice.public_id,
        data={
            "case": "dc_1",
            "invoice": invoice.public_id,
            "customer": customer.public_id,
            "subscription": None,
            "offset_days": -5,
            "channels": channels,
            "template": template,
        },
    )


def _boleto_subscription(w, **customer_kw):  # type: ignore[no-untyped-def]
    customer = _customer(w, tax_id="529.982.247-25", **customer_kw)
    payment_method_attach_offline(
        tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
    )
    sub = w.subscribe(w.plan(amount=12_345), customer)
    invoice = Invoice.objects.get(subscription=sub)
    return customer, sub, invoice


def test_a_dunning_reminder_sends_exactly_the_named_template_on_the_named_channels() -> None:
    with world(NOW) as w:
        customer, _sub, invoice = _boleto_subscription(w, phone="(11) 98765-4321")
        _dispatch(w)
        before = MessageDelivery.objects.count()

        _dunning_event(
            w, invoice, customer, template="dunning_reminder_before", channels=["email", "sms"]
        )
        _dunning_event(w, invoice, customer, template="dunning_reminder_due", channels=["sms"])
        _dunning_event(w, invoice, customer, template="no_such_template", channels=["email"])
        _dispatch(w)

        new = _rows(id__gt=MessageDelivery.objects.order_by("id")[before - 1].id)
        assert new == [
            ("dunning_reminder_before", "email", "ana@example.com", "sent"),
            ("dunning_reminder_before", "sms", "+5511987654321", "sent"),
            ("dunning_reminder_due", "sms", "+5511987654321", "sent"),
        ]
        linha = SandboxCharge.objects.get().details["linha_digitavel"]
        reminder = next(m for m in mail.outbox if m.subject.startswith("Reminder"))
        assert linha in reminder.body
        assert "in 5 days" in reminder.body


def test_a_boleto_invoice_email_carries_the_linha_digitavel_and_the_slip_link() -> None:
    with world(NOW) as w:
        _boleto_subscription(w)

        _dispatch(w)

        attempt = PaymentAttempt.objects.get()
        details = SandboxCharge.objects.get(ref=attempt.gateway_ref).details
        [notice] = [m for m in mail.outbox if m.subject.startswith("Invoice")]
        assert notice.subject.startswith("Invoice ACME-2026-")
        assert details["linha_digitavel"] in notice.body
        assert f"http://127.0.0.1:8000/sandbox/boleto/{attempt.gateway_ref}/" in notice.body
        html = notice.alternatives[0][0]
        assert details["linha_digitavel"] in html


def test_a_pix_invoice_email_carries_the_copy_paste_code() -> None:
    with world(NOW) as w:
        customer = _customer(w)
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="pix", actor=ACTOR, now=NOW
        )
        w.subscribe(w.plan(amount=5_000), customer)

        _dispatch(w)

        payload = SandboxCharge.objects.get().details["payload"]
        [notice] = [m for m in mail.outbox if m.subject.startswith("Invoice")]
        assert payload in notice.body


def test_an_invoice_email_waits_for_its_boleto_then_sends_without_it_after_a_while(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    with world(NOW) as w:
        customer = _customer(w, tax_id="529.982.247-25")
        payment_method_attach_offline(
            tenant=w.tenant, customer=customer, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=12_345), customer)
        invoice = Invoice.objects.get(subscription=sub)
        # As if the boleto were still being issued when the message is sent.
        PaymentAttempt.objects.filter(invoice=invoice).update(gateway_ref="")
        row = _row_for(Event.objects.get(type="invoice.finalized"), "invoice_available")

        first = deliver(tenant=w.tenant, delivery_id=row.pk, now=NOW)
        row.refresh_from_db()
        waiting = (row.status, row.attempts, row.next_attempt_at, row.error)
        too_early = deliver(tenant=w.tenant, delivery_id=row.pk, now=NOW + timedelta(seconds=30))
        later = NOW + timedelta(seconds=settings.MESSAGE_DETAILS_WAIT_SECONDS)
        last = deliver(tenant=w.tenant, delivery_id=row.pk, now=later)
        row.refresh_from_db()

        assert first == "pending"
        assert waiting == (
            "pending",
            0,
            NOW + timedelta(minutes=1),
            "waiting: the boleto or Pix code is not issued yet",
        )
        assert too_early is None
        assert last == "sent"
        assert (row.status, row.attempts) == ("sent", 1)
        [notice] = [m for m in mail.outbox if m.subject.startswith("Invoice")]
        assert "See and pay it in your account" in notice.body


def test_a_message_about_an_invoice_paid_meanwhile_is_skipped() -> None:
    with world(NOW) as w:
        customer, _sub, invoice = _boleto_subscription(w)
        _dispatch(w)
        mail.outbox.clear()
        event_id = _dunning_event(
            w, invoice, customer, template="dunning_reminder_overdue", channels=["email"]
        )
        row = _row_for(Event.objects.get(public_id=event_id), "dunning_reminder_overdue")
        Invoice.objects.filter(pk=invoice.pk).update(status="paid")

        outcome = deliver(tenant=w.tenant, delivery_id=row.pk, now=NOW)

        row.refresh_from_db()
        assert outcome == "skipped"
        assert (row.status, row.error, row.next_attempt_at) == (
            "skipped",
            "the invoice is paid",
            None,
        )
        assert mail.outbox == []


def test_a_declined_card_tells_the_subscriber_by_email_and_sms_with_the_update_link() -> None:
    with world(NOW) as w:
        customer = _customer(w, phone="+5511987654321")
        _card(w, customer, number="4000000000009995")  # insufficient funds
        w.subscribe(w.plan(amount=9_990), customer)

        _dispatch(w)

        assert _rows(template="payment_failed") == [
            ("payment_failed", "email", "ana@example.com", "sent"),
            ("payment_failed", "sms", "+5511987654321", "sent"),
        ]
        [failed] = [m for m in mail.outbox if "failed" in m.subject]
        assert failed.subject == "Your payment of R$99.90 failed"
        assert "/t/acme/enter/" in failed.body
        assert "next=payment_methods" in failed.body
        assert "Reason: The card has insufficient funds." in failed.body


# --- sending: state before and after, retries -------------------------------------------


def _row_for(event, template, channel="email"):  # type: ignore[no-untyped-def]
    """A planned message, written without its on-commit send, so the test
    drives the sender with its own clock."""
    customer = messages.customer_of(event)
    return MessageDelivery.objects.create(
        tenant_id=event.tenant_id,
        event=event,
        customer=customer,
        template=template,
        channel=channel,
        recipient=customer.email,
        language="en",
        created_at=NOW,
        next_attempt_at=NOW,
    )


def _one_email_row(w):  # type: ignore[no-untyped-def]
    customer = _customer(w)
    event_id = emit(
        tenant_id=w.tenant.pk,
        type="subscription.price_change_scheduled",
        at=NOW,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, "new_amount": 10_990, "currency": "BRL"},
    )
    return _row_for(Event.objects.get(public_id=event_id), "price_change")


def test_running_the_sender_again_after_a_completed_send_does_not_send_again() -> None:
    with world(NOW) as w:
        row = _one_email_row(w)

        first = deliver(tenant=w.tenant, delivery_id=row.pk, now=NOW)
        again = deliver(tenant=w.tenant, delivery_id=row.pk, now=NOW + timedelta(days=1))
        swept = send_due(now=NOW + timedelta(days=1))

        row.refresh_from_db()
        assert (first, again, swept) == ("sent", None, 0)
        assert len(mail.outbox) == 1
        assert (row.status, row.attempts, row.sent_at) == ("sent", 1, NOW)


def test_a_worker_killed_mid_send_leaves_a_sending_row_that_is_sent_after_the_timeout(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    with world(NOW) as w:
        row = _one_email_row(w)
        # Step 1 of a send, committed; the worker then dies before settling.
        claimed = messages._claim(tenant=w.tenant, delivery_id=row.pk, now=NOW)
        row.refresh_from_db()
        state_after_death = (row.status, row.attempts)
        timeout = timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT_SECONDS)

        before_timeout = send_due(now=NOW + timeout - timedelta(seconds=1))
        after_timeout = send_due(now=NOW + timeout)

        row.refresh_from_db()
        assert claimed is not None
        assert state_after_death == ("sending", 1)
        assert (before_timeout, after_timeout) == (0, 1)
        assert (row.status, row.attempts) == ("sent", 2)
        assert len(mail.outbox) == 1


def test_failures_back_off_exponentially_and_give_up_after_the_maximum(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused
    settings.MESSAGE_MAX_ATTEMPTS = 3
    with world(NOW) as w:
        row = _one_email_row(w)
        seen = []
        at = NOW
        for _ in range(3):
            deliver(tenant=w.tenant, delivery_id=row.pk, now=at)
            row.refresh_from_db()
            seen.append((row.status, row.attempts, row.next_attempt_at))
            at = row.next_attempt_at or at

        assert seen == [
            ("failed", 1, NOW + timedelta(minutes=1)),
            ("failed", 2, NOW + timedelta(minutes=1 + 4)),
            ("failed", 3, None),
        ]
        assert "ConnectionRefusedError" in row.error
        assert send_due(now=NOW + timedelta(days=30)) == 0


def test_a_suspension_names_the_unpaid_invoice_by_email_and_sms() -> None:
    with world(NOW) as w:
        _c, sub, invoice = _boleto_subscription(w, phone="+5511987654321")
        _dispatch(w)
        emit(
            tenant_id=w.tenant.pk,
            type="subscription.suspended",
            at=NOW,
            subject_type="subscription",
            subject_id=sub.public_id,
            data={"subscription": sub.public_id, "status": "past_due"},
        )

        _dispatch(w)

        assert _rows(template="subscription_suspended") == [
            ("subscription_suspended", "email", "ana@example.com", "sent"),
            ("subscription_suspended", "sms", "+5511987654321", "sent"),
        ]
        [email] = [m for m in mail.outbox if "suspended" in m.subject]
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        assert f"invoice {invoice.number} of R$123.45 is unpaid" in email.body
        assert f"/sandbox/boleto/{attempt.gateway_ref}/" in email.body
