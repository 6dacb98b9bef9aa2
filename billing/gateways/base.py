"""The one interface every payment gateway implements.

Card numbers never reach Ciclo: a gateway tokenizes them on its own side and
we keep the token. Every charge carries an idempotency key derived from
(invoice, attempt number), so asking again after a timeout never charges twice
(DESIGN.md invariant 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class SavedMethod:
    token: str
    kind: str  # card, boleto, pix
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    gateway_ref: str = ""
    failure_code: str = ""
    failure_message: str = ""
    action_url: str = ""


@dataclass(frozen=True, slots=True)
class RefundResult:
    succeeded: bool
    gateway_ref: str = ""
    failure_message: str = ""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class GatewayUnavailable(Exception):
    """The gateway did not answer (network error, 5xx, timeout): retry later with
    the same idempotency key; a decline is a ChargeResult, never this."""


class GatewayRateLimited(GatewayUnavailable):
    """The gateway (HTTP 429), or our own token bucket for its account, asks us
    to slow down: nothing was done; try again shortly under the same key."""


class GatewayTimeout(GatewayUnavailable):
    """No answer: the connection failed or timed out. The gateway may or may not
    have done the work, so only a retry under the same idempotency key is safe."""


class InvalidWebhook(Exception):
    """A webhook whose signature or timestamp does not verify."""


class Gateway(Protocol):
    name: str

    def charge(
        self,
        *,
        token: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str = "",
        now: datetime | None = None,
    ) -> ChargeResult: ...

    def fetch_charge(self, *, idempotency_key: str, gateway_ref: str = "") -> ChargeResult | None:
        """The charge made under our key; ``gateway_ref``, when known, lets a
        gateway read it directly instead of searching."""
        ...

    def refund(
        self, *, gateway_ref: str, amount_minor: int, idempotency_key: str
    ) -> RefundResult: ...

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent: ...
