"""SMS through Twilio's official SDK against a local fake of its Messages API,
and the console provider; numbers in E.164."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from core.actors import Actor
from core.errors import ValidationFailed
from customers.models import Customer
from notifications.messages import deliver
from notifications.models import MessageDelivery, SmsAccount
from notifications.sms import (
    SmsSendError,
    TwilioSmsProvider,
    provider_for,
    sms_account_set,
    to_e164,
)
from tenants.context import tenant_context
from tenants.models import Event
from tenants.outbox import emit
from tests.conftest import make_tenant
from tests.support import fake_twilio
from tests.support.billing import utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 6, 1, 15)
ACTOR = Actor.system("tests")


@pytest.fixture
def fake() -> Iterator[fake_twilio.FakeTwilio]:
    with fake_twilio.running() as server:
        yield server


@pytest.fixture
def twilio_settings(settings, fake):  # type: ignore[no-untyped-def]
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = fake_twilio.ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = fake_twilio.AUTH_TOKEN
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_API_BASE = fake.api_base
    return settings


@pytest.fixture
def acme(db):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme").tenant
    with tenant_context(tenant):
        yield tenant


def _sms_row(tenant, phone: str) -> MessageDelivery:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(tenant=tenant, name="Ana", phone=phone, locale="en")
    event_id = emit(
        tenant_id=tenant.pk,
        type="subscription.suspended",
        at=NOW,
        subject_type="customer",
        subject_id=customer.public_id,
        data={"customer": customer.public_id},
    )
    return MessageDelivery.objects.create(
        tenant=tenant,
        event=Event.objects.get(public_id=event_id),
        customer=customer,
        template="subscription_suspended",
        channel="sms",
        recipient=phone,
        language="en",
        created_at=NOW,
        next_attempt_at=NOW,
    )


def test_an_sms_goes_through_the_sdk_to_twilio_and_records_the_message_sid(
    acme,
    fake,
    twilio_settings,  # type: ignore[no-untyped-def]
) -> None:
    row = _sms_row(acme, "+5511987654321")

    status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

    row.refresh_from_db()
    [request] = fake.requests
    [message] = fake.messages
    assert status == "sent"
    assert request["path"] == f"/2010-04-01/Accounts/{fake_twilio.ACCOUNT_SID}/Messages.json"
    assert base64.b64decode(request["auth"].removeprefix("Basic ")).decode() == (
        f"{fake_twilio.ACCOUNT_SID}:{fake_twilio.AUTH_TOKEN}"
    )
    assert request["form"]["To"] == "+5511987654321"
    assert request["form"]["From"] == "+15005550006"
    assert request["form"]["Body"].startswith("Acme: your subscription is suspended")
    assert (row.status, row.attempts, row.provider_id) == ("sent", 1, message["sid"])
    assert row.provider_id.startswith("SM")


def test_twilio_refusing_the_number_is_a_permanent_failure_with_its_error(
    acme,
    fake,
    twilio_settings,  # type: ignore[no-untyped-def]
) -> None:
    row = _sms_row(acme, fake_twilio.INVALID_NUMBER)

    status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

    row.refresh_from_db()
    assert status == "failed"
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None)
    assert "Twilio 400 error 21211" in row.error
    assert "is not a valid phone number" in row.error
    assert fake.messages == []


def test_a_twilio_outage_is_retried_later_and_then_sent(acme, fake, twilio_settings) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    row = _sms_row(acme, "+5511987654321")
    fake.fail_next(503)

    first = deliver(tenant=acme, delivery_id=row.pk, now=NOW)
    row.refresh_from_db()
    after_outage = (row.status, row.attempts, row.next_attempt_at, row.error)
    second = deliver(tenant=acme, delivery_id=row.pk, now=NOW + timedelta(minutes=1))

    row.refresh_from_db()
    assert first == "failed"
    assert after_outage == (
        "failed",
        1,
        NOW + timedelta(minutes=1),
        "Twilio 503 error 20500: Unable to create record: Internal Server Error",
    )
    assert second == "sent"
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(fake.messages) == 1


def test_wrong_credentials_are_reported_not_retried(fake) -> None:  # type: ignore[no-untyped-def]
    provider = TwilioSmsProvider(
        account_sid=fake_twilio.ACCOUNT_SID,
        auth_token="b" * 32,
        from_number="+15005550006",
        api_base=fake.api_base,
    )

    with pytest.raises(SmsSendError) as caught:
        provider.send(to="+5511987654321", body="hi")

    assert caught.value.permanent is True
    assert caught.value.code == "20003"
    assert fake.messages == []


def test_a_tenants_own_twilio_account_is_used_and_kept_encrypted(acme, fake, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TWILIO_API_BASE = fake.api_base
    other_sid = "AC" + "f" * 32
    fake.accounts[other_sid] = "c" * 32
    sms_account_set(
        tenant=acme,
        account_sid=other_sid,
        auth_token="c" * 32,
        from_number="+5511999990000",
        actor=ACTOR,
        now=NOW,
    )
    row = _sms_row(acme, "+5511987654321")

    status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

    account = SmsAccount.objects.get()
    assert status == "sent"
    assert fake.requests[0]["path"] == f"/2010-04-01/Accounts/{other_sid}/Messages.json"
    assert fake.requests[0]["form"]["From"] == "+5511999990000"
    assert "c" * 32 not in account.credentials_encrypted
    assert other_sid not in account.credentials_encrypted


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("account_sid", {"account_sid": "ACnothex"}),
        ("auth_token", {"auth_token": "short"}),
        ("from_number", {"from_number": "11 99999-0000"}),
        ("account_sid", {"account_sid": 12}),
    ],
)
def test_bad_twilio_credentials_are_refused_and_nothing_is_saved(acme, field, values) -> None:  # type: ignore[no-untyped-def]
    good = {"account_sid": "AC" + "f" * 32, "auth_token": "c" * 32, "from_number": "+5511999990000"}

    with pytest.raises(ValidationFailed) as caught:
        sms_account_set(tenant=acme, actor=ACTOR, now=NOW, **{**good, **values})

    assert caught.value.param == field
    assert SmsAccount.objects.count() == 0


def test_without_configuration_sms_go_to_the_console(acme) -> None:  # type: ignore[no-untyped-def]
    row = _sms_row(acme, "+5511987654321")

    status = deliver(tenant=acme, delivery_id=row.pk, now=NOW)

    row.refresh_from_db()
    assert provider_for(acme).name == "console"
    assert status == "sent"
    assert row.provider_id.startswith("console_")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("+55 11 98765-4321", None, "+5511987654321"),
        ("+40 721 234 567", "BR", "+40721234567"),
        ("98765-4321", "BR", None),
        ("(11) 98765-4321", None, None),
        ("not a phone", "BR", None),
        ("", "BR", None),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, region, expected) -> None:  # type: ignore[no-untyped-def]
    assert to_e164(raw, default_region=region) == expected
