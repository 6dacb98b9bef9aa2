"""Pix Automático: mandates (autorizações), their journeys, each cycle's charge
instruction and what the PSP tells us. One transaction per write; the PSP is
called with no transaction open (DESIGN.md invariant 5).

* ``pix_mandate_create`` makes a pending mandate and asks the provider for the
  recurrence and its QR code: journey 3 (pays the subscription's open first
  invoice and authorises; the default for Pix) or journey 2 (authorises only,
  for trials).
* The PSP's webhook ``pix_mandate.authorized`` activates it: a
  ``pix_automatico`` payment method tied to the mandate becomes the
  subscription's; journey 3's first invoice is settled through the ordinary
  charge protocol (the PSP reports the first charge paid).
* ``pix_instructions_send`` (the billing run's companion: Celery beat, and the
  test clocks' ``PixInstructionSweep``) sends each cycle's instruction within the
  rail's window, D-10 to D-2 (``billing.domain.pix_automatico``), once per
  (mandate, due date). An amount the mandate does not cover (a readjustment
  above its maximum, or different from its fixed amount) is not sent: a new
  mandate is asked for instead (``pix_mandate.reauthorization_required``).
* On the due date the billing run's charge is made against the instruction; the
  payer's PSP debits in the morning, retries once the same evening, and reports
  by webhook. After a failure the merchant may order up to three more attempts
  within seven days when the mandate allows (the ``pix_automatico`` régua).
* ``pix_mandate.cancelled`` from the payer's PSP stops billing: the payment
  method is detached, the subscription's collection moves off the mandate, the
  instructions not yet debited are withdrawn and the merchant gets the event
  ``pix_mandate.cancelled``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from billing.domain.pix_automatico import (
    Journey,
    RetryPolicy,
    amount_fits,
    instruction_window,
    parse_amount,
    parse_periodicity,
    periodicity_for,
)
from billing.gateways.base import GatewayUnavailable
from billing.gateways.pix_automatico import RecurrenceRequest, get_provider
from billing.models import Invoice, PixInstruction, PixMandate
from billing.models.pix_automatico import MANDATE_TRANSITIONS, MandateStatus
from billing.setup import GatewayDown
from billing.terms import contract_terms
from core.actors import SYSTEM, Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.localtime import from_local, local_date
from core.transitions import transition
from customers.models import PaymentMethod, TestClock
from subscriptions.models import Subscription
from subscriptions.selectors import live_items_of
from tenants.changes import record_change
from tenants.context import platform_access, tenant_context
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

DEFAULT_PROVIDER = "sandbox_pixauto"
_ENDED_SUBS = ("canceled", "ended")
ISPB_LENGTH = 8


def _data(mandate: PixMandate) -> dict[str, Any]:
    return {
        "pix_mandate": mandate.public_id,
        "subscription": mandate.subscription.public_id,
        "customer": mandate.customer.public_id,
        "status": mandate.status,
        "journey": mandate.journey,
        "fixed_amount": mandate.fixed_amount_minor,
        "max_amount": mandate.max_amount_minor,
        "currency": mandate.currency,
        "periodicity": mandate.periodicity,
        "recurrence_id": mandate.recurrence_id,
    }


def cycle_amount(*, tenant: Tenant, subscription: Subscription) -> int | None:
    """What the subscription's next cycle will charge, priced as the billing run
    will price it (a readjustment, a coupon, taxes included); None when its next
    event writes no invoice (it ends, or is paused)."""
    from billing.subscriptions import subscription_preview_next_invoice

    preview = subscription_preview_next_invoice(tenant=tenant, subscription_id=subscription.pk)
    return None if preview is None else int(preview.totals.total_minor)


def contract_period_amount(*, tenant: Tenant, subscription: Subscription) -> int:
    """A period of the contract before taxes and coupons: its recurring fee and
    every live add-on's, each at the contract's own (readjusted) price."""
    sub = subscription
    total = contract_terms(sub.plan, sub.unit_amount_minor).period_amount(sub.quantity)
    for item in live_items_of(tenant=tenant, subscription_ids=[sub.pk]).get(sub.pk, []):
        total += contract_terms(item.plan, item.unit_amount_minor).period_amount(item.quantity)
    return total


def _clean_tax_id(value: object) -> str:
    from customers.domain.taxid import normalize_tax_id

    try:
        return normalize_tax_id(value if isinstance(value, str) else "").value
    except ValidationFailed as exc:
        raise ValidationFailed(str(exc), param="payer_tax_id", code="invalid_tax_id") from None


def _date(value: object, param: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed("Write dates as YYYY-MM-DD.", param=param, code="invalid_date")


def pix_mandate_create(
    *,
    tenant: Tenant,
    subscription_id: int,
    journey: object,
    periodicity: object,
    actor: Actor,
    now: datetime,
    fixed_amount_minor: object = None,
    max_amount_minor: object = None,
    start_date: object = None,
    end_date: object = None,
    retry_policy: object = RetryPolicy.NONE,
    payer_tax_id: object = None,
    payer_psp_ispb: object = "",
    payer_psp_name: object = "",
    provider: str = DEFAULT_PROVIDER,
    replaces: PixMandate | None = None,
    reason: str = "",
) -> PixMandate:
    """A pending mandate for a subscription and its QR code. Everything is
    checked before anything is written: bad input changes nothing."""
    sub = (
        Subscription.objects.select_related("plan", "customer")
        .filter(tenant=tenant, pk=subscription_id)
        .first()
    )
    if sub is None:
        raise NotFound("No such subscription.", param="subscription")
    if sub.status in _ENDED_SUBS:
        raise StateConflict(
            f"A {sub.status} subscription is not charged any more.", code="subscription_ended"
        )
    if journey not in set(Journey):
        raise ValidationFailed(
            'journey must be "3" (pay the first charge and authorise) or "2" (authorise only).',
            param="journey",
            code="invalid_journey",
        )
    period = parse_periodicity(periodicity)
    expected = periodicity_for(sub.plan.interval, sub.plan.interval_count)
    if expected is None:
        raise ValidationFailed(
            "This plan's billing interval has no Pix Automático periodicity.",
            param="periodicity",
            code="periodicity_not_supported",
        )
    if period != expected:
        raise ValidationFailed(
            f"The plan bills {expected}; the mandate must be {expected} too.",
            param="periodicity",
            code="periodicity_mismatch",
        )
    if sub.plan.currency != "BRL":
        raise ValidationFailed(
            "Pix Automático collects reais only.", param="currency", code="currency_not_supported"
        )
    if (fixed_amount_minor is None) == (max_amount_minor is None):
        raise ValidationFailed(
            "Give either fixed_amount or max_amount.", param="max_amount", code="invalid_amount"
        )
    fixed = (
        None
        if fixed_amount_minor is None
        else parse_amount(fixed_amount_minor, param="fixed_amount")
    )
    ceiling = (
        None if max_amount_minor is None else parse_amount(max_amount_minor, param="max_amount")
    )
    price = cycle_amount(tenant=tenant, subscription=sub)
    if price is None:
        price = contract_period_amount(tenant=tenant, subscription=sub)
    if ceiling is not None and ceiling < price:
        raise ValidationFailed(
            f"The maximum ({ceiling} centavos) is below what each cycle charges ({price}).",
            param="max_amount",
            code="max_below_price",
        )
    if fixed is not None and fixed != price:
        raise ValidationFailed(
            f"A fixed amount must be what each cycle charges ({price} centavos).",
            param="fixed_amount",
            code="fixed_amount_mismatch",
        )
    if retry_policy not in set(RetryPolicy):
        raise ValidationFailed(
            'retry_policy must be "no_retry" or "3r_7d".', param="retry_policy", code="invalid"
        )
    tax_id = _clean_tax_id(payer_tax_id if payer_tax_id is not None else sub.customer.tax_id)
    ispb = payer_psp_ispb if isinstance(payer_psp_ispb, str) else None
    if ispb is None or (ispb and not (ispb.isdigit() and len(ispb) == ISPB_LENGTH)):
        raise ValidationFailed("An ISPB has 8 digits.", param="payer_psp_ispb", code="invalid_ispb")
    if not isinstance(payer_psp_name, str) or len(payer_psp_name) > 80:
        raise ValidationFailed(
            "The PSP's name is text, at most 80 characters.", param="payer_psp_name"
        )
    today = local_date(now, tenant.time_zone)
    start = _date(start_date, "start_date") or today
    end = _date(end_date, "end_date")
    if start < today:
        raise ValidationFailed("The start date has passed.", param="start_date")
    if end is not None and end <= start:
        raise ValidationFailed("The end date must come after the start.", param="end_date")
    first: Invoice | None = None
    if journey == Journey.PAY_AND_AUTHORISE:
        first = (
            Invoice.objects.filter(
                tenant=tenant, subscription=sub, status=Invoice.Status.OPEN, amount_due_minor__gt=0
            )
            .order_by("issued_at", "id")
            .first()
        )
        if first is None:
            raise ValidationFailed(
                "Journey 3 pays the subscription's open invoice, and it has none; "
                "use journey 2 (authorise only).",
                param="journey",
                code="nothing_due",
            )
    with transaction.atomic():
        Subscription.objects.select_for_update().filter(pk=sub.pk).first()
        if PixMandate.objects.filter(tenant=tenant, subscription=sub, status="pending").exists():
            raise StateConflict(
                "This subscription already has a mandate awaiting the payer.",
                code="mandate_pending",
            )
        # A new authorisation for a subscription with a live one replaces it once
        # the payer authorises (one active mandate per subscription).
        replaces = (
            replaces
            or PixMandate.objects.filter(
                tenant=tenant, subscription=sub, status=MandateStatus.ACTIVE
            ).first()
        )
        mandate = PixMandate.objects.create(
            tenant=tenant,
            subscription=sub,
            customer=sub.customer,
            journey=str(journey),
            provider=provider,
            fixed_amount_minor=fixed,
            max_amount_minor=ceiling,
            currency="BRL",
            periodicity=period.value,
            retry_policy=str(retry_policy),
            start_date=start,
            end_date=end,
            payer_tax_id=tax_id,
            payer_psp_ispb=ispb,
            payer_psp_name=payer_psp_name,
            first_invoice=first,
            first_amount_minor=first.amount_due_minor if first else None,
            replaces=replaces,
            reason=reason[:200],
            created_at=now,
        )
    # The PSP, with no transaction open; its answer is kept in a second one.
    try:
        created = get_provider(provider).create_recurrence(
            RecurrenceRequest(
                mandate_ref=mandate.public_id,
                journey=mandate.journey,
                periodicity=mandate.periodicity,
                fixed_amount_minor=fixed,
                max_amount_minor=ceiling,
                start_date=start,
                end_date=end,
                retry_policy=mandate.retry_policy,
                payer_tax_id=tax_id,
                merchant_name=tenant.name,
                first_amount_minor=mandate.first_amount_minor,
            )
        )
    except GatewayUnavailable as exc:
        # No QR code reached anyone: the mandate ends rejected, so it neither
        # blocks a new attempt (one pending per subscription) nor waits to expire.
        with transaction.atomic():
            _reject(
                tenant, _locked(tenant, mandate.pk), actor, now, reason="The PSP did not answer."
            )
        # Shown as it is by the portal and checkout, in the subscriber's language.
        raise GatewayDown(
            gettext("The Pix Automático provider did not answer; try again.")
        ) from exc
    with transaction.atomic():
        mandate.recurrence_id, mandate.txid, mandate.payload = (
            created.recurrence_id,
            created.txid,
            created.payload,
        )
        mandate.save(update_fields=["recurrence_id", "txid", "payload"])
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="pix_mandate.created",
            subject_type="pix_mandate",
            subject_id=mandate.public_id,
            data=_data(mandate),
            target=mandate,
        )
    return mandate


def _reject(
    tenant: Tenant, mandate: PixMandate, actor: Actor, now: datetime, *, reason: str = ""
) -> None:
    """Inside a transaction: a pending mandate ends rejected, by the payer's PSP
    (its webhook) or because no PSP answered (``reason``)."""
    transition(mandate, MandateStatus.REJECTED, MANDATE_TRANSITIONS, what="mandate")
    mandate.ended_at = now
    fields = ["status", "ended_at"]
    if reason:
        mandate.reason = reason
        fields.append("reason")
    mandate.save(update_fields=fields)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="pix_mandate.rejected",
        subject_type="pix_mandate",
        subject_id=mandate.public_id,
        data={**_data(mandate), "reason": reason} if reason else _data(mandate),
        target=mandate,
    )


def _locked(tenant: Tenant, mandate_id: int) -> PixMandate:
    mandate = (
        PixMandate.objects.select_for_update(of=("self",))
        .select_related("subscription", "customer")
        .filter(tenant=tenant, pk=mandate_id)
        .first()
    )
    if mandate is None:
        raise NotFound("No such Pix Automático mandate.", param="pix_mandate")
    return mandate


def _end(
    mandate: PixMandate,
    *,
    to: str,
    actor: Actor,
    now: datetime,
    reason: str,
    event: str = "pix_mandate.cancelled",
) -> None:
    """Inside a transaction: end the mandate; its method is detached, the
    subscription's collection moves off it, instructions not debited are withdrawn."""
    from customers.services import payment_method_detach
    from subscriptions.services.lifecycle import subscription_payment_method_set

    tenant = mandate.tenant
    transition(mandate, to, MANDATE_TRANSITIONS, what="Pix Automático mandate")
    mandate.ended_at, mandate.reason = now, reason[:200] or mandate.reason
    mandate.save(update_fields=["status", "ended_at", "reason"])
    method = mandate.payment_method
    if method is not None and method.detached_at is None:
        sub = Subscription.objects.filter(pk=mandate.subscription_id).first()
        if sub is not None and sub.payment_method_id == method.pk and sub.status not in _ENDED_SUBS:
            subscription_payment_method_set(
                tenant=tenant,
                subscription_id=sub.pk,
                actor=actor,
                now=now,
                payment_method_id=None,
            )
        payment_method_detach(tenant=tenant, payment_method_id=method.pk, actor=actor, now=now)
    PixInstruction.objects.filter(
        mandate=mandate,
        status=PixInstruction.Status.SENT,
        due_date__gt=local_date(now, tenant.time_zone),
    ).update(status=PixInstruction.Status.CANCELLED)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event=event,
        subject_type="pix_mandate",
        subject_id=mandate.public_id,
        data={**_data(mandate), "reason": mandate.reason},
        target=mandate,
    )


