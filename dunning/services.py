"""Writes of the régua de cobrança: policies, cases, and running their steps.

How a case runs (DESIGN.md "Dunning policy", invariants 4–6):

- A case opens when a card charge fails, or when a boleto / Pix is issued and
  awaits payment (so the reminders before the due date can run). Its step runs
  are written at once, each with the moment it is due.
- The sweep (hourly beat per tenant, or a test clock's replay) takes a case
  under ``SELECT … FOR UPDATE SKIP LOCKED`` and runs its due steps in order,
  each one moving ``scheduled → executed | skipped`` by a conditional UPDATE:
  a step runs once however many sweeps or workers race.
- A retry is claimed (``running``) and committed, the gateway is called with no
  transaction open (the charge protocol of ``billing.payments``, whose attempt
  number — and so idempotency key — grows per retry), and the outcome is
  recorded after. A worker that dies mid-retry is recovered from the invoice's
  attempts, never by charging blindly again.
- What became moot is skipped, not run: see ``_moot``.
- The case closes when the invoice is paid, voided or written off (hooks in
  ``billing``), or when its last step has run. A payment reactivates a past-due
  subscription once none of its other invoices is in dunning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Min

from billing.locks import lock_invoice
from billing.models import Invoice, PaymentAttempt
from core.actors import SYSTEM, Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from dunning.domain import (
    DEFAULT_STEPS,
    HISTORY_DAYS,
    PIX_AUTOMATICO_RETRY_DAYS,
    Attempted,
    StepSpec,
    plan_schedule,
    validate_run_hour,
    validate_steps,
)
from dunning.models import DunningCase, DunningPolicy, DunningStep, DunningStepRun, MethodKind
from tenants.changes import record_change
from tenants.models import Tenant
from tenants.outbox import emit

logger = structlog.get_logger(__name__)

Run = DunningStepRun.Status
CaseStatus = DunningCase.Status
Reason = DunningCase.CloseReason
# A retry claimed longer ago than this by a worker that never reported back is
# recovered by the next sweep.
STALE_CLAIM = timedelta(minutes=15)
MAX_STEPS_PER_PASS = 200


# --- policies -------------------------------------------------------------------


def _write_steps(policy: DunningPolicy, specs: Sequence[StepSpec]) -> list[DunningStep]:
    return DunningStep.objects.bulk_create(
        [
            DunningStep(
                tenant_id=policy.tenant_id,
                policy=policy,
                offset_days=s.offset_days,
                action=s.action,
                channels=list(s.channels),
                template=s.template,
            )
            for s in specs
        ]
    )


@transaction.atomic
def dunning_policies_seed(*, tenant: Tenant, now: datetime) -> list[DunningPolicy]:
    """The default régua for each payment-method kind the tenant lacks one for
    (idempotent): card retries on D+1/3/5/7 then cancels on D+15; boleto and Pix
    remind on D-5/-1/0/+1/+3/+7, suspend on D+10, cancel on D+30.

    Registered in ``settings.TENANT_CREATED_LISTENERS``: runs in the transaction
    that creates the tenant, so a tenant never lacks its policies."""
    made = []
    for kind, specs in DEFAULT_STEPS.items():
        if DunningPolicy.objects.filter(tenant=tenant, payment_method_kind=kind).exists():
            continue
        policy = DunningPolicy.objects.create(tenant=tenant, payment_method_kind=kind)
        _write_steps(policy, specs)
        made.append(policy)
    return made


def _policy_data(policy: DunningPolicy) -> dict[str, Any]:
    return {
        "policy": policy.public_id,
        "payment_method_kind": policy.payment_method_kind,
        "run_hour": policy.run_hour,
        "smart_retry": policy.smart_retry,
        "active": policy.active,
        "steps": [
            {
                "offset_days": s.offset_days,
                "action": s.action,
                "channels": list(s.channels),
                "template": s.template,
            }
            for s in policy.live_steps()
        ],
    }


@transaction.atomic
def dunning_policy_update(
    *,
    tenant: Tenant,
    policy_id: int,
    actor: Actor,
    now: datetime,
    run_hour: Any = None,
    smart_retry: Any = None,
    active: Any = None,
    steps: Any = None,
) -> DunningPolicy:
    """Change a policy: everything is validated before anything is written.

    New steps replace the old ones for cases opened from now on; cases already
    open keep the schedule they were planned with.
    """
    policy = DunningPolicy.objects.select_for_update().filter(tenant=tenant, pk=policy_id).first()
    if policy is None:
        raise NotFound("No such dunning policy.", param="policy")
    hour = None if run_hour is None else validate_run_hour(run_hour)
    for param, value in (("smart_retry", smart_retry), ("active", active)):
        if value is not None and not isinstance(value, bool):
            raise ValidationFailed(f"{param} must be true or false.", param=param)
    specs = None if steps is None else validate_steps(steps)
    if smart_retry and policy.payment_method_kind != MethodKind.CARD:
        raise ValidationFailed("Smart retries are for card policies.", param="smart_retry")
    if (
        specs is not None
        and policy.payment_method_kind not in (MethodKind.CARD, MethodKind.PIX_AUTOMATICO)
        and any(s.action == "retry" for s in specs)
    ):
        raise ValidationFailed(
            "A boleto or Pix is paid by the payer; it cannot be retried.",
            param="steps",
            code="retry_not_supported",
        )
    if (
        specs is not None
        and policy.payment_method_kind == MethodKind.PIX_AUTOMATICO
        and (
            sum(1 for s in specs if s.action == "retry") > 3
            or any(
                s.action == "retry" and not 0 < s.offset_days <= PIX_AUTOMATICO_RETRY_DAYS
                for s in specs
            )
        )
    ):
        raise ValidationFailed(
            "Pix Automático allows at most three retries, within seven days after the due date.",
            param="steps",
            code="retry_outside_rail_rules",
        )
    before = _policy_data(policy)
    fields = []
    for name, value in (("run_hour", hour), ("smart_retry", smart_retry), ("active", active)):
        if value is not None and getattr(policy, name) != value:
            setattr(policy, name, value)
            fields.append(name)
    if specs is not None:
        current = [
            StepSpec(s.offset_days, s.action, tuple(s.channels), s.template)
            for s in policy.live_steps()
        ]
        if current != specs:
            DunningStep.objects.filter(policy=policy, retired_at__isnull=True).update(
                retired_at=now
            )
            _write_steps(policy, specs)
            fields.append("steps")
    if not fields:
        return policy
    policy.save()
    policy = DunningPolicy.objects.prefetch_related("steps").get(pk=policy.pk)
    after = _policy_data(policy)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="dunning.policy_updated",
        subject_type="dunning_policy",
        subject_id=policy.public_id,
        data=after,
        target=policy,
        action="dunning_policy.updated",
        changes=changes,
    )
    return policy


# --- opening and closing cases -------------------------------------------------------


def _history(tenant: Tenant, now: datetime) -> list[Attempted]:
    """The tenant's settled card charges of the last HISTORY_DAYS (smart retry)."""
    rows = PaymentAttempt.objects.filter(
        tenant=tenant,
        status__in=[PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.FAILED],
        payment_method__kind="card",
        created_at__gte=now - timedelta(days=HISTORY_DAYS),
        created_at__lte=now,
    ).values_list("created_at", "status")
    return [Attempted(at, status == PaymentAttempt.Status.SUCCEEDED) for at, status in rows]


