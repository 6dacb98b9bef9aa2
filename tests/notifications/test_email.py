"""Email through Django's SMTP backend to a real local SMTP server (aiosmtpd),
read back as received: both parts, headers, branding, language."""

from __future__ import annotations

import pytest

from customers.models import Customer
from notifications.messages import deliver
from notifications.models import MessageDelivery
from tenants.context import tenant_context
from tenants.models import Event
from tenants.outbox import emit
from tests.conftest import make_tenant
from tests.support.billing import utc
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


@pytest.fixture
def acme(db):  # type: ignore[no-untyped-def]
    setup = make_tenant("acme")
    tenant = setup.tenant
    tenant.name = "Acme Fitness"
    tenant.support_email = "help@acme.example"
    tenant.primary_color = "#aa3300"
    tenant.locale = "en"
    tenant.save()
    with tenant_context(tenant):
        yield tenant


def _message(tenant, *, template, event_type, name="Ana Souza", locale="", data=None):  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(
        tenant=tenant, name=name, email="ana@example.com", locale=locale
    )
    event_id = emit(
        tenant_id=tenant.pk,
        type=event_type,
        at=NOW,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id, **(data or {})},
    )
    from notifications import catalog

    return MessageDelivery.objects.create(
        tenant=tenant,
        event=Event.objects.get(public_id=event_id),
        customer=customer,
        template=template,
        channel="email",
        recipient=customer.email,
        language=locale or tenant.locale,
        required=catalog.get(template).required,
        created_at=NOW,
        next_attempt_at=NOW,
    )


def _parts(message):  # type: ignore[no-untyped-def]
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_a_required_notice_arrives_with_both_parts_branding_and_no_unsubscribe(
    acme,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    with smtp_server(settings) as smtp:
        row = _message(
            acme,
            template="price_change",
            event_type="subscription.price_change_scheduled",
            data={
                "new_amount": 10_990,
                "currency": "BRL",
                "effective_at": "2026-07-01T12:00:00+00:00",
            },
        )

        status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

        [received] = smtp.wait_for(1)
        row.refresh_from_db()
        parts = _parts(received)
        assert status == "sent"
        assert smtp.envelopes == [("no-reply@ciclo.local", ["ana@example.com"])]
        assert received["From"] == "Acme Fitness <no-reply@ciclo.local>"
        assert received["To"] == "ana@example.com"
        assert received["Reply-To"] == "help@acme.example"
        assert received["Content-Language"] == "en"
        assert received["Message-ID"] == f"<{row.public_id}@ciclo.local>" == row.provider_id
        assert received["List-Unsubscribe"] is None
        assert received["Subject"] == row.subject
        assert set(parts) == {"text/plain", "text/html"}
        assert "to R$109.90" in parts["text/plain"]
        assert "July 1, 2026" in parts["text/plain"]
        assert '<html lang="en">' in parts["text/html"]
        assert "background:#aa3300" in parts["text/html"]
        assert "Acme Fitness" in parts["text/html"]
        assert "to R$109.90" in parts["text/html"]
        assert "mailto:help@acme.example" in parts["text/html"]


def test_the_message_is_written_in_the_customers_language(acme, settings) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(settings) as smtp:
        row = _message(
            acme,
            template="price_change",
            event_type="subscription.price_change_scheduled",
            locale="pt-br",
            data={
                "new_amount": 10_990,
                "currency": "BRL",
                "effective_at": "2026-07-01T12:00:00+00:00",
            },
        )

        deliver(tenant=acme, delivery_id=row.pk, now=NOW)

        [received] = smtp.wait_for(1)
        parts = _parts(received)
        assert received["Content-Language"] == "pt-BR"
        assert '<html lang="pt-br">' in parts["text/html"]
        assert "R$\xa0109,90" in parts["text/plain"]
        assert "1 de Julho de 2026" in parts["text/plain"]


def test_an_optional_message_carries_one_click_unsubscribe_headers_and_link(acme, settings) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(settings) as smtp:
        row = _message(
            acme,
            template="card_expiring",
            event_type="customer.payment_method_expiring",
            data={"brand": "visa", "last4": "4242", "exp_month": 7, "exp_year": 2026},
        )

        deliver(tenant=acme, delivery_id=row.pk, now=NOW)

        [received] = smtp.wait_for(1)
        parts = _parts(received)
        url = received["List-Unsubscribe"].strip().strip("<>")
        assert url.startswith("http://127.0.0.1:8000/t/acme/unsubscribe/")
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"Unsubscribe from optional messages: {url}" in parts["text/plain"]
        assert f'href="{url}"' in parts["text/html"]


def test_subscriber_data_is_escaped_in_the_html_part_and_plain_in_the_text(acme, settings) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(settings) as smtp:
        row = _message(
            acme,
            template="card_expiring",
            event_type="customer.payment_method_expiring",
            name='<script>alert("x")</script> Ana & Co',
            data={"brand": "visa", "last4": "4242", "exp_month": 7, "exp_year": 2026},
        )

        deliver(tenant=acme, delivery_id=row.pk, now=NOW)

        [received] = smtp.wait_for(1)
        parts = _parts(received)
        assert 'Hello <script>alert("x")</script> Ana & Co,' in parts["text/plain"]
        assert "<script>" not in parts["text/html"]
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Ana &amp; Co" in parts["text/html"]
        )


def test_a_refused_recipient_is_a_permanent_failure_recorded_on_the_row(acme, settings) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(settings) as smtp:
        smtp.refuse.add("ana@example.com")
        row = _message(
            acme,
            template="price_change",
            event_type="subscription.price_change_scheduled",
            data={"new_amount": 10_990, "currency": "BRL"},
        )

        status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

        row.refresh_from_db()
        assert status == "failed"
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None)
        assert "recipient refused" in row.error
        assert "550" in row.error
        assert smtp.messages == []