def pix_mandate_cancel(
    *, tenant: Tenant, mandate_id: int, actor: Actor, now: datetime, reason: str = ""
) -> PixMandate:
    """The merchant ends a pending or active mandate (and its recurrence at the PSP)."""
    with transaction.atomic():
        mandate = _locked(tenant, mandate_id)
        if mandate.status == MandateStatus.CANCELLED_BY_MERCHANT:
            return mandate
        if mandate.status not in (MandateStatus.PENDING, MandateStatus.ACTIVE):
            raise StateConflict(
                f"A {mandate.status} mandate cannot be cancelled.", code="mandate_not_cancellable"
            )
        _end(
            mandate,
            to=MandateStatus.CANCELLED_BY_MERCHANT,
            actor=actor,
            now=now,
            reason=reason or "Cancelled by the merchant.",
        )
    if mandate.recurrence_id:
        get_provider(mandate.provider).cancel_recurrence(recurrence_id=mandate.recurrence_id)
    return mandate


def _activate(mandate: PixMandate, data: dict[str, Any], now: datetime) -> bool:
    """Inside a transaction: the payer authorised. True when journey 3's first
    invoice is to be collected now."""
    from billing.gateways.base import SavedMethod
    from billing.payments.methods import payment_method_attach
    from subscriptions.services.lifecycle import subscription_payment_method_set

    tenant = mandate.tenant
    if mandate.replaces_id:
        old = PixMandate.objects.select_for_update().filter(pk=mandate.replaces_id).first()
        if old is not None and old.status == MandateStatus.ACTIVE:
            _end(
                old,
                to=MandateStatus.CANCELLED_BY_MERCHANT,
                actor=SYSTEM,
                now=now,
                reason=f"Replaced by {mandate.public_id}.",
            )
    transition(mandate, MandateStatus.ACTIVE, MANDATE_TRANSITIONS, what="Pix Automático mandate")
    mandate.authorised_at = now
    mandate.payer_psp_ispb = str(data.get("payer_psp_ispb") or mandate.payer_psp_ispb)[:8]
    mandate.payer_psp_name = str(data.get("payer_psp_name") or mandate.payer_psp_name)[:80]
    method = payment_method_attach(
        tenant=tenant,
        customer=mandate.customer,
        saved=SavedMethod(token=mandate.recurrence_id, kind=PaymentMethod.Kind.PIX_AUTOMATICO),
        gateway=mandate.provider,
        actor=SYSTEM,
        now=now,
        make_default=False,
    )
    mandate.payment_method = method
    mandate.save(
        update_fields=[
            "status",
            "authorised_at",
            "payer_psp_ispb",
            "payer_psp_name",
            "payment_method",
        ]
    )
    sub = Subscription.objects.filter(pk=mandate.subscription_id).first()
    if sub is not None and sub.status not in _ENDED_SUBS:
        subscription_payment_method_set(
            tenant=tenant,
            subscription_id=sub.pk,
            actor=SYSTEM,
            now=now,
            payment_method_id=method.pk,
        )
    record_change(
        tenant=tenant,
        actor=SYSTEM,
        at=now,
        event="pix_mandate.activated",
        subject_type="pix_mandate",
        subject_id=mandate.public_id,
        data=_data(mandate),
        target=mandate,
    )
    return bool(data.get("first_payment")) and mandate.first_invoice_id is not None


