"""Pix Automático behind a provider interface, and the sandbox PSP.

``PixAutomaticoProvider`` is what a real PSP adapter implements (its API Pix
``/rec``, ``/solicrec``, ``/cobr`` resources, or the PSP's own): create a
recurrence and its QR code, cancel it, send a cycle's charge instruction. The
charges themselves go through the ordinary gateway interface (``charge`` under
the attempt's idempotency key, ``fetch_charge``, signed webhooks), so the charge
protocol, reconciliation and dunning work unchanged.

The sandbox PSP keeps its own books in ``SandboxCharge`` (kinds ``pixrec`` for a
recurrence, ``pixins`` for an instruction, ``pixauto`` for each charge made
against one) and signs its webhooks exactly as the sandbox gateway does. In test
mode it offers "simulate authorisation / payment / failure / payer cancellation".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from django.db import IntegrityError, transaction

from billing.domain.pix_automatico import merchant_retry_allowed, recurrence_br_code
from billing.gateways.base import ChargeResult, ChargeStatus, GatewayUnavailable, RefundResult
from billing.gateways.sandbox import SandboxGateway
from core import clock

REC, INSTRUCTION, CHARGE = "pixrec", "pixins", "pixauto"
MESSAGES = {
    "insufficient_funds": "The payer's account had no funds (morning and evening attempts).",
    "mandate_not_active": "The payer's authorisation is not active.",
    "no_instruction": "No charge instruction was sent for this amount within the rail's window.",
    "retry_not_allowed": "The rail does not allow another attempt for this charge.",
    "mandate_cancelled": "The payer cancelled the authorisation.",
}


@dataclass(frozen=True, slots=True)
class RecurrenceRequest:
    mandate_ref: str  # our mandate's public id
    journey: str
    periodicity: str
    fixed_amount_minor: int | None
    max_amount_minor: int | None
    start_date: date
    end_date: date | None
    retry_policy: str
    payer_tax_id: str
    merchant_name: str
    first_amount_minor: int | None  # journey 3's immediate charge


@dataclass(frozen=True, slots=True)
class RecurrenceCreated:
    recurrence_id: str  # idRec
    txid: str  # journey 3's immediate charge, or ""
    payload: str  # the BR Code the payer scans


class PixAutomaticoProvider(Protocol):
    name: str

    def create_recurrence(self, request: RecurrenceRequest) -> RecurrenceCreated: ...

    def cancel_recurrence(self, *, recurrence_id: str) -> bool: ...

    def send_instruction(
        self, *, recurrence_id: str, due_date: date, amount_minor: int, idempotency_key: str
    ) -> str:
        """Schedule the cycle's debit (agendamento) at the payer's PSP; the PSP's ref."""
        ...


def _recurrence_id(now: datetime) -> str:
    """An idRec as the rail writes it: "RR", the receiving PSP's ISPB (the sandbox
    has none: 99999999), the date, and 11 letters or digits — 29 characters."""
    tail = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(11))
    return f"RR99999999{now:%Y%m%d}{tail}"


# The sandbox PSP does not answer a recurrence for this payer (a valid CPF,
# 503.503.503-45), as a real PSP may not: how a caller's failure path is tried.
UNREACHABLE_PAYER_TAX_ID = "50350350345"