def _case_refs(case: DunningCase) -> dict[str, Any]:
    return {
        "case": case.public_id,
        "invoice": case.invoice.public_id,
        "customer": case.customer.public_id,
        "subscription": case.subscription.public_id if case.subscription is not None else None,
    }


def dunning_case_open(
    *, tenant: Tenant, invoice_id: int, payment_method_kind: str, now: datetime
) -> DunningCase | None:
    """Open the case of an unpaid invoice, once (a unique constraint per invoice).

    Runs inside the caller's transaction (the charge that failed, the slip just
    issued). Nothing happens without an active policy for the kind, or for an
    invoice that is not open.
    """
    existing = DunningCase.objects.filter(tenant=tenant, invoice_id=invoice_id).first()
    if existing is not None:
        return existing
    invoice = (
        Invoice.objects.select_related("customer", "subscription")
        .filter(tenant=tenant, pk=invoice_id)
        .first()
    )
    if invoice is None or invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:
        return None
    policy = (
        DunningPolicy.objects.prefetch_related("steps")
        .filter(tenant=tenant, payment_method_kind=payment_method_kind, active=True)
        .first()
    )
    if policy is None:
        return None
    steps = policy.live_steps()
    # A case never opens before its invoice exists (a charge may report an
    # earlier moment than the invoice's, e.g. on a test clock).
    opened_at = max(now, invoice.issued_at or now)
    due_at = invoice.due_at or opened_at
    specs = [StepSpec(s.offset_days, s.action, tuple(s.channels), s.template) for s in steps]
    smart = policy.smart_retry and any(s.action == "retry" for s in specs)
    plan = plan_schedule(
        steps=specs,
        due_at=due_at,
        run_hour=policy.run_hour,
        tz=tenant.time_zone,
        opened_at=opened_at,
        smart_retry=smart,
        history=_history(tenant, opened_at) if smart else (),
    )
    try:
        with transaction.atomic():
            case = DunningCase.objects.create(
                tenant=tenant,
                invoice=invoice,
                policy=policy,
                customer=invoice.customer,
                subscription=invoice.subscription,
                payment_method_kind=payment_method_kind,
                due_at=due_at,
                opened_at=opened_at,
            )
    except IntegrityError:  # opened by a concurrent settlement a moment ago
        return DunningCase.objects.get(tenant=tenant, invoice_id=invoice_id)
    with transaction.atomic():
        DunningStepRun.objects.bulk_create(
            [
                DunningStepRun(
                    tenant=tenant,
                    case=case,
                    step=steps[p.index],
                    position=p.index,
                    offset_days=steps[p.index].offset_days,
                    action=steps[p.index].action,
                    channels=list(steps[p.index].channels),
                    template=steps[p.index].template,
                    scheduled_at=p.scheduled_at,
                    smart=p.smart,
                )
                for p in plan
            ]
        )
        emit(
            tenant_id=tenant.pk,
            type="dunning.case_opened",
            at=opened_at,
            subject_type="invoice",
            subject_id=invoice.public_id,
            data={
                **_case_refs(case),
                "payment_method_kind": payment_method_kind,
                "due_at": due_at.isoformat(),
                "schedule": [
                    {
                        "offset_days": steps[p.index].offset_days,
                        "action": steps[p.index].action,
                        "at": p.scheduled_at.isoformat(),
                    }
                    for p in plan
                ],
            },
        )
        if payment_method_kind == MethodKind.CARD and invoice.subscription_id:
            from subscriptions.services.access import subscription_mark_past_due

            subscription_mark_past_due(
                tenant=tenant,
                subscription_id=invoice.subscription_id,
                now=opened_at,
                invoice=invoice.public_id,
            )
        _close_if_done(case, opened_at)
        if case.status == CaseStatus.OPEN:
            _set_next_run(case)
    return case