MANDATE_EVENTS = ("pix_mandate.authorized", "pix_mandate.rejected", "pix_mandate.cancelled")


def pix_webhook_process(*, gateway_name: str, event_type: str, data: dict, now: datetime) -> str:
    """What the PSP told us about a recurrence (called by ``webhook_receive``,
    once per event id; each transition is idempotent besides)."""
    if event_type == "pix_instruction.retrying":
        return "the payer's PSP retries this evening"
    recurrence_id = str(data.get("recurrence_id", ""))[:40]
    with platform_access():
        found = (
            PixMandate.objects.select_related("tenant")
            .filter(provider=gateway_name, recurrence_id=recurrence_id)
            .exclude(recurrence_id="")
            .first()
        )
    if found is None:
        return "unknown recurrence"
    tenant = found.tenant
    with tenant_context(tenant):
        from billing.selectors import now_for

        now = now_for(customer=found.customer, now=now)
        collect_first = False
        with transaction.atomic():
            mandate = _locked(tenant, found.pk)
            if event_type == "pix_mandate.authorized":
                if mandate.status != MandateStatus.PENDING:
                    return f"mandate {mandate.public_id} {mandate.status}"
                collect_first = _activate(mandate, data, now)
            elif event_type == "pix_mandate.rejected":
                if mandate.status != MandateStatus.PENDING:
                    return f"mandate {mandate.public_id} {mandate.status}"
                _reject(tenant, mandate, SYSTEM, now)
            elif event_type == "pix_mandate.cancelled":
                if mandate.status != MandateStatus.ACTIVE:
                    return f"mandate {mandate.public_id} {mandate.status}"
                _end(
                    mandate,
                    to=MandateStatus.CANCELLED_BY_PAYER,
                    actor=SYSTEM,
                    now=now,
                    reason="Cancelled by the payer at their bank.",
                )
            else:
                return "ignored"
        if collect_first and mandate.first_invoice_id and mandate.payment_method_id:
            _collect_first(tenant=tenant, mandate=mandate, now=now)
    return f"mandate {mandate.public_id} {mandate.status}"


