"""Test clocks: rehearse months of billing in a second.

Advancing a clock runs the very same engine as the billing run, for the
customers attached to the clock, one moment at a time in time order, with the
moment itself as ``now``: invoices carry the dates they would have in real life.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from django.db import transaction
from django.db.models import Min, QuerySet

from billing.models import (
    BalanceTransaction,
    CouponRedemption,
    CreditNote,
    GatewayCustomer,
    Installment,
    Invoice,
    PendingLine,
)
from billing.run import run_batch
from core.actors import Actor
from core.errors import DomainError, NotFound, StateConflict, ValidationFailed
from core.registry import registered
from customers.models import TestClock
from customers.services import clock_move_to, clock_row_create
from subscriptions.models import Subscription
from tenants import audit
from tenants.changes import record_change
from tenants.models import Tenant

MAX_STEPS = 100_000
# The longest jump one advance may take (the API and the dashboard alike).
MAX_ADVANCE = timedelta(days=366 * 10)


class ClockSweep(Protocol):
    """One kind of scheduled work a test clock must replay (renewals, dunning
    steps, notices…), the same code the live scheduler runs."""

    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        """The earliest moment ≤ ``until`` when this sweep has work for the clock's customers."""

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        """Do everything due at ``now`` for the clock's customers; afterwards
        ``next_due`` must not return ``now`` again (or the clock never settles)."""


class RenewalSweep:
    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        return Subscription.objects.filter(
            tenant=tenant, customer__test_clock=clock, next_event_at__lte=until
        ).aggregate(at=Min("next_event_at"))["at"]

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        while run_batch(tenant=tenant, now=now, clock=clock)[0]:
            pass


class InstallmentSweep:
    """Charge each installment of a clock's customer on its due date, once: the
    live hourly task skips test-clock customers, so the clock replays it here.
    A part already attempted is left to dunning (no retry loop at one moment)."""

    def _due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> QuerySet[Installment]:
        return Installment.objects.filter(
            tenant=tenant,
            invoice__customer__test_clock=clock,
            invoice__status=Invoice.Status.OPEN,
            status=Installment.Status.SCHEDULED,
            due_at__lte=until,
            attempts__isnull=True,
        )

    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        return self._due(tenant=tenant, clock=clock, until=until).aggregate(at=Min("due_at"))["at"]

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        from billing.payments import invoice_charge

        for part in list(self._due(tenant=tenant, clock=clock, until=now).order_by("due_at")):
            try:
                invoice_charge(
                    tenant=tenant, invoice_id=part.invoice_id, now=now, installment_id=part.pk
                )
            except (StateConflict, NotFound):
                continue


def _sweeps() -> list[ClockSweep]:
    """The sweeps apps register in ``settings.TEST_CLOCK_SWEEPS``, in order."""
    return [sweep() for sweep in registered("TEST_CLOCK_SWEEPS")]


@transaction.atomic
def clock_create(
    *, tenant: Tenant, frozen_time: datetime, actor: Actor, now: datetime, name: str = ""
) -> TestClock:
    clock = clock_row_create(tenant=tenant, frozen_time=frozen_time, name=name)
    audit.record(tenant=tenant, actor=actor, action="test_clock.created", target=clock, at=now)
    return clock


def clock_advance(
    *,
    tenant: Tenant,
    clock_id: int,
    to: datetime,
    actor: Actor,
    now: datetime,
    progress: Callable[[datetime], None] | None = None,
    background: bool = False,
) -> TestClock:
    """Move the clock to ``to``, processing everything due on the way, in order.

    Each moment is its own transaction, like the live scheduler's runs, so a
    long advance never holds one huge transaction. ``progress`` (if given) is
    told each moment once everything due at it has run (the dashboard's bar).
    ``background``: this is the advance ``clock_advance_start`` queued; any
    other advance is refused while that one runs.
    """
    clock = TestClock.objects.filter(tenant=tenant, pk=clock_id).first()
    if clock is None:
        raise NotFound("No such test clock.", param="test_clock")
    if clock.advancing_to is not None and not background:
        raise StateConflict(
            "This test clock is already advancing; wait until it is done.",
            param="test_clock",
            code="test_clock_advancing",
        )
    if to < clock.frozen_time:
        raise ValidationFailed("A test clock only moves forward.", param="frozen_time")
    sweeps = _sweeps()
    for _ in range(MAX_STEPS):
        due = [s.next_due(tenant=tenant, clock=clock, until=to) for s in sweeps]
        moment = min((at for at in due if at is not None), default=None)
        if moment is None:
            break
        for sweep, at in zip(sweeps, due, strict=True):
            if at is not None and at <= moment:
                sweep.run(tenant=tenant, clock=clock, now=moment)
        if progress is not None:
            progress(moment)
    else:  # pragma: no cover - a bug, not a business case
        raise RuntimeError("The test clock did not settle.")
    with transaction.atomic():
        clock_move_to(tenant=tenant, clock=clock, to=to)
        if background:
            TestClock.objects.filter(tenant=tenant, pk=clock.pk).update(
                advancing_to=None, advanced_through=None, advance_error=""
            )
            clock.advancing_to = clock.advanced_through = None
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="test_clock.advanced",
            subject_type="test_clock",
            subject_id=clock.public_id,
            data={"frozen_time": to.isoformat()},
            target=clock,
            changes={"frozen_time": to.isoformat()},
        )
    return clock


