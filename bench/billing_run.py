"""Benchmark: the billing run over N due subscriptions against a COPY floor.

    DATABASE_URL=postgres://…/ciclo .venv/bin/python -m bench.billing_run --n 100000

Seeds N live monthly subscriptions whose period has just ended (written with
COPY as the tables' owner), then times ``billing_run`` — as the application
role, under row-level security, exactly as production runs it. In the same
process it times the floor: the very rows the run wrote (invoices, invoice
lines, outbox events) written again by a plain ``COPY`` into tables of the
same shape and indexes, three times (``--floor-repeats``), the fastest
counting. It prints renewals per second and the ratio of the run's time to
the floor's. ``--items-every`` (default 10) gives every k-th
subscription an add-on item (``SubscriptionItem``), so about 10 % of the
invoices carry two lines and the ratio covers items; ``--intro-every``
(default 10) puts every k-th subscription on a plan in its introductory phase.
Never part of the test run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _cpu_seconds(backend_pid: int) -> float | None:
    """CPU time of this process plus its PostgreSQL backend's, when the server
    runs on this machine: steadier than the wall clock on a shared machine."""
    try:
        with open(f"/proc/{backend_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return time.process_time() + server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="subscriptions (default 100000)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench tenant's rows")
    parser.add_argument(
        "--items-every",
        type=int,
        default=10,
        help="every k-th subscription has an add-on item (default 10: 10 %%; 0: none)",
    )
    parser.add_argument(
        "--floor-repeats",
        type=int,
        default=3,
        help="times the COPY floor is written; the fastest counts (default 3)",
    )
    parser.add_argument(
        "--intro-every",
        type=int,
        default=10,
        help="every k-th subscription is in an introductory phase (default 10: 10 %%; 0: none)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from tqdm import tqdm

    if connection.vendor != "postgresql":
        print("The benchmark needs PostgreSQL: set DATABASE_URL.", file=sys.stderr)
        return 2

    from billing.run import billing_run
    from core.actors import Actor
    from subscriptions.services import plan_create, product_create
    from tenants.accounts import staff_user_ensure
    from tenants.context import tenant_context
    from tenants.db.postgresql.base import owner_mode
    from tenants.services import tenant_create

    n = args.n
    intro_every = args.intro_every
    t0 = datetime(2026, 1, 1, 3, tzinfo=UTC)  # midnight in São Paulo
    period_end = datetime(2026, 2, 1, 3, tzinfo=UTC)
    run_at = period_end + timedelta(hours=1)
    actor = Actor.system("bench")
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    owner = staff_user_ensure(email=f"{slug}@bench.example")
    tenant = tenant_create(name=slug, slug=slug, owner=owner, now=t0)
    with tenant_context(tenant):
        product = product_create(tenant=tenant, name="Bench", actor=actor, now=t0)
        plan = plan_create(
            tenant=tenant,
            product=product,
            code="monthly",
            name="Monthly",
            currency="BRL",
            amount_minor=4_990,
            actor=actor,
            now=t0,
        )
        # An introductory phase (R$ 9,90 for the first 6 paid cycles): the
        # subscriptions on it renew inside the phase, priced by intro_phase().
        intro_plan = plan_create(
            tenant=tenant,
            product=product,
            code="intro",
            name="Intro",
            currency="BRL",
            amount_minor=4_990,
            intro_amount_minor=990,
            intro_cycles=6,
            actor=actor,
            now=t0,
        )
        addon = plan_create(
            tenant=tenant,
            product=product,
            code="addon",
            name="Add-on",
            currency="BRL",
            amount_minor=1_490,
            actor=actor,
            now=t0,
        )

    print(f"Seeding {n:,} customers and subscriptions (COPY, as the owner)…")
    with owner_mode(), connection.cursor() as cursor:
        with cursor.copy(
            "COPY customers_customer (tenant_id, public_id, name, email, phone, tax_id, locale,"
            " metadata, created_at, address, marketing_channels_off, portal_password) FROM STDIN"
        ) as copy:
            for i in tqdm(range(n), unit="row", desc="customers"):
                copy.write_row(
                    (
                        tenant.pk,
                        f"cus_bench{slug[6:]}{i}",
                        f"Customer {i}",
                        f"c{i}@bench.example",
                        "",
                        "",
                        "",
                        "{}",
                        t0,
                        "{}",
                        "[]",
                        "",
                    )
                )
        cursor.execute(
            "SELECT id FROM customers_customer WHERE tenant_id = %s ORDER BY id", [tenant.pk]
        )
        customer_ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy(
            "COPY subscriptions_subscription (tenant_id, public_id, customer_id, plan_id,"
            " quantity, status, collection_method, billing_anchor, period_index,"
            " current_period_start, current_period_end, next_event_at, start_at, started,"
            " paid_cycles, pauses_used, pause_cycles_left, term_notice_sent, created_at,"
            " cancel_reason_code, cancel_reason_label, cancel_comment, installments)"
            " FROM STDIN"
        ) as copy:
            for i, customer_id in enumerate(tqdm(customer_ids, unit="row", desc="subscriptions")):
                copy.write_row(
                    (
                        tenant.pk,
                        f"sub_bench{slug[6:]}{i}",
                        customer_id,
                        intro_plan.pk if intro_every and i % intro_every == 1 else plan.pk,
                        1,
                        "active",
                        "charge_automatically",
                        t0,
                        0,
                        t0,
                        period_end,
                        period_end,
                        t0,
                        True,
                        1,
                        0,
                        0,
                        False,
                        t0,
                        "",
                        "",
                        "",
                        0,
                    )
                )
        every = args.items_every
        if every > 0:
            cursor.execute(
                "SELECT id FROM subscriptions_subscription WHERE tenant_id = %s ORDER BY id",
                [tenant.pk],
            )
            with_items = [row[0] for row in cursor.fetchall()][::every]
            with cursor.copy(
                "COPY subscriptions_subscriptionitem (tenant_id, public_id, subscription_id,"
                " plan_id, quantity, cycles_billed, added_at) FROM STDIN"
            ) as copy:
                for i, sub_id in enumerate(tqdm(with_items, unit="row", desc="items")):
                    copy.write_row(
                        (tenant.pk, f"si_bench{slug[6:]}{i}", sub_id, addon.pk, 1, 1, t0)
                    )
        cursor.execute("VACUUM ANALYZE")  # the same start however many runs came before
    connection.close()

    print(f"Billing run over {n:,} due subscriptions (application role, RLS on)…")
    connection.ensure_connection()
    run_pid = connection.connection.info.backend_pid
    with tqdm(total=n, unit="sub", desc="billing run") as bar:
        cpu_started = _cpu_seconds(run_pid)
        started = time.perf_counter()
        stats = billing_run(
            now=run_at, tenant=tenant, batch_size=args.batch_size, on_batch=bar.update
        )
        run_seconds = time.perf_counter() - started
        cpu_ended = _cpu_seconds(run_pid)
    run_cpu = cpu_ended - cpu_started if cpu_started is not None and cpu_ended is not None else None
    if (stats.subscriptions, stats.invoices) != (n, n):
        raise SystemExit(f"The run did not renew every subscription once: {stats}")

    print("Floor: every row the run wrote, deleted and written back by plain COPY…")
    # The run's output is the renewed subscriptions' rows and the new invoices,
    # lines and outbox events. The floor writes exactly those rows into the same
    # tables (same indexes, foreign keys and ids); only the way of writing
    # differs. As the owner: PostgreSQL refuses COPY FROM under RLS.
    tables = [
        "subscriptions_subscription",
        "subscriptions_subscriptionitem",  # the run counts the items' billed cycles
        "billing_invoice",
        "billing_invoiceline",
        "notifications_event",
    ]
    per_table: dict[str, float] = {}
    with owner_mode(), connection.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {table} WHERE tenant_id = %s", [tenant.pk])
            rows[table] = ([c.name for c in cursor.description], cursor.fetchall())
        # A single COPY swings by a third from one run to the next on a small
        # machine; the fastest of a few is the floor.
        floor_seconds = floor_cpu = float("inf")
        floor_pid = connection.connection.info.backend_pid
        for _ in range(args.floor_repeats):
            for table in reversed(tables):
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")
            cpu_started = _cpu_seconds(floor_pid)
            started = time.perf_counter()
            took: dict[str, float] = {}
            with transaction.atomic():
                for table in tables:
                    table_started = time.perf_counter()
                    columns, data = rows[table]
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in data:
                            copy.write_row(row)
                    took[table] = time.perf_counter() - table_started
            elapsed = time.perf_counter() - started
            cpu_ended = _cpu_seconds(floor_pid)
            if cpu_started is not None and cpu_ended is not None:
                floor_cpu = min(floor_cpu, cpu_ended - cpu_started)
            if elapsed < floor_seconds:
                floor_seconds, per_table = elapsed, took
        if not args.keep:
            for table in [
                "notifications_event",
                "billing_invoiceline",
                "billing_invoice",
                "billing_documentsequence",
                "subscriptions_subscriptionitem",
                "subscriptions_subscription",
                "customers_customer",
            ]:
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])

    written = sum(len(rows[t][1]) for t in tables)
    print()
    items = len(range(0, n, args.items_every)) if args.items_every > 0 else 0
    print(f"subscriptions renewed : {n:,}  (with an add-on: {items:,}; rows written: {written:,})")
    print(f"billing run           : {run_seconds:8.2f} s   {n / run_seconds:10,.0f} renewals/s")
    print(f"COPY floor            : {floor_seconds:8.2f} s   {n / floor_seconds:10,.0f} renewals/s")
    print(f"ratio run / floor     : {run_seconds / floor_seconds:8.2f} ×   (target ≤ 3×)")
    if run_cpu is not None and floor_cpu != float("inf"):
        print(
            f"CPU, client + server  : run {run_cpu:.2f} s, floor {floor_cpu:.2f} s, "
            f"ratio {run_cpu / floor_cpu:.2f} ×"
        )
    new_rows = floor_seconds - per_table["subscriptions_subscription"]
    print(
        f"  of which subscriptions' rows {per_table['subscriptions_subscription']:.2f} s; "
        f"against the new rows alone the ratio is {run_seconds / new_rows:.2f} ×"
    )
    print(f"database              : {settings.DATABASES['default']['NAME']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