def _collect_first(*, tenant: Tenant, mandate: PixMandate, now: datetime) -> None:
    """Journey 3: the payer paid the first charge with the authorisation; the
    charge protocol records it (the PSP answers that it is paid)."""
    from billing.payments import invoice_charge

    try:
        invoice_charge(
            tenant=tenant,
            invoice_id=int(mandate.first_invoice_id or 0),
            now=now,
            payment_method_id=mandate.payment_method_id,
        )
    except (StateConflict, NotFound):
        logger.info("pix_mandate.first_invoice_not_open", mandate=mandate.public_id)


# ---------------------------------------------------------------------------
# Each cycle's instruction


def _due_date(tenant: Tenant, sub: Subscription) -> date | None:
    at = sub.current_period_end if sub.started else sub.start_at
    if sub.next_event_at is None or sub.status in _ENDED_SUBS:
        return None
    return local_date(at, tenant.time_zone)


def _live_mandates(tenant: Tenant, clock: TestClock | None) -> QuerySet[PixMandate]:
    qs = PixMandate.objects.select_related("subscription", "customer").filter(
        tenant=tenant, status=MandateStatus.ACTIVE
    )
    return (
        qs.filter(customer__test_clock=clock)
        if clock
        else qs.filter(customer__test_clock__isnull=True)
    )