def dunning_payment_unsettled(*, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
    """Hook of the charge protocol: a card charge failed, or a boleto / Pix was
    issued and awaits the payer. Installment parts are not dunned (their
    invoice stays open until the last part)."""
    if attempt.installment_id is not None:
        return
    kind = attempt.payment_method.kind
    if (
        kind in (MethodKind.CARD, MethodKind.PIX_AUTOMATICO)
        and attempt.status != PaymentAttempt.Status.FAILED
    ):
        return  # a card, or a Pix Automático debit still scheduled: nothing is late yet
    dunning_case_open(
        tenant=tenant, invoice_id=attempt.invoice_id, payment_method_kind=kind, now=now
    )


def dunning_invoice_settled(*, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
    """Hook of ``billing.services``: the invoice was paid, voided or written off.

    Closes its case (the steps left will not run) and, when paid, reactivates a
    past-due subscription none of whose other invoices is still in dunning.
    """
    reasons: dict[str, str] = {
        Invoice.Status.PAID: Reason.PAID,
        Invoice.Status.VOID: Reason.VOIDED,
        Invoice.Status.UNCOLLECTIBLE: Reason.UNCOLLECTIBLE,
    }
    reason = reasons.get(invoice.status)
    if reason is None:
        return
    case = (
        DunningCase.objects.select_for_update(of=("self",))
        .select_related("invoice", "customer", "subscription")
        .filter(tenant=tenant, invoice_id=invoice.pk)
        .first()
    )
    if case is None:
        return
    if case.status == CaseStatus.OPEN:
        _close(case, reason, now)
    if reason == Reason.PAID and case.subscription_id:
        still = DunningCase.objects.filter(
            tenant=tenant, subscription_id=case.subscription_id, status=CaseStatus.OPEN
        ).exists()
        if not still:
            from subscriptions.services.access import subscription_reactivate

            subscription_reactivate(
                tenant=tenant, subscription_id=case.subscription_id, actor=SYSTEM, now=now
            )


def _close(case: DunningCase, reason: str, now: datetime) -> None:
    """Close an open, locked case. A retry in flight that just paid the invoice
    is recorded as such; every step still planned is called off."""
    running = case.runs.filter(status=Run.RUNNING).first()
    if running is not None:
        outcome = "succeeded" if reason == Reason.PAID else "interrupted"
        _finish(case, running, Run.EXECUTED, outcome, now, attempt=_latest_attempt(case))
    case.runs.filter(status=Run.SCHEDULED).update(status=Run.CANCELED, finished_at=now)
    case.status, case.closed_at, case.close_reason, case.next_run_at = (
        CaseStatus.CLOSED,
        now,
        reason,
        None,
    )
    case.save(update_fields=["status", "closed_at", "close_reason", "next_run_at"])
    emit(
        tenant_id=case.tenant_id,
        type="dunning.case_closed",
        at=now,
        subject_type="invoice",
        subject_id=case.invoice.public_id,
        data={**_case_refs(case), "reason": reason},
    )


def _close_if_done(case: DunningCase, now: datetime) -> None:
    if case.status != CaseStatus.OPEN:
        return
    if case.runs.filter(status__in=[Run.SCHEDULED, Run.RUNNING]).exists():
        return
    canceled = case.runs.filter(action="cancel", outcome="canceled").exists()
    _close(case, Reason.CANCELED if canceled else Reason.EXHAUSTED, now)


def _set_next_run(case: DunningCase) -> None:
    """The sweep's watermark: the next planned step (never before the case
    opened), or a claimed retry's recovery time."""
    pending = case.runs.filter(status__in=[Run.SCHEDULED, Run.RUNNING]).order_by("position")
    first = pending.first()
    if first is None:
        at = None
    elif first.status == Run.RUNNING:
        at = (first.claimed_at or case.opened_at) + STALE_CLAIM
    else:
        at = max(first.scheduled_at, case.opened_at)
    if case.next_run_at != at:
        case.next_run_at = at
        DunningCase.objects.filter(pk=case.pk).update(next_run_at=at)


def _latest_attempt(case: DunningCase) -> PaymentAttempt | None:
    return PaymentAttempt.objects.filter(invoice_id=case.invoice_id).order_by("-number").first()


def _finish(
    case: DunningCase,
    run: DunningStepRun,
    status: str,
    outcome: str,
    now: datetime,
    *,
    attempt: PaymentAttempt | None = None,
    reason: str = "",
) -> bool:
    """Move a run to its end state once (a conditional UPDATE) and say so in an
    event. False when another worker got there first."""
    done = DunningStepRun.objects.filter(pk=run.pk, status__in=[Run.SCHEDULED, Run.RUNNING]).update(
        status=status, outcome=outcome[:40], finished_at=now, attempt=attempt
    )
    if not done:
        return False
    run.status, run.outcome, run.finished_at = status, outcome, now
    data = {
        **_case_refs(case),
        "offset_days": run.offset_days,
        "action": run.action,
        "status": status,
        "outcome": outcome,
        "scheduled_at": run.scheduled_at.isoformat(),
    }
    if reason:
        data["reason"] = reason
    if attempt is not None:
        data["payment"] = attempt.public_id
    emit(
        tenant_id=case.tenant_id,
        type="dunning.step_executed",
        at=now,
        subject_type="invoice",
        subject_id=case.invoice.public_id,
        data=data,
    )
    return True


def _remind(case: DunningCase, run: DunningStepRun, now: datetime) -> None:
    """A reminder is an event; the notifications app turns it into email/SMS."""
    emit(
        tenant_id=case.tenant_id,
        type="dunning.reminder",
        at=now,
        subject_type="invoice",
        subject_id=case.invoice.public_id,
        data={
            **_case_refs(case),
            "offset_days": run.offset_days,
            "channels": list(run.channels),
            "template": run.template,
        },
    )


# --- running steps ---------------------------------------------------------------------


def _moot(case: DunningCase, run: DunningStepRun, now: datetime) -> str:
    """Why a due step should not run now ('' = it should).

    - A reminder or retry is superseded by a later one of its kind that is also
      already due (a case opened late, or a sweep that was down): only the
      latest goes out, so the subscriber never gets a burst of stale messages.
    - A reminder from before the due date is not sent once the invoice is past
      due ("due in 5 days" would be false).
    - A retry waits for nothing while a charge is in flight (a 3-D Secure
      challenge, a slip the payer has not paid yet).
    - Suspending or cancelling needs a subscription in a state it applies to.
    Final actions (suspend, cancel, uncollectible) are never skipped for being
    late: they run, in order, as soon as the sweep reaches them.
    """
    if run.action in ("remind", "retry"):
        later_due = case.runs.filter(
            action=run.action, position__gt=run.position, scheduled_at__lte=now
        ).exists()
        if later_due:
            return "superseded"
    if run.action == "remind" and run.offset_days < 0 and now >= case.due_at:
        return "past_due_date"
    if (
        run.action == "retry"
        and PaymentAttempt.objects.filter(
            invoice_id=case.invoice_id, status__in=["pending", "requires_action"]
        ).exists()
    ):
        return "payment_in_flight"
    if run.action in ("suspend", "cancel"):
        sub = case.subscription
        if sub is None:
            return "no_subscription"
        sub.refresh_from_db(fields=["status", "access_suspended_at"])
        if run.action == "suspend" and (
            sub.status not in ("active", "past_due") or sub.access_suspended_at is not None
        ):
            return "not_applicable"
        if run.action == "cancel" and sub.status in ("canceled", "ended"):
            return "already_ended"
    return ""


def _execute_in_transaction(case: DunningCase, run: DunningStepRun, now: datetime) -> None:
    """Run a step that needs no gateway, inside the transaction holding the
    invoice and case locks (so the run cannot be taken by anyone else)."""
    if run.action == "remind":
        _remind(case, run, now)
        _finish(case, run, Run.EXECUTED, "sent", now)
    elif run.action == "suspend":
        from subscriptions.services.access import subscription_suspend

        subscription_suspend(
            tenant=case.tenant,
            subscription_id=cast(int, case.subscription_id),  # _skip_reason: it has one
            actor=SYSTEM,
            now=now,
            invoice=case.invoice.public_id,
        )
        _finish(case, run, Run.EXECUTED, "suspended", now)
    elif run.action == "cancel":
        from billing.subscriptions import subscription_cancel

        subscription_cancel(
            tenant=case.tenant,
            subscription_id=cast(int, case.subscription_id),  # _skip_reason: it has one
            actor=SYSTEM,
            now=now,
        )
        _finish(case, run, Run.EXECUTED, "canceled", now)
    elif run.action == "uncollectible":
        from billing.services import invoice_mark_uncollectible

        # Recorded first: the invoice's hook then closes this case (uncollectible).
        _finish(case, run, Run.EXECUTED, "marked_uncollectible", now)
        invoice_mark_uncollectible(
            tenant=case.tenant, invoice_id=case.invoice_id, actor=SYSTEM, now=now
        )
    else:  # pragma: no cover
        raise AssertionError(run.action)


def _lock_case(tenant: Tenant, case_id: int, *, skip_locked: bool) -> DunningCase | None:
    """Lock the invoice's subscription, the invoice, then its case: the order
    every writer takes (billing/locks.py: a payment locks the invoice, then its
    hook the case; a step may suspend or cancel the subscription), so they never
    deadlock."""
    invoice_id = (
        DunningCase.objects.filter(tenant=tenant, pk=case_id)
        .values_list("invoice_id", flat=True)
        .first()
    )
    if invoice_id is None:
        return None
    lock_invoice(tenant=tenant, invoice_id=invoice_id)  # its subscription, then it
    return (
        DunningCase.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("tenant", "invoice", "customer", "subscription")
        .filter(tenant=tenant, pk=case_id)
        .first()
    )


@dataclass(frozen=True, slots=True)
class _Claim:
    run_id: int
    charge: bool  # False: the attempt was made already (recovery); settle only


def _step(tenant: Tenant, case_id: int, now: datetime) -> tuple[bool, _Claim | None]:
    """One step of a case in one transaction. Returns (did something, retry to
    make outside the transaction)."""
    with transaction.atomic():
        case = _lock_case(tenant, case_id, skip_locked=True)
        if case is None or case.status != CaseStatus.OPEN:
            return False, None  # closed, or another worker holds it
        invoice = case.invoice
        if invoice.status != Invoice.Status.OPEN:
            # Settled without the hook seeing it (e.g. paid before the hook existed).
            reasons: dict[str, str] = {
                Invoice.Status.PAID: Reason.PAID,
                Invoice.Status.VOID: Reason.VOIDED,
            }
            reason = reasons.get(invoice.status, Reason.UNCOLLECTIBLE)
            _close(case, reason, now)
            return True, None
        run = (
            case.runs.select_for_update()
            .filter(status__in=[Run.SCHEDULED, Run.RUNNING])
            .order_by("position")
            .first()
        )
        if run is None:
            _close_if_done(case, now)
            return case.status == CaseStatus.CLOSED, None
        if run.status == Run.RUNNING:
            if run.claimed_at is not None and now < run.claimed_at + STALE_CLAIM:
                _set_next_run(case)
                return False, None  # a worker is retrying right now
            # That worker died: did its charge get recorded?
            made = PaymentAttempt.objects.filter(
                invoice_id=case.invoice_id, number__gt=run.attempts_before or 0
            ).exists()
            DunningStepRun.objects.filter(pk=run.pk).update(claimed_at=now)
            return True, _Claim(run.pk, charge=not made)
        if run.scheduled_at > now:
            _set_next_run(case)
            return False, None
        why = _moot(case, run, now)
        if why:
            _finish(case, run, Run.SKIPPED, "skipped", now, reason=why)
        elif run.action == "retry":
            claimed = DunningStepRun.objects.filter(pk=run.pk, status=Run.SCHEDULED).update(
                status=Run.RUNNING,
                claimed_at=now,
                attempts_before=PaymentAttempt.objects.filter(invoice_id=case.invoice_id).count(),
            )
            if claimed:
                _set_next_run(case)
                return True, _Claim(run.pk, charge=True)
        else:
            _execute_in_transaction(case, run, now)
        case.refresh_from_db(fields=["status"])
        _close_if_done(case, now)
        if case.status == CaseStatus.OPEN:
            _set_next_run(case)
        return True, None


def _retry(tenant: Tenant, claim: _Claim, now: datetime) -> None:
    """Charge again (no transaction open), then record the outcome."""
    from billing.payments import invoice_charge

    run = DunningStepRun.objects.select_related("case").get(tenant=tenant, pk=claim.run_id)
    attempt: PaymentAttempt | None = None
    outcome = ""
    if claim.charge:
        try:
            # A retry step with a message says "payment failed" itself (_remind below).
            attempt = invoice_charge(
                tenant=tenant,
                invoice_id=run.case.invoice_id,
                now=now,
                failure_announced=bool(run.template),
            )
        except (StateConflict, NotFound) as exc:
            # Paid meanwhile (the hook closed the case), or nothing to charge with.
            outcome = exc.code if exc.code != "state_conflict" else "not_chargeable"
    else:
        attempt = (
            PaymentAttempt.objects.filter(
                invoice_id=run.case.invoice_id, number__gt=run.attempts_before or 0
            )
            .order_by("number")
            .first()
        )
    with transaction.atomic():
        case = _lock_case(tenant, run.case_id, skip_locked=False)
        run.refresh_from_db()
        if case is None or run.status != Run.RUNNING:
            return  # the invoice got paid and the case closed with this run in it
        if attempt is not None:
            attempt.refresh_from_db()
            outcome = attempt.status
        if outcome != PaymentAttempt.Status.SUCCEEDED and run.channels and run.template:
            # "Payment failed, update your card": each failed retry says so.
            _remind(case, run, now)
        _finish(case, run, Run.EXECUTED, outcome, now, attempt=attempt)
        case.refresh_from_db(fields=["status"])
        _close_if_done(case, now)
        if case.status == CaseStatus.OPEN:
            _set_next_run(case)


def dunning_case_run(*, tenant: Tenant, case_id: int, now: datetime) -> int:
    """Run every step of a case due at ``now``, in order. Returns how many moved.

    Must be called with no transaction open (retries call the gateway).
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("dunning_case_run must not run inside a transaction.")
    moved = 0
    for _ in range(MAX_STEPS_PER_PASS):
        did, claim = _step(tenant, case_id, now)
        if claim is not None:
            _retry(tenant, claim, now)
        if not did:
            break
        moved += 1
    return moved


def due_cases(*, tenant: Tenant, now: datetime, clock: Any = None) -> list[int]:
    qs = DunningCase.objects.filter(tenant=tenant, status=CaseStatus.OPEN, next_run_at__lte=now)
    qs = (
        qs.filter(customer__test_clock=clock)
        if clock is not None
        else qs.filter(customer__test_clock__isnull=True)
    )
    return list(qs.order_by("next_run_at", "pk").values_list("pk", flat=True))


def dunning_run_due(*, tenant: Tenant, now: datetime, clock: Any = None) -> int:
    """Every case of the tenant with a step due by ``now`` (live customers, or
    the customers of one test clock). Safe to run twice or concurrently."""
    moved = 0
    for case_id in due_cases(tenant=tenant, now=now, clock=clock):
        moved += dunning_case_run(tenant=tenant, case_id=case_id, now=now)
    logger.info("dunning.sweep", tenant_id=tenant.pk, moved=moved)
    return moved


def next_due_at(*, tenant: Tenant, clock: Any, until: datetime) -> datetime | None:
    return DunningCase.objects.filter(
        tenant=tenant,
        status=CaseStatus.OPEN,
        customer__test_clock=clock,
        next_run_at__lte=until,
    ).aggregate(at=Min("next_run_at"))["at"]


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: Any) -> None:
    """Dunning's part in deleting a test clock (``settings.TEST_CLOCK_DELETERS``):
    the cases (and their step runs) of the clock's customers."""
    DunningCase.objects.filter(tenant=tenant, customer__test_clock=clock).delete()
