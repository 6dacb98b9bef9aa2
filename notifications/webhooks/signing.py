"""Standard Webhooks signatures: an endpoint's secrets (``whsec_…``, stored
encrypted), the rotation's grace period, and the ``webhook-signature`` header,
signed with the official ``standardwebhooks`` library."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from core.secrets import decrypt_json, encrypt_json
from notifications.models import WebhookEndpoint


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (the Standard Webhooks format)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _store_secrets(current: str, previous: str = "", previous_until: datetime | None = None) -> str:
    return encrypt_json(
        {
            "current": current,
            "previous": previous,
            "previous_until": previous_until.isoformat() if previous_until else "",
        }
    )


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The current secret, plus the previous one during its grace period."""
    stored = decrypt_json(endpoint.secrets_encrypted)
    found = [stored["current"]]
    until = stored.get("previous_until")
    if stored.get("previous") and until and datetime.fromisoformat(until) > now:
        found.append(stored["previous"])
    return found


def sign(*, secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)