def _awaits_instruction(tenant: Tenant, mandate: PixMandate) -> date | None:
    """The due date whose instruction this mandate still owes, or None."""
    due = _due_date(tenant, mandate.subscription)
    if due is None or (mandate.end_date is not None and due > mandate.end_date):
        return None
    if PixInstruction.objects.filter(mandate=mandate, due_date=due).exists():
        return None
    if PixMandate.objects.filter(replaces=mandate, status=MandateStatus.PENDING).exists():
        return None  # a new authorisation was asked for; nothing goes out under this one
    return due


def pix_instructions_send(
    *, tenant: Tenant, now: datetime, clock: TestClock | None = None
) -> list[PixInstruction]:
    """Send every instruction whose window is open today (idempotent: one per
    mandate and due date). Past the window (D-2) nothing is sent: the rail
    would refuse it, and the cycle's charge fails to dunning."""
    sent = []
    today = local_date(now, tenant.time_zone)
    for mandate in list(_live_mandates(tenant, clock)):
        due = _awaits_instruction(tenant, mandate)
        if due is None or not instruction_window(due).contains(today):
            continue
        made = pix_instruction_send(tenant=tenant, mandate_id=mandate.pk, due=due, now=now)
        if made is not None:
            sent.append(made)
    return sent


def pix_instruction_send(
    *, tenant: Tenant, mandate_id: int, due: date, now: datetime
) -> PixInstruction | None:
    """One cycle's instruction: recorded, then sent to the PSP under its own key.
    None when the cycle's amount is not covered by the mandate (a new
    authorisation is asked for instead)."""
    mandate = PixMandate.objects.select_related("subscription").get(tenant=tenant, pk=mandate_id)
    amount = cycle_amount(tenant=tenant, subscription=mandate.subscription)
    if amount is None:
        return None  # the subscription ends or pauses: nothing to instruct
    if not amount_fits(
        fixed_minor=mandate.fixed_amount_minor,
        max_minor=mandate.max_amount_minor,
        amount_minor=amount,
    ):
        pix_mandate_reauthorise(tenant=tenant, mandate=mandate, amount_minor=amount, now=now)
        return None
    with transaction.atomic():
        instruction, created = PixInstruction.objects.get_or_create(
            tenant=tenant,
            mandate=mandate,
            due_date=due,
            defaults={
                "subscription": mandate.subscription,
                "amount_minor": amount,
                "currency": mandate.currency,
                "sent_at": now,
            },
        )
        if created:
            record_change(
                tenant=tenant,
                actor=SYSTEM,
                at=now,
                event="pix_instruction.sent",
                subject_type="pix_mandate",
                subject_id=mandate.public_id,
                data={
                    "pix_mandate": mandate.public_id,
                    "instruction": instruction.public_id,
                    "subscription": mandate.subscription.public_id,
                    "due_date": due.isoformat(),
                    "amount": amount,
                    "currency": mandate.currency,
                },
                target=instruction,
            )
    if not instruction.provider_ref:
        ref = get_provider(mandate.provider).send_instruction(
            recurrence_id=mandate.recurrence_id,
            due_date=due,
            amount_minor=instruction.amount_minor,
            idempotency_key=f"pixins:{instruction.public_id}",
        )
        PixInstruction.objects.filter(pk=instruction.pk).update(provider_ref=ref)
        instruction.provider_ref = ref
    return instruction