class SandboxPixAutomaticoPsp(SandboxGateway):
    name = "sandbox_pixauto"
    kind = "pix_automatico"
    HOST = "pix.sandbox.ciclo.local"

    # -- the provider interface ---------------------------------------------------

    def create_recurrence(self, request: RecurrenceRequest) -> RecurrenceCreated:
        from billing.models import SandboxCharge

        if request.payer_tax_id == UNREACHABLE_PAYER_TAX_ID:
            raise GatewayUnavailable("Sandbox Pix Automático PSP: no answer.")
        key = f"pixrec:{request.mandate_ref}"
        existing = SandboxCharge.objects.filter(idempotency_key=key).first()
        if existing is None:
            rec_id = _recurrence_id(clock.now())
            txid = secrets.token_hex(15) if request.first_amount_minor else ""
            payload = recurrence_br_code(
                rec_url=f"{self.HOST}/rec/{rec_id}",
                cob_url=f"{self.HOST}/cob/{txid}" if txid else None,
                amount_minor=request.first_amount_minor,
                merchant_name=request.merchant_name,
                merchant_city="SAO PAULO",
            )
            try:
                with transaction.atomic():
                    existing = SandboxCharge.objects.create(
                        idempotency_key=key,
                        ref=rec_id,
                        token=request.mandate_ref,
                        kind=REC,
                        amount_minor=request.fixed_amount_minor or request.max_amount_minor or 0,
                        currency="BRL",
                        status="pending",
                        details={
                            "journey": request.journey,
                            "retry_policy": request.retry_policy,
                            "first_amount": request.first_amount_minor,
                            "first_paid": False,
                            "txid": txid,
                            "payload": payload,
                        },
                    )
            except IntegrityError:
                existing = SandboxCharge.objects.get(idempotency_key=key)
        return RecurrenceCreated(
            recurrence_id=existing.ref,
            txid=str(existing.details.get("txid", "")),
            payload=str(existing.details["payload"]),
        )

    def cancel_recurrence(self, *, recurrence_id: str) -> bool:
        from billing.models import SandboxCharge

        with transaction.atomic():
            done = SandboxCharge.objects.filter(
                ref=recurrence_id, kind=REC, status__in=["pending", "active"]
            ).update(status="cancelled")
            SandboxCharge.objects.filter(
                kind=INSTRUCTION, token=recurrence_id, status="scheduled"
            ).update(status="cancelled")
        return bool(done)

    def send_instruction(
        self, *, recurrence_id: str, due_date: date, amount_minor: int, idempotency_key: str
    ) -> str:
        from billing.models import SandboxCharge

        existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing.ref
        try:
            with transaction.atomic():
                made = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key,
                    ref=f"ins_sbx_{secrets.token_hex(10)}",
                    token=recurrence_id,
                    kind=INSTRUCTION,
                    amount_minor=amount_minor,
                    currency="BRL",
                    status="scheduled",
                    details={"due_date": due_date.isoformat(), "attempt": "", "retries": 0},
                )
        except IntegrityError:
            made = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return made.ref

    # -- the gateway interface: a charge is made against a recurrence ------------------

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
        """Collect ``amount_minor`` under the recurrence ``token``: journey 3's
        first charge once it is paid, else the instruction sent for this amount
        (pending until the due date's debit), else a retry the rail allows."""
        from billing.models import SandboxCharge

        existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return self._result(existing)
        today = (now or clock.now()).date()
        with transaction.atomic():
            rec = SandboxCharge.objects.select_for_update().filter(ref=token, kind=REC).first()
            status, code, instruction = "failed", "mandate_not_active", None
            if rec is not None and rec.status == "active":
                details = dict(rec.details)
                if (
                    details.get("first_paid")
                    and not details.get("first_used")
                    and details.get("first_amount") == amount_minor
                ):
                    rec.details = {**details, "first_used": idempotency_key}
                    rec.save(update_fields=["details"])
                    status, code = "succeeded", ""
                else:
                    status, code, instruction = self._claim(
                        rec, amount_minor, idempotency_key, today
                    )
            made = SandboxCharge.objects.create(
                idempotency_key=idempotency_key,
                ref=f"pa_sbx_{secrets.token_hex(10)}",
                token=token,
                kind=CHARGE,
                amount_minor=amount_minor,
                currency=currency,
                status=status,
                failure_code=code,
                details={"instruction": instruction.ref if instruction else ""},
            )
        return self._result(made)

    @staticmethod
    def _claim(rec: Any, amount_minor: int, key: str, today: date) -> tuple[str, str, Any]:
        from billing.models import SandboxCharge

        scheduled = (
            SandboxCharge.objects.select_for_update()
            .filter(kind=INSTRUCTION, token=rec.ref, status="scheduled", amount_minor=amount_minor)
            .order_by("details__due_date", "id")
        )
        for instruction in scheduled:
            if not instruction.details.get("attempt"):
                instruction.details = {**instruction.details, "attempt": key}
                instruction.save(update_fields=["details"])
                return "pending", "", instruction
        failed = (
            SandboxCharge.objects.select_for_update()
            .filter(kind=INSTRUCTION, token=rec.ref, status="failed", amount_minor=amount_minor)
            .order_by("-details__due_date", "-id")
            .first()
        )
        if failed is None:
            return "failed", "no_instruction", None
        retries = int(failed.details.get("retries", 0))
        why_not = merchant_retry_allowed(
            policy=str(rec.details.get("retry_policy", "")),
            retries_done=retries,
            due=date.fromisoformat(failed.details["due_date"]),
            today=today,
        )
        if why_not is not None:
            return "failed", "retry_not_allowed", failed
        failed.status = "scheduled"
        failed.details = {
            **failed.details,
            "attempt": key,
            "retries": retries + 1,
            "evening_retry": "",
        }
        failed.save(update_fields=["status", "details"])
        return "pending", "", failed

    def fetch_charge(self, *, idempotency_key: str, gateway_ref: str = "") -> ChargeResult | None:
        from billing.models import SandboxCharge

        made = SandboxCharge.objects.filter(idempotency_key=idempotency_key, kind=CHARGE).first()
        return self._result(made) if made is not None else None

    def refund(self, *, gateway_ref: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        return RefundResult(False, failure_message="Refund a Pix Automático charge at the PSP.")

    def _result(self, charge: Any) -> ChargeResult:
        return ChargeResult(
            status=ChargeStatus(charge.status),
            gateway_ref=charge.ref,
            failure_code=charge.failure_code,
            failure_message=MESSAGES.get(charge.failure_code, ""),
        )

    # -- test mode: what the payer and the payer's PSP do ---------------------------

    def simulate_authorisation(
        self, *, recurrence_id: str, approve: bool = True, payer_psp: str = "BANCO SANDBOX"
    ) -> tuple[bytes, dict[str, str]]:
        """The payer scans the code: journey 3 pays the first charge and so
        accepts the recurrence; journey 2 accepts it (or, ``approve=False``,
        refuses it)."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            rec = SandboxCharge.objects.select_for_update().get(
                ref=recurrence_id, kind=REC, status="pending"
            )
            details = dict(rec.details)
            rec.status = "active" if approve else "rejected"
            if approve and details.get("first_amount"):
                details["first_paid"] = True
            rec.details = details
            rec.save(update_fields=["status", "details"])
        return self.signed_event(
            "pix_mandate.authorized" if approve else "pix_mandate.rejected",
            {
                "recurrence_id": rec.ref,
                "mandate": rec.token,
                "first_payment": bool(details.get("first_paid")),
                "payer_psp_ispb": "99999999",
                "payer_psp_name": payer_psp,
            },
        )

    def _instruction_in_flight(self, ref: str) -> Any:
        from billing.models import SandboxCharge

        instruction = (
            SandboxCharge.objects.select_for_update()
            .filter(ref=ref, kind=INSTRUCTION, status="scheduled")
            .first()
        )
        if instruction is None or not instruction.details.get("attempt"):
            raise SandboxCharge.DoesNotExist("No charge awaits this instruction's debit.")
        return instruction

    def simulate_payment(self, *, instruction_ref: str) -> tuple[bytes, dict[str, str]]:
        """The due date's debit goes through (the morning one, or the evening retry)."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            instruction = self._instruction_in_flight(instruction_ref)
            key = instruction.details["attempt"]
            instruction.status = "succeeded"
            instruction.save(update_fields=["status"])
            SandboxCharge.objects.filter(idempotency_key=key, kind=CHARGE).update(
                status="succeeded"
            )
        return self.signed_event(
            "charge.succeeded", {"charge": instruction.ref, "idempotency_key": key}
        )

    def simulate_failure(self, *, instruction_ref: str) -> tuple[bytes, dict[str, str]]:
        """The debit finds no funds. The first failure of the day is retried by the
        payer's PSP the same evening (``pix_instruction.retrying``); the second
        fails the charge (``charge.failed``)."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            instruction = self._instruction_in_flight(instruction_ref)
            key = instruction.details["attempt"]
            if not instruction.details.get("evening_retry"):
                instruction.details = {**instruction.details, "evening_retry": "scheduled"}
                instruction.save(update_fields=["details"])
                return self.signed_event(
                    "pix_instruction.retrying",
                    {
                        "charge": instruction.ref,
                        "idempotency_key": key,
                        "recurrence_id": instruction.token,
                    },
                )
            instruction.status = "failed"
            instruction.details = {**instruction.details, "attempt": ""}
            instruction.save(update_fields=["status", "details"])
            SandboxCharge.objects.filter(idempotency_key=key, kind=CHARGE).update(
                status="failed", failure_code="insufficient_funds"
            )
        return self.signed_event(
            "charge.failed", {"charge": instruction.ref, "idempotency_key": key}
        )

    def simulate_payer_cancellation(self, *, recurrence_id: str) -> tuple[bytes, dict[str, str]]:
        """The payer cancels the authorisation in their bank's app."""
        from billing.models import SandboxCharge

        with transaction.atomic():
            rec = SandboxCharge.objects.select_for_update().get(
                ref=recurrence_id, kind=REC, status="active"
            )
            rec.status = "cancelled"
            rec.save(update_fields=["status"])
            SandboxCharge.objects.filter(
                kind=INSTRUCTION, token=recurrence_id, status="scheduled"
            ).update(status="cancelled")
        return self.signed_event(
            "pix_mandate.cancelled", {"recurrence_id": recurrence_id, "mandate": rec.token}
        )

    def instruction_ref_for(self, *, idempotency_key: str) -> str:
        """The instruction a charge was made against (test mode's buttons)."""
        from billing.models import SandboxCharge

        made = SandboxCharge.objects.filter(idempotency_key=idempotency_key, kind=CHARGE).first()
        return str(made.details.get("instruction", "")) if made is not None else ""


def get_provider(name: str) -> PixAutomaticoProvider:
    if name == SandboxPixAutomaticoPsp.name:
        return SandboxPixAutomaticoPsp()
    raise LookupError(f"Unknown Pix Automático provider: {name}")