@transaction.atomic
def clock_advance_start(
    *, tenant: Tenant, clock_id: int, to: datetime, actor: Actor, now: datetime
) -> TestClock:
    """Queue an advance of the clock to ``to`` on the worker (``clock_advance_run``);
    the clock says how far it has got (``advanced_through``) until it is done."""
    clock = TestClock.objects.select_for_update().filter(tenant=tenant, pk=clock_id).first()
    if clock is None:
        raise NotFound("No such test clock.", param="test_clock")
    if clock.advancing_to is not None:
        raise StateConflict(
            "This test clock is already advancing; wait until it is done.",
            param="test_clock",
            code="test_clock_advancing",
        )
    if to <= clock.frozen_time:
        raise ValidationFailed(
            "A test clock only moves forward: pick a later time.", param="frozen_time"
        )
    if to - clock.frozen_time > MAX_ADVANCE:
        raise ValidationFailed(
            "A test clock advances at most 10 years at a time.", param="frozen_time"
        )
    clock.advancing_to, clock.advanced_through, clock.advance_error = to, None, ""
    clock.save(update_fields=["advancing_to", "advanced_through", "advance_error"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="test_clock.advance_started",
        target=clock,
        at=now,
        changes={"frozen_time": clock.frozen_time.isoformat(), "advancing_to": to.isoformat()},
    )
    from billing.tasks import clock_advance_task

    actor_data = {"type": actor.type, "id": actor.id, "label": actor.label}
    transaction.on_commit(
        lambda: clock_advance_task.delay(tenant_id=tenant.pk, clock_id=clock.pk, actor=actor_data)
    )
    return clock


def clock_advance_run(*, tenant: Tenant, clock_id: int, actor: Actor, now: datetime) -> None:
    """The worker's part of ``clock_advance_start``: run the advance, noting each
    moment done on the clock. Run again (a redelivered task) it resumes where it
    stopped; on a clock already done (or deleted) it does nothing."""
    clock = TestClock.objects.filter(tenant=tenant, pk=clock_id).first()
    if clock is None or clock.advancing_to is None:
        return
    of_clock = TestClock.objects.filter(tenant=tenant, pk=clock_id)

    def noted(moment: datetime) -> None:
        of_clock.update(advanced_through=moment)

    try:
        clock_advance(
            tenant=tenant,
            clock_id=clock_id,
            to=clock.advancing_to,
            actor=actor,
            now=now,
            progress=noted,
            background=True,
        )
    except DomainError as exc:
        of_clock.update(advancing_to=None, advanced_through=None, advance_error=exc.message[:300])
    except Exception:
        of_clock.update(
            advancing_to=None,
            advanced_through=None,
            advance_error="The advance stopped on an unexpected error; see the worker's log.",
        )
        raise


@transaction.atomic
def clock_delete(*, tenant: Tenant, clock_id: int, actor: Actor, now: datetime) -> None:
    """Deleting a clock deletes what is attached to it: its customers and their
    subscriptions, invoices, credit notes and balances. Each app deletes its own
    rows (``settings.TEST_CLOCK_DELETERS``, billing's below)."""
    clock = TestClock.objects.select_for_update().filter(tenant=tenant, pk=clock_id).first()
    if clock is None:
        raise NotFound("No such test clock.", param="test_clock")
    if clock.advancing_to is not None:
        raise StateConflict(
            "This test clock is advancing; delete it once it is done.",
            param="test_clock",
            code="test_clock_advancing",
        )
    audit.record(tenant=tenant, actor=actor, action="test_clock.deleted", target=clock, at=now)
    for delete_rows in registered("TEST_CLOCK_DELETERS"):
        delete_rows(tenant=tenant, clock=clock)


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: TestClock) -> None:
    """Billing's part in deleting a test clock: the balances, credit notes, pending
    lines, invoices, redemptions and gateway mirrors of the clock's customers."""
    of_clock = {"tenant": tenant, "customer__test_clock": clock}
    BalanceTransaction.objects.filter(**of_clock).delete()
    CreditNote.objects.filter(**of_clock).delete()
    PendingLine.objects.filter(tenant=tenant, subscription__customer__test_clock=clock).delete()
    Invoice.objects.filter(**of_clock).delete()
    CouponRedemption.objects.filter(**of_clock).delete()
    GatewayCustomer.objects.filter(**of_clock).delete()
