"""Boleto confirmation by bank return file (CNAB 240, ``billing/domain/cnab240.py``).

A return file lists what the bank did with each slip. For each título paid
(movement 06 or 17) we find the boleto by its nosso número among *this
tenant's* payment attempts — never guessing: a nosso número we did not issue,
or that another tenant issued, is reported as unknown — and settle it through
the same path as the boleto webhook (``charges._settle``).

Exactly once: the settlement is per boleto. The attempt is locked (the order of
``billing/locks.py``: subscription → invoice → attempt) and a boleto already
settled, or already reported by an earlier file, is reported "already paid";
the same file uploaded twice, or two overlapping files, pay each invoice once.

Amounts: the amount paid (valor pago, U 078-092) is compared to the slip's
amount (the attempt's, late charges of a segunda via included).
- less than that: reported as underpaid and NOT settled — the invoice stays
  open (and in dunning); the merchant decides (a credit, a new slip);
- more: settled, and the difference reported as an overpayment to refund;
- a payment on a slip that was withdrawn (replaced by a segunda via, or its Pix
  paid first on a bolepix), or on an invoice no longer open: the whole amount
  is reported as to refund; nothing is settled twice.

One file is one transaction: the file, its lines and every settlement commit
together, or (a malformed file) nothing is written at all. Entries are settled
in ascending (subscription, invoice, attempt) order so two overlapping files
processed at once lock in the same order and cannot deadlock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from billing.domain.cnab240 import ReturnEntry, ReturnFileError, parse_return_file
from billing.gateways import get_gateway
from billing.gateways.base import ChargeResult, ChargeStatus
from billing.locks import lock_attempt
from billing.models import BoletoReturnFile, BoletoReturnLine, Invoice, PaymentAttempt
from core.actors import Actor
from core.errors import ValidationFailed
from tenants.changes import record_change
from tenants.models import Tenant

# A CNAB 240 line is 240 characters (+ line break): 1 MB holds some 4,000 lines,
# about 2,000 títulos — more than a day's return for the merchants we serve.
MAX_RETURN_FILE_BYTES = 1_000_000
Outcome = BoletoReturnLine.Outcome
_PAYMENT_OUTCOMES = (Outcome.SETTLED, Outcome.OVERPAID, Outcome.WITHDRAWN)


def boleto_gateways() -> tuple[str, ...]:
    from billing.segunda_via import BOLETO_GATEWAYS

    return BOLETO_GATEWAYS


@dataclass(frozen=True, slots=True)
class _Match:
    entry: ReturnEntry
    attempt_id: int | None
    sort_key: tuple[int, int, int]


def _match(*, tenant: Tenant, entry: ReturnEntry) -> _Match:
    """This tenant's boleto for a nosso número, read without locks (an attempt's
    invoice and subscription never change)."""
    for name in boleto_gateways():
        gateway = get_gateway(name)
        ref = gateway.ref_for_our_number(entry.our_number)  # type: ignore[attr-defined]
        if ref is None:
            continue
        row = (
            PaymentAttempt.objects.filter(tenant=tenant, gateway=name, gateway_ref=ref)
            .values_list("pk", "invoice_id", "invoice__subscription_id")
            .first()
        )
        if row is not None:
            pk, invoice_id, subscription_id = row
            return _Match(entry, pk, (subscription_id or 0, invoice_id, pk))
    return _Match(entry, None, (0, 0, 0))


def _check_content(content: bytes) -> None:
    if not content:
        raise ValidationFailed("The file is empty.", param="file", code="empty_file")
    if len(content) > MAX_RETURN_FILE_BYTES:
        raise ValidationFailed(
            f"The file is larger than {MAX_RETURN_FILE_BYTES // 1_000_000} MB.",
            param="file",
            code="file_too_large",
        )


def boleto_return_file_process(
    *, tenant: Tenant, content: bytes, filename: str, actor: Actor, now: datetime
) -> BoletoReturnFile:
    """Parse a CNAB 240 return file and settle each boleto it says was paid, once.

    Raises ``ValidationFailed`` (param ``file``) for an empty, oversized or
    malformed file — the message names the line and the field — and then writes
    nothing."""
    _check_content(content)
    try:
        parsed = parse_return_file(content)
    except ReturnFileError as exc:
        raise ValidationFailed(
            f"Line {exc.line}, {exc.field}: {exc.message}",
            param="file",
            code="malformed_return_file",
        ) from None
    matches = sorted(
        (_match(tenant=tenant, entry=e) for e in parsed.entries),
        key=lambda m: (m.sort_key, m.entry.line),
    )
    with transaction.atomic():
        stored = BoletoReturnFile.objects.create(
            tenant=tenant,
            filename=filename[:200],
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            bank_code=parsed.bank_code,
            sequence=parsed.sequence,
            uploaded_by=actor.label[:200],
            created_at=now,
        )
        for match in matches:
            _process_entry(tenant=tenant, file=stored, match=match, now=now)
        counts = {
            o: stored.lines.filter(outcome=o).count()
            for o in Outcome.values
            if stored.lines.filter(outcome=o).exists()
        }
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="boleto_return_file.processed",
            subject_type="boleto_return_file",
            subject_id=stored.public_id,
            data={"boleto_return_file": stored.public_id, "outcomes": counts},
            target=stored,
        )
    return stored


def _paid_by_pix(attempt: PaymentAttempt) -> bool:
    slip = get_gateway(attempt.gateway).slip(gateway_ref=attempt.gateway_ref)  # type: ignore[attr-defined]
    return bool(slip.get("paid_by") == "pix")


def _process_entry(
    *, tenant: Tenant, file: BoletoReturnFile, match: _Match, now: datetime
) -> BoletoReturnLine:
    entry = match.entry
    line = BoletoReturnLine(
        tenant=tenant,
        file=file,
        line=entry.line,
        movement_code=entry.movement_code,
        our_number=entry.our_number[:20],
        paid_minor=entry.paid_minor,
    )
    if match.attempt_id is None:
        line.outcome = Outcome.UNKNOWN if entry.is_payment else Outcome.NOT_A_PAYMENT
        line.save()
        return line
    attempt = lock_attempt(tenant=tenant, attempt_id=match.attempt_id)
    invoice = Invoice.objects.get(pk=attempt.invoice_id)  # locked by lock_attempt
    line.attempt = attempt
    line.expected_minor = attempt.amount_minor
    line.currency = attempt.currency
    if not entry.is_payment:
        line.outcome = Outcome.NOT_A_PAYMENT
    elif BoletoReturnLine.objects.filter(
        tenant=tenant, attempt=attempt, outcome__in=_PAYMENT_OUTCOMES
    ).exists():
        line.outcome = Outcome.ALREADY_PAID  # an earlier file reported this payment
    elif attempt.status == PaymentAttempt.Status.SUCCEEDED and _paid_by_pix(attempt):
        # A bolepix whose Pix was paid first: its boleto was withdrawn, and this
        # late payment of it is money to give back.
        line.outcome = Outcome.WITHDRAWN
        line.refund_due_minor = entry.paid_minor
    elif attempt.status == PaymentAttempt.Status.SUCCEEDED:
        line.outcome = Outcome.ALREADY_PAID  # settled by the boleto's webhook
    elif attempt.status == PaymentAttempt.Status.FAILED or invoice.status != Invoice.Status.OPEN:
        # The slip was withdrawn, or the invoice was settled otherwise: this
        # money pays nothing and goes back to the payer.
        line.outcome = Outcome.WITHDRAWN
        line.refund_due_minor = entry.paid_minor
    elif entry.paid_minor < attempt.amount_minor:
        line.outcome = Outcome.UNDERPAID
    else:
        from billing.payments.charges import _settle

        _settle(
            tenant=tenant,
            attempt_id=attempt.pk,
            result=ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_ref=attempt.gateway_ref),
            now=now,
        )
        gateway = get_gateway(attempt.gateway)
        ref = attempt.gateway_ref
        # A bolepix's Pix is withdrawn once the commit has made the payment ours.
        transaction.on_commit(lambda: gateway.confirm_paid(gateway_ref=ref, rail="boleto"))  # type: ignore[attr-defined]
        extra = entry.paid_minor - attempt.amount_minor
        line.outcome = Outcome.OVERPAID if extra else Outcome.SETTLED
        line.refund_due_minor = extra
    line.save()
    return line
