"""SMS to subscribers through a provider interface.

``console`` (the default) writes the message to the log; ``twilio`` sends it
through Twilio's official SDK. A tenant may bring its own Twilio account
(``SmsAccount``, credentials encrypted at rest); otherwise the platform's
``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN`` / ``TWILIO_FROM`` apply when
``SMS_PROVIDER=twilio``. ``TWILIO_API_BASE`` points the SDK elsewhere (the
tests' local fake of Twilio's API). Numbers are E.164.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import phonenumbers
import structlog
from django.conf import settings
from django.db import transaction

from core.actors import Actor
from core.errors import ValidationFailed
from tenants import audit
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SmsSendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, code: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); return the provider's message id.
        Raises ``SmsSendError``."""


def to_e164(raw: str, *, default_region: str | None = None) -> str | None:
    """``raw`` as an E.164 number, or None when it is not a valid phone number.
    Numbers without a country code are read in ``default_region``."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def default_region(tenant: Tenant) -> str | None:
    """Where a subscriber's number without a country code is read: Brazil for
    merchants billing in reais (Ciclo's home market), else none (must be +…)."""
    return "BR" if tenant.default_currency == "BRL" or tenant.locale == "pt-br" else None


class ConsoleSmsProvider:
    name = "console"

    def send(self, *, to: str, body: str) -> str:
        provider_id = f"console_{secrets.token_hex(8)}"
        logger.info("sms.console", to=to, body=body, provider_id=provider_id)
        return provider_id


class TwilioSmsProvider:
    """Twilio's Messages API through the official SDK."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str | None = None,
        timeout: float = 10.0,
    ):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.from_number = from_number
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if api_base:
            # The SDK builds every Messages URL from this domain's base URL.
            self.client.api.base_url = api_base.rstrip("/")

    def send(self, *, to: str, body: str) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            # 4xx: Twilio refused this message (bad number, unsubscribed, bad
            # credentials); sending it again will not help. 5xx/429: try later.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise SmsSendError(
                f"Twilio {exc.status} error {exc.code}: {exc.msg}",
                permanent=permanent,
                code=str(exc.code or exc.status),
            ) from exc
        except TwilioException as exc:
            raise SmsSendError(f"Twilio: {exc}") from exc
        except OSError as exc:  # connection refused, timeouts (requests' errors are OSErrors)
            raise SmsSendError(f"Twilio unreachable: {exc}") from exc
        return str(message.sid)


def provider_for(tenant: Tenant) -> SmsProvider:
    from core.secrets import decrypt_json
    from notifications.models import SmsAccount

    account = SmsAccount.objects.filter(tenant=tenant, active=True).first()
    if account is not None:
        creds = decrypt_json(account.credentials_encrypted)
        return TwilioSmsProvider(
            account_sid=creds["account_sid"],
            auth_token=creds["auth_token"],
            from_number=account.from_number,
            api_base=settings.TWILIO_API_BASE,
        )
    if settings.SMS_PROVIDER == "twilio":
        return TwilioSmsProvider(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM,
            api_base=settings.TWILIO_API_BASE,
        )
    return ConsoleSmsProvider()


_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_TOKEN = re.compile(r"^[0-9a-zA-Z]{32}$")


@transaction.atomic
def sms_account_set(
    *,
    tenant: Tenant,
    account_sid: str,
    auth_token: str,
    from_number: str,
    actor: Actor,
    now: datetime,
) -> object:
    """Store (or replace) the tenant's own Twilio account, encrypted at rest.
    The audit log records that it changed, never the secrets."""
    from core.secrets import encrypt_json
    from notifications.models import SmsAccount

    if not isinstance(account_sid, str) or not _SID.match(account_sid):
        raise ValidationFailed(
            "An account SID looks like AC followed by 32 hex digits.", param="account_sid"
        )
    if not isinstance(auth_token, str) or not _TOKEN.match(auth_token):
        raise ValidationFailed("An auth token is 32 letters and digits.", param="auth_token")
    if not isinstance(from_number, str) or not E164.match(from_number):
        raise ValidationFailed(
            "The sender number must be in E.164 form, e.g. +5511999990000.", param="from_number"
        )
    account, _created = SmsAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "provider": "twilio",
            "credentials_encrypted": encrypt_json(
                {"account_sid": account_sid, "auth_token": auth_token}
            ),
            "from_number": from_number,
            "active": True,
            "updated_at": now,
        },
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="sms_account.set",
        target=account,
        changes={"provider": "twilio", "from_number": from_number},
        at=now,
    )
    return account


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    to: str
    body: str


def send_sms(*, tenant: Tenant, sms: OutgoingSms) -> str:
    if not E164.match(sms.to):
        raise SmsSendError(f"not an E.164 number: {sms.to}", permanent=True)
    return provider_for(tenant).send(to=sms.to, body=sms.body)