def pix_mandate_reauthorise(
    *, tenant: Tenant, mandate: PixMandate, amount_minor: int, now: datetime
) -> PixMandate | None:
    """The cycle's amount is above the mandate's maximum (or differs from its
    fixed amount): nothing is charged under it; a new mandate for the new amount
    is made pending (journey 2, authorise only) and the subscriber told
    (``pix_mandate.reauthorization_required``). None if one already awaits."""
    if PixMandate.objects.filter(
        tenant=tenant, subscription_id=mandate.subscription_id, status=MandateStatus.PENDING
    ).exists():
        return None
    fixed = mandate.fixed_amount_minor is not None
    try:
        new = pix_mandate_create(
            tenant=tenant,
            subscription_id=mandate.subscription_id,
            journey=Journey.AUTHORISE_ONLY,
            periodicity=mandate.periodicity,
            fixed_amount_minor=amount_minor if fixed else None,
            max_amount_minor=None if fixed else amount_minor,
            retry_policy=mandate.retry_policy,
            payer_tax_id=mandate.payer_tax_id,
            payer_psp_ispb=mandate.payer_psp_ispb,
            payer_psp_name=mandate.payer_psp_name,
            provider=mandate.provider,
            replaces=mandate,
            reason=f"The new price ({amount_minor} centavos) exceeds what "
            f"{mandate.public_id} allows.",
            actor=SYSTEM,
            now=now,
        )
    except GatewayDown:
        # The unanswered request ended rejected; the next sweep asks again, and
        # the other mandates of this sweep still get their instructions.
        logger.warning("pix_mandate.reauthorisation_unanswered", mandate=mandate.public_id)
        return None
    with transaction.atomic():
        record_change(
            tenant=tenant,
            actor=SYSTEM,
            at=now,
            event="pix_mandate.reauthorization_required",
            subject_type="pix_mandate",
            subject_id=new.public_id,
            data={
                **_data(new),
                "replaces": mandate.public_id,
                "amount": amount_minor,
                "authorised_amount": mandate.amount_minor,
                "payload": new.payload,
            },
            target=new,
        )
    return new


class PixInstructionSweep:
    """Test clocks: send each instruction on the first day of its window."""

    def _moments(self, *, tenant: Tenant, clock: TestClock) -> list[datetime]:
        moments = []
        today = local_date(clock.frozen_time, tenant.time_zone)
        for mandate in _live_mandates(tenant, clock):
            due = _awaits_instruction(tenant, mandate)
            if due is None:
                continue
            window = instruction_window(due)
            if today > window.latest:
                continue
            first = max(window.earliest, today)
            moments.append(
                max(
                    from_local(datetime.combine(first, time(9)), tenant.time_zone),
                    clock.frozen_time,
                )
            )
        return moments

    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        moments = [
            m
            for m in (
                *self._moments(tenant=tenant, clock=clock),
                *_expiry_moments(tenant=tenant, clock=clock),
            )
            if m <= until
        ]
        return min(moments, default=None)

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        pix_mandates_expire(tenant=tenant, now=now, clock=clock)
        pix_instructions_send(tenant=tenant, now=now, clock=clock)


