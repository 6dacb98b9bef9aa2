"""Dunning on test clocks: the same steps the hourly beat runs, replayed at
their exact moments while a clock advances (``settings.TEST_CLOCK_SWEEPS``)."""

from __future__ import annotations

from datetime import datetime

from customers.models import TestClock
from dunning.services import dunning_run_due, next_due_at
from tenants.models import Tenant


class DunningSweep:
    def next_due(self, *, tenant: Tenant, clock: TestClock, until: datetime) -> datetime | None:
        return next_due_at(tenant=tenant, clock=clock, until=until)

    def run(self, *, tenant: Tenant, clock: TestClock, now: datetime) -> None:
        # Every due step moves its case's watermark past ``now`` (or closes it),
        # so ``next_due`` never returns ``now`` again.
        dunning_run_due(tenant=tenant, now=now, clock=clock)
