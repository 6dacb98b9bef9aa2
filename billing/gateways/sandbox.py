"""The sandbox gateway: the embedded default, with documented test cards.

It behaves like a real gateway where it matters to Ciclo: it tokenizes on its
own side, honours idempotency keys (its books are the ``SandboxCharge`` table),
asks for authentication, and confirms through signed webhooks.

Test cards (any future expiry, any CVC):

=====================  ============================================
4242 4242 4242 4242    succeeds
4000 0000 0000 9995    declined: insufficient_funds
4000 0000 0000 0069    declined: expired_card
4000 0000 0000 0002    declined: do_not_honor
4000 0000 0000 0119    fails: processing_error
4000 0025 0000 3155    requires authentication (3-D Secure)
4000 0000 0000 0341    attaches, but every charge is declined: card_declined
4000 0000 0000 4954    the charge goes through but the answer is lost (timeout) once
=====================  ============================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from billing.gateways.base import (
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    InvalidWebhook,
    RefundResult,
    SavedMethod,
    WebhookEvent,
)
from core import clock, safejson
from core.errors import ValidationFailed

CARDS = {
    "4242424242424242": "ok",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000002": "do_not_honor",
    "4000000000000119": "processing_error",
    "4000002500003155": "authenticate",
    "4000000000000341": "card_declined",
    "4000000000004954": "timeout_once",
}
MESSAGES = {
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "do_not_honor": "The card was declined by the issuer (do not honour).",
    "card_declined": "The card was declined.",
    "processing_error": "The card could not be processed; try again later.",
}
_DECLINED_AT_SETUP = frozenset(
    {"insufficient_funds", "expired_card", "do_not_honor", "processing_error"}
)
SIGNATURE_HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _secret() -> bytes:
    return settings.SANDBOX_WEBHOOK_SECRET.encode()


class SandboxGateway:
    name = "sandbox"

    # -- the gateway's side: tokenization (the card number stays here) ---------

    def tokenize_card(
        self, *, number: str, exp_month: object, exp_year: object, cvc: str
    ) -> SavedMethod:
        digits = "".join(ch for ch in number if ch.isdigit())
        if not 12 <= len(digits) <= 19 or not _luhn_ok(digits):
            raise ValidationFailed(
                "That card number is not valid.", param="number", code="invalid_number"
            )
        if not (isinstance(exp_month, int) and 1 <= exp_month <= 12):
            raise ValidationFailed("Invalid expiry month.", param="exp_month")
        if not (isinstance(exp_year, int) and 2000 <= exp_year <= 2100):
            raise ValidationFailed("Invalid expiry year.", param="exp_year")
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise ValidationFailed("Invalid security code.", param="cvc")
        # Attaching always succeeds; charges then behave as the test card says.
        behaviour = CARDS.get(digits, "ok")
        brand = "visa" if digits.startswith("4") else "mastercard" if digits[0] == "5" else "card"
        saved = SavedMethod(
            token=f"tok_sandbox_{behaviour}_{secrets.token_hex(8)}",
            kind="card",
            brand=brand,
            last4=digits[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
        )
        from billing.models import SandboxCard

        SandboxCard.objects.create(
            token=saved.token,
            brand=brand,
            last4=saved.last4,
            exp_month=exp_month,
            exp_year=exp_year,
        )
        return saved

    def saved_card(self, token: str) -> SavedMethod:
        """What the sandbox's vault shows about a token (as a real gateway's
        payment-method lookup would); unknown tokens are refused."""
        from billing.models import SandboxCard

        usable = isinstance(token, str) and "\x00" not in token and len(token) <= 200
        card = SandboxCard.objects.filter(token=token).first() if usable else None
        if card is None:
            raise ValidationFailed("No such card token.", param="token", code="invalid_token")
        return SavedMethod(
            token=card.token,
            kind="card",
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    def verify_card(self, token: str) -> str:
        """A zero-amount authorization, as a gateway's card setup makes: the
        decline code, or "" when the card can be charged. As with Stripe's test
        cards, the declining cards fail here already, except the one that
        attaches and declines only when charged (``card_declined``)."""
        behaviour = self._behaviour(token)
        return behaviour if behaviour in _DECLINED_AT_SETUP else ""

    # -- the interface --------------------------------------------------------

    def charge(
        self,
        *,
        token: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str = "",
        now: datetime | None = None,
    ) -> ChargeResult:
        from billing.models import SandboxCharge

        existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if (existing.amount_minor, existing.currency, existing.token) != (
                amount_minor,
                currency,
                token,
            ):
                raise ValidationFailed(
                    "Idempotency key reused with other parameters.", code="idempotency_mismatch"
                )
            return self._result(existing)
        behaviour = self._behaviour(token)
        status, code = {
            "ok": ("succeeded", ""),
            "timeout_once": ("succeeded", ""),
            "authenticate": ("requires_action", ""),
            "processing_error": ("failed", "processing_error"),
        }.get(behaviour, ("failed", behaviour))
        try:
            with transaction.atomic():
                charge = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key,
                    ref=f"ch_sbx_{secrets.token_hex(10)}",
                    token=token,
                    amount_minor=amount_minor,
                    currency=currency,
                    status=status,
                    failure_code=code,
                )
        except IntegrityError:  # a concurrent request with the same key won
            charge = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        if behaviour == "timeout_once":
            # The money moved but the answer is lost: the caller must ask again
            # (with the same key, which then returns this very charge).
            raise GatewayUnavailable("Sandbox timeout after charging.")
        return self._result(charge)

    def fetch_charge(self, *, idempotency_key: str, gateway_ref: str = "") -> ChargeResult | None:
        from billing.models import SandboxCharge

        charge = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        return self._result(charge) if charge is not None else None

    def refund(self, *, gateway_ref: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        from django.db.models import F

        from billing.models import SandboxCharge

        updated = SandboxCharge.objects.filter(
            ref=gateway_ref,
            status="succeeded",
            amount_minor__gte=F("refunded_minor") + amount_minor,
        ).update(refunded_minor=F("refunded_minor") + amount_minor)
        if not updated:
            return RefundResult(False, failure_message="Nothing left to refund on this charge.")
        return RefundResult(True, gateway_ref=f"re_sbx_{secrets.token_hex(8)}")

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError):
            raise InvalidWebhook("Missing or malformed signature header.") from None
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise InvalidWebhook("Stale webhook.")
        expected = hmac.new(_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise InvalidWebhook("Bad signature.")
        try:
            payload = safejson.loads(body)  # nesting-limited (issue 12)
            return WebhookEvent(
                id=str(payload["id"]), type=str(payload["type"]), data=dict(payload.get("data", {}))
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidWebhook("Malformed webhook body.") from None

    # -- the gateway's side: authentication and its webhook --------------------

    def complete_authentication(
        self, *, gateway_ref: str, succeed: bool = True
    ) -> tuple[bytes, dict[str, str]]:
        """What the sandbox's 3-D Secure page does: settle the charge and send
        the signed webhook (returned here as body and headers to deliver)."""
        from billing.models import SandboxCharge

        charge = SandboxCharge.objects.get(ref=gateway_ref, status="requires_action")
        charge.status = "succeeded" if succeed else "failed"
        charge.failure_code = "" if succeed else "authentication_failed"
        charge.save(update_fields=["status", "failure_code"])
        return self.signed_event(
            "charge.succeeded" if succeed else "charge.failed",
            {"charge": charge.ref, "idempotency_key": charge.idempotency_key},
        )

    @staticmethod
    def signed_event(
        type: str,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"id": event_id or f"evt_sbx_{secrets.token_hex(8)}", "type": type, "data": data}
        ).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(_secret(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {SIGNATURE_HEADER: f"t={ts},v1={signature}"}

    @staticmethod
    def _behaviour(token: str) -> str:
        parts = token.split("_")
        return "_".join(parts[2:-1]) if token.startswith("tok_sandbox_") else "ok"

    def _result(self, charge: Any) -> ChargeResult:
        if charge.kind != "card":
            withdrawn = charge.status == "canceled"  # replaced by a segunda via
            return ChargeResult(
                status=ChargeStatus.FAILED if withdrawn else ChargeStatus(charge.status),
                gateway_ref=charge.ref,
                failure_code="canceled" if withdrawn else charge.failure_code,
                failure_message=MESSAGES.get(charge.failure_code, ""),
                action_url=f"/sandbox/{charge.kind}/{charge.ref}/"
                if charge.status == "pending"
                else "",
            )
        return ChargeResult(
            status=ChargeStatus(charge.status),
            gateway_ref=charge.ref,
            failure_code=charge.failure_code,
            failure_message=MESSAGES.get(charge.failure_code, ""),
            action_url=f"/sandbox/authenticate/{charge.ref}/"
            if charge.status == "requires_action"
            else "",
        )


class _OfflineSandbox(SandboxGateway):
    """Boleto and Pix in the sandbox: the charge is issued (pending) and confirmed
    later, when the payer pays, through the same signed webhooks."""

    kind = ""

    def charge(
        self,
        *,
        token: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str = "",
        now: datetime | None = None,
        due_date: date | None = None,
        with_pix: bool = False,
    ) -> ChargeResult:
        from billing.models import SandboxCharge

        existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return self._result(existing)
        ref = f"{self.kind[:2]}_sbx_{secrets.token_hex(10)}"
        if currency != "BRL":
            status, code, details = "failed", "currency_not_supported", {}
        else:
            status, code = "pending", ""
            details = self.issue(ref, amount_minor, description, now or clock.now(), due_date)
            if with_pix and self.kind == "boleto":
                details.update(bolepix_details(idempotency_key, amount_minor))
        try:
            with transaction.atomic():
                charge = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key,
                    ref=ref,
                    token=token,
                    kind=self.kind,
                    amount_minor=amount_minor,
                    currency=currency,
                    status=status,
                    failure_code=code,
                    details=details,
                )
        except IntegrityError:
            charge = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return self._result(charge)

    def issue(
        self,
        ref: str,
        amount_minor: int,
        description: str,
        now: datetime,
        due_date: date | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def cancel(self, *, gateway_ref: str) -> bool:
        """Withdraw an unpaid slip or code (a bank's "baixa"): False when it was
        already paid or withdrawn, so the caller knows it cannot be replaced."""
        from billing.models import SandboxCharge

        return bool(
            SandboxCharge.objects.filter(ref=gateway_ref, kind=self.kind, status="pending").update(
                status="canceled"
            )
        )

    def slip(self, *, gateway_ref: str) -> dict[str, Any]:
        """What the payer was given for this charge (barcode and due date, Pix payload)."""
        from billing.models import SandboxCharge

        charge = SandboxCharge.objects.filter(ref=gateway_ref, kind=self.kind).first()
        return dict(charge.details) if charge is not None else {}

    def simulate_payment(self, *, gateway_ref: str, rail: str = "") -> tuple[bytes, dict[str, str]]:
        """Test mode's "the payer paid": settle the charge and sign the webhook.

        A bolepix can be paid by its barcode (``rail="boleto"``) or its QR code
        (``rail="pix"``): the first rail paid withdraws the other. A payment that
        still arrives on the withdrawn rail (a Pix QR saved before the boleto was
        paid, say) is kept apart and announced as ``charge.paid_twice``: money to
        give back, never a second settlement."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(ref=gateway_ref, kind=self.kind)
            details = dict(charge.details)
            if charge.status == "pending":
                self._mark_paid(charge, rail or self.kind)
                return self.signed_event(
                    "charge.succeeded",
                    {"charge": charge.ref, "idempotency_key": charge.idempotency_key},
                )
            if not (details.get("pix_payload") and rail and rail != details.get("paid_by")):
                raise SandboxCharge.DoesNotExist("Nothing to pay on this charge.")
            late = [*details.get("late_payments", []), {"rail": rail}]
            charge.details = {**details, "late_payments": late}
            charge.save(update_fields=["details"])
        return self.signed_event(
            "charge.paid_twice",
            {
                "charge": charge.ref,
                "idempotency_key": charge.idempotency_key,
                "rail": rail,
                "amount": charge.amount_minor,
            },
        )

    @staticmethod
    def _mark_paid(charge: Any, rail: str) -> None:
        details = dict(charge.details)
        details["paid_by"] = rail
        if details.get("pix_payload"):
            # The other rail is withdrawn: the bank's "baixa", the Pix txid closed.
            details["withdrawn"] = "pix" if rail == "boleto" else "boleto"
        charge.status = "succeeded"
        charge.details = details
        charge.save(update_fields=["status", "details"])

    def confirm_paid(self, *, gateway_ref: str, rail: str) -> bool:
        """We learnt of a payment another way (a bank return file): record it in
        the gateway's books so the other rail of a bolepix is withdrawn. False
        when the charge was no longer pending."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            charge = (
                SandboxCharge.objects.select_for_update()
                .filter(ref=gateway_ref, kind=self.kind, status="pending")
                .first()
            )
            if charge is None:
                return False
            self._mark_paid(charge, rail)
        return True


def bolepix_txid(idempotency_key: str) -> str:
    """The Pix txid of a bolepix, tied to the invoice: from its charge's key
    (``in_<24 characters>:attempt:<n>``), the invoice's 24 characters and the
    attempt number, within the 25 letters and digits a txid allows."""
    head, _, number = idempotency_key.rpartition(":")
    invoice = "".join(ch for ch in head.split(":")[0] if ch.isascii() and ch.isalnum())
    invoice = invoice.removeprefix("in")
    return invoice[: 25 - len(number)] + number


def bolepix_details(idempotency_key: str, amount_minor: int) -> dict[str, Any]:
    """The Pix half of a bolepix: a BR Code for the slip's amount."""
    from billing.domain.pix import static_br_code

    txid = bolepix_txid(idempotency_key)
    payload = static_br_code(
        key=SandboxPixGateway.KEY,
        merchant_name="CICLO SANDBOX",
        merchant_city="SAO PAULO",
        amount_minor=amount_minor,
        txid=txid,
    )
    return {"pix_payload": payload, "pix_txid": txid}


class SandboxBoletoGateway(_OfflineSandbox):
    name = "sandbox_boleto"
    kind = "boleto"
    BANK_CODE = "999"  # no real bank: a sandbox slip must never look payable
    AGREEMENT = "1234567"
    DAYS_TO_PAY = 3

    def issue(
        self,
        ref: str,
        amount_minor: int,
        description: str,
        now: datetime,
        due_date: date | None = None,
    ) -> dict[str, Any]:
        from billing.domain.boleto import sandbox_boleto

        issued = now.date()
        boleto = sandbox_boleto(
            bank_code=self.BANK_CODE,
            agreement=self.AGREEMENT,
            our_number=str(secrets.randbelow(10**17)).zfill(17),
            due=due_date or issued + timedelta(days=self.DAYS_TO_PAY),
            amount_minor=amount_minor,
            document_number=description[:20],
            issued_on=issued,
        )
        return {
            "barcode": boleto.barcode.digits,
            "linha_digitavel": boleto.barcode.formatted_linha_digitavel,
            "due_date": boleto.due_date.isoformat(),
            "our_number": boleto.our_number,
        }

    def ref_for_our_number(self, our_number: str) -> str | None:
        """The slip a bank's return file names by its nosso número (the sandbox
        issues 17 digits; a file may pad or trim leading zeros)."""
        from billing.models import SandboxCharge

        digits = our_number.lstrip("0")
        if not digits.isdigit() or len(digits) > 17:
            return None
        charge = (
            SandboxCharge.objects.filter(kind=self.kind, details__our_number=digits.zfill(17))
            .only("ref")
            .first()
        )
        return charge.ref if charge is not None else None


class SandboxPixGateway(_OfflineSandbox):
    name = "sandbox_pix"
    kind = "pix"
    KEY = "123e4567-e12b-12d1-a456-426655440000"  # a random (EVP) key, as in BCB's manual
    LIFETIME_HOURS = 24

    def issue(
        self,
        ref: str,
        amount_minor: int,
        description: str,
        now: datetime,
        due_date: date | None = None,
    ) -> dict[str, Any]:
        from billing.domain.pix import static_br_code

        payload = static_br_code(
            key=self.KEY,
            merchant_name="CICLO SANDBOX",
            merchant_city="SAO PAULO",
            amount_minor=amount_minor,
            txid=ref.replace("_", "")[:25],
        )
        expires = now + timedelta(hours=self.LIFETIME_HOURS)
        return {"payload": payload, "expires_at": expires.isoformat()}
