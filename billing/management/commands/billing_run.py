from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from billing.run import DEFAULT_BATCH, billing_run, due_count
from core import clock
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Run billing now (or as of --at): renewals, trial ends, scheduled changes, notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help="ISO 8601 date-time with offset (default: now).")
        parser.add_argument("--tenant", help="Only this tenant's slug.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        now = self._at(opts["at"])
        tenant = None
        if opts["tenant"]:
            tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant with slug {opts['tenant']!r}.")
        if not 1 <= opts["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be from 1 to 10000.")
        total = due_count(now=now, tenant=tenant)
        with tqdm(
            total=total,
            unit="sub",
            desc="Billing run",
            disable=opts["no_progress"],
            file=self.stderr._out,
        ) as bar:
            stats = billing_run(
                now=now, tenant=tenant, batch_size=opts["batch_size"], on_batch=bar.update
            )
        self.stdout.write(
            f"Processed {stats.subscriptions} subscriptions, wrote {stats.invoices} invoices "
            f"in {stats.batches} batches as of {now.isoformat()}."
        )

    @staticmethod
    def _at(value: str | None) -> datetime:
        if not value:
            return clock.now()
        parsed = parse_datetime(value)
        if parsed is None or parsed.tzinfo is None:
            raise CommandError(
                "--at must be an ISO 8601 date-time with an offset, e.g. 2026-03-01T00:00:00+00:00."
            )
        return parsed