def pix_mandate_list(*, tenant: Tenant) -> QuerySet[PixMandate]:
    return (
        PixMandate.objects.filter(tenant=tenant)
        .select_related("subscription", "customer")
        .order_by("-created_at", "-id")
    )


def pix_mandate_get(*, tenant: Tenant, public_id: str) -> PixMandate:
    found = pix_mandate_list(tenant=tenant).filter(public_id=public_id).first()
    if found is None:
        raise NotFound("No such Pix Automático mandate.", param="pix_mandate")
    return found


def pix_instruction_list(*, tenant: Tenant, mandate: PixMandate) -> QuerySet[PixInstruction]:
    return PixInstruction.objects.filter(tenant=tenant, mandate=mandate).order_by(
        "-due_date", "-id"
    )


# ---------------------------------------------------------------------------
# Expiry: an authorisation past its end date


_LIVE = (MandateStatus.PENDING, MandateStatus.ACTIVE)


def _with_end(tenant: Tenant, clock: TestClock | None) -> QuerySet[PixMandate]:
    qs = PixMandate.objects.filter(tenant=tenant, status__in=_LIVE, end_date__isnull=False)
    return (
        qs.filter(customer__test_clock=clock)
        if clock
        else qs.filter(customer__test_clock__isnull=True)
    )


def _expires_at(tenant: Tenant, end: date) -> datetime:
    """The first moment after the end date, in the tenant's time zone: the mandate
    covers every debit due on its end date, and nothing after it."""
    return from_local(datetime.combine(end + timedelta(days=1), time(0)), tenant.time_zone)


def _expiry_moments(*, tenant: Tenant, clock: TestClock) -> list[datetime]:
    return [
        max(_expires_at(tenant, end), clock.frozen_time)
        for end in _with_end(tenant, clock).values_list("end_date", flat=True)
        if end is not None
    ]


def pix_mandates_expire(
    *, tenant: Tenant, now: datetime, clock: TestClock | None = None
) -> list[PixMandate]:
    """Every pending or active mandate whose end date has passed becomes
    ``expired`` (idempotent; the hourly beat and test clocks run it). Like a
    payer's cancellation, the subscription's collection moves off it; its next
    invoice, with nothing to charge, goes to the ``pix_automatico`` régua
    (``pix_lapsed_invoice``). The rail ends the recurrence by itself."""
    today = local_date(now, tenant.time_zone)
    expired = []
    for pk in list(
        _with_end(tenant, clock).filter(end_date__lt=today).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            mandate = _locked(tenant, pk)
            if mandate.status not in _LIVE or mandate.end_date is None:
                continue
            if mandate.end_date >= today:
                continue
            _end(
                mandate,
                to=MandateStatus.EXPIRED,
                actor=SYSTEM,
                now=now,
                reason="The authorisation's end date has passed.",
                event="pix_mandate.expired",
            )
        expired.append(mandate)
    return expired


_LAPSED = (MandateStatus.EXPIRED, MandateStatus.CANCELLED_BY_PAYER)


def pix_lapsed_invoice(*, tenant: Tenant, invoice_id: int, now: datetime) -> bool:
    """An invoice found nothing to charge. If its subscription was collected by a
    Pix Automático mandate that expired or that the payer cancelled (and none
    replaced it), it is dunned under the ``pix_automatico`` régua like a failed
    debit: reminders, retries (which charge whatever method the payer adds
    meanwhile), suspension, cancellation. True when it was handed to dunning."""
    from billing import listeners

    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .filter(tenant=tenant, pk=invoice_id, status=Invoice.Status.OPEN)
            .first()
        )
        if invoice is None or invoice.subscription_id is None or invoice.amount_due_minor <= 0:
            return False
        latest = (
            PixMandate.objects.filter(tenant=tenant, subscription_id=invoice.subscription_id)
            .exclude(status=MandateStatus.PENDING)
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is None or latest.status not in _LAPSED:
            return False
        listeners.payment_method_missing(
            tenant=tenant, invoice=invoice, payment_method_kind="pix_automatico", now=now
        )
    return True


# ---------------------------------------------------------------------------
# Test mode: what the payer and the payer's PSP do, on the sandbox PSP


SIMULATIONS = ("authorise", "reject", "pay", "fail", "payer_cancel")


def pix_mandate_simulate(
    *,
    tenant: Tenant,
    mandate_id: int,
    what: str,
    now: datetime,
    instruction_id: int | None = None,
) -> str:
    """Make the sandbox PSP act as the payer would and deliver its signed webhook
    (the same path a real PSP's takes). ``pay`` and ``fail`` act on one of the
    mandate's instructions whose due date's debit was made. Returns the
    webhook's outcome."""
    from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp
    from billing.models import SandboxCharge
    from billing.payments import webhook_receive

    mandate = PixMandate.objects.filter(tenant=tenant, pk=mandate_id).first()
    if mandate is None:
        raise NotFound("No such Pix Automático mandate.", param="pix_mandate")
    if mandate.provider != SandboxPixAutomaticoPsp.name:
        raise StateConflict("Only the sandbox PSP's mandates can be simulated.", code="not_sandbox")
    if what not in SIMULATIONS:
        raise ValidationFailed(
            f"Simulate one of: {', '.join(SIMULATIONS)}.", param="action", code="invalid"
        )
    psp = SandboxPixAutomaticoPsp()
    instruction = None
    if what in ("pay", "fail"):
        instruction = PixInstruction.objects.filter(
            tenant=tenant, mandate=mandate, pk=instruction_id or 0
        ).first()
        if instruction is None:
            raise NotFound("No such instruction of this mandate.", param="instruction")
    try:
        if what in ("authorise", "reject"):
            if mandate.status != MandateStatus.PENDING:
                raise StateConflict(
                    f"A {mandate.status} mandate awaits no authorisation.",
                    code="mandate_not_pending",
                )
            body, headers = psp.simulate_authorisation(
                recurrence_id=mandate.recurrence_id, approve=what == "authorise"
            )
        elif what == "payer_cancel":
            if mandate.status != MandateStatus.ACTIVE:
                raise StateConflict(
                    f"A {mandate.status} mandate cannot be cancelled by the payer.",
                    code="mandate_not_active",
                )
            body, headers = psp.simulate_payer_cancellation(recurrence_id=mandate.recurrence_id)
        elif what == "pay":
            body, headers = psp.simulate_payment(instruction_ref=instruction.provider_ref)  # type: ignore[union-attr]
        else:
            body, headers = psp.simulate_failure(instruction_ref=instruction.provider_ref)  # type: ignore[union-attr]
    except SandboxCharge.DoesNotExist:
        raise StateConflict(
            "The sandbox PSP has nothing awaiting that: no debit of this instruction is "
            "in flight (it is made on the due date).",
            code="nothing_to_simulate",
        ) from None
    return webhook_receive(
        gateway_name=SandboxPixAutomaticoPsp.name, body=body, headers=headers, now=now
    )


# ---------------------------------------------------------------------------
# The subscriber's own choice (portal, checkout)


def pix_automatico_offered(*, tenant: Tenant, plan: Any) -> bool:
    """Whether a subscriber paying ``plan`` by Pix is offered Pix Automático: the
    tenant offers it (Settings → Payments) and the plan bills in reais at an
    interval the rail knows."""
    from billing.segunda_via import collection_settings

    return (
        plan.currency == "BRL"
        and periodicity_for(plan.interval, plan.interval_count) is not None
        and collection_settings(tenant=tenant).pix_automatico
    )


def pix_mandate_offer(
    *, tenant: Tenant, subscription_id: int, actor: Actor, now: datetime
) -> PixMandate:
    """The mandate a subscriber asks for themselves: journey 3 when the
    subscription has an invoice to pay (the QR pays it and authorises), journey
    2 otherwise (a trial); a maximum of what each cycle charges now, retries as
    the rail allows (3 in 7 days). The one already awaiting the payer is
    returned as it is."""
    pending = (
        PixMandate.objects.filter(
            tenant=tenant, subscription_id=subscription_id, status=MandateStatus.PENDING
        )
        .order_by("-id")
        .first()
    )
    if pending is not None:
        return pending
    sub = (
        Subscription.objects.select_related("plan")
        .filter(tenant=tenant, pk=subscription_id)
        .first()
    )
    if sub is None:
        raise NotFound("No such subscription.", param="subscription")
    if not pix_automatico_offered(tenant=tenant, plan=sub.plan):
        raise StateConflict(
            "Pix Automático is not offered for this subscription.",
            code="pix_automatico_not_offered",
        )
    has_open = Invoice.objects.filter(
        tenant=tenant, subscription=sub, status=Invoice.Status.OPEN, amount_due_minor__gt=0
    ).exists()
    price = cycle_amount(tenant=tenant, subscription=sub)
    return pix_mandate_create(
        tenant=tenant,
        subscription_id=sub.pk,
        journey=Journey.PAY_AND_AUTHORISE if has_open else Journey.AUTHORISE_ONLY,
        periodicity=periodicity_for(sub.plan.interval, sub.plan.interval_count),
        max_amount_minor=price if price is not None else sub.unit_amount * sub.quantity,
        retry_policy=RetryPolicy.THREE_IN_SEVEN_DAYS,
        actor=actor,
        now=now,
    )
