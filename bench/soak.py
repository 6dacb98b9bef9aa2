"""Soak: the API and the dashboard under steady load, with a billing run and a
worker restart in the middle.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ciclo_soak \\
    REDIS_URL=redis://127.0.0.1:6379/10 \\
        .venv/bin/python -m bench.soak --minutes 10

Seeds and serves the project exactly as ``bench/api.py`` does (its helpers:
the bench tenant, gunicorn with ``DEBUG=0`` behind the proxy header, ``wrk``),
adds a Celery worker, a signed-in staff session and subscriptions due for
renewal, then:

1. calibrates: drives a mix of requests flat out for ``--calibrate`` seconds —
   customer reads, invoice lists and subscription creates on the API (as
   ``bench/api.py`` measures them), dashboard pages — and takes ``--load``
   (80 %) of that throughput as the target (``--rate`` sets it instead);
2. soaks: the same mix at the target rate for ``--minutes``, one ``wrk`` run per
   minute, each minute's pace corrected from the last one's;
3. in the middle minute, sends the billing run (as beat would), restarts the
   worker while it may still be running (SIGTERM, SIGKILL after 10 s, a new
   worker; beat's next tick then sends the run again) — the run must still
   renew each due subscription exactly once.

It prints, per minute, requests per second, errors (any non-2xx answer or
socket error), p50 and p99, and the RSS of the server (gunicorn's master and
workers) and of the worker; then the server's RSS at the start (after the
calibration warmed it) and the end. Aims: 0 errors, RSS flat within 10 %.
``wrk`` is closed-loop (each connection waits for its answer, then paces), so
p99 understates what an open-loop client would see under a stall.

Never part of the test run. Needs PostgreSQL, Redis and ``wrk``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from bench.api import (
    BENCH_SLUG,
    LUA_COMMON,
    ROOT,
    Result,
    Seeded,
    _environment,
    _lua_list,
    _wait_until_up,
    check_once,
    run_wrk,
    seed,
)

DASHBOARD_PAGES = [
    "/",
    "/dashboard/audit/",
    "/dashboard/api-keys/",
    "/dashboard/settings/",
    "/dashboard/billing/payments/",
]

# One request in 20: 8 customer reads, 5 invoice lists, 2 subscription creates,
# 5 dashboard pages (a staff session; no API key).
LUA_MIX = """
local customers = {{{customers}}}
local hot = {{{hot}}}
local pages = {{{pages}}}
local n = 0
local function copy(extra)
  local headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  for k, v in pairs(extra) do headers[k] = v end
  return headers
end
request = function()
  n = n + 1
  local k = n % 20
  if k < 8 then
    return wrk.format("GET", "/api/v1/customers/" .. customers[((n * 7 + tid) % #customers) + 1])
  elseif k < 13 then
    return wrk.format("GET", "/api/v1/invoices?customer=" .. hot[((n + tid) % #hot) + 1])
  elseif k < 15 then
    local customer = customers[((n * 13 + tid) % #customers) + 1]
    local headers = copy({{["Content-Type"] = "application/json",
                          ["Idempotency-Key"] = "soak-{run}-" .. tid .. "-" .. n}})
    local body = '{{"customer":"' .. customer .. '","plan":"{plan}"}}'
    return wrk.format("POST", "/api/v1/subscriptions", headers, body)
  else
    local headers = copy({{["Cookie"] = "{cookie}", ["Accept"] = "text/html"}})
    headers["Authorization"] = nil
    return wrk.format("GET", pages[((n + tid) % #pages) + 1], headers)
  end
end
{pace}
"""


# --- seeding what bench/api.py does not ------------------------------------------------


def seed_due(tenant_pk: int, count: int, now: datetime) -> list[int]:
    """``count`` new live subscriptions whose first renewal is due by ``now``
    (made a month and a day ago, invoices sent, not charged)."""
    from billing.subscriptions import subscription_create
    from core.actors import Actor
    from customers.models import Customer
    from subscriptions.models import Plan
    from tenants.context import tenant_context
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_pk)
    started = now - timedelta(days=32)
    stamp = int(now.timestamp())
    with tenant_context(tenant):
        plan = Plan.objects.filter(code="monthly").order_by("-version").first()
        assert plan is not None
        customers = Customer.objects.bulk_create(
            [Customer(tenant=tenant, name=f"Due {stamp}-{i}") for i in range(count)]
        )
        return [
            subscription_create(
                tenant=tenant,
                customer=c,
                plan=plan,
                actor=Actor.system("soak"),
                now=started,
                collection_method="send_invoice",
            ).pk
            for c in customers
        ]


def renewals(tenant_pk: int, subscription_ids: list[int]) -> dict[int, int]:
    """How many invoices each due subscription has: 2 (its first and one renewal)."""
    from django.db.models import Count

    from billing.models import Invoice
    from tenants.context import tenant_context
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(pk=tenant_pk)):
        rows = (
            Invoice.objects.filter(subscription_id__in=subscription_ids)
            .values("subscription_id")
            .annotate(n=Count("id"))
        )
        counts = {row["subscription_id"]: row["n"] for row in rows}
    return {pk: counts.get(pk, 0) for pk in subscription_ids}


def staff_cookie() -> str:
    """A signed-in session for the bench tenant's owner (what a browser would hold)."""
    from django.test import Client

    from tenants.accounts import staff_user_ensure

    user = staff_user_ensure(email=f"owner@{BENCH_SLUG}.example")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def check_page(base: str, path: str, cookie: str) -> None:
    """A dashboard page answers 200 to the session (a redirect would be a login page)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        f"{base}{path}", headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise SystemExit(f"dashboard {path} answered {status} to the staff session")


# --- processes -----------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, StopIteration):
            continue
    return total / 1024


def start_worker(env: dict[str, str], log: Path, concurrency: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes], *, grace: float) -> str:
    """SIGTERM (a worker finishes its task), SIGKILL after ``grace`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
        return "stopped"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return "killed"


@dataclass
class Minute:
    index: int
    result: Result
    delay_ms: float
    server_mb: float
    worker_mb: float
    events: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--segment", type=int, default=60, help="seconds per reported row")
    parser.add_argument("--calibrate", type=int, default=20, help="seconds flat out (20)")
    parser.add_argument("--load", type=float, default=0.8, help="share of the calibrated rate")
    parser.add_argument("--rate", type=float, default=0, help="requests/s (skips calibrating)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=18043)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--invoiced", type=int, default=50, help="customers with invoices")
    parser.add_argument("--due", type=int, default=300, help="renewals for the billing run")
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk).", file=sys.stderr)
        return 2
    env = _environment(args)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL",
                                           "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")})  # fmt: skip
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not env["DATABASE_URL"].startswith("postgres"):
        print("The soak needs PostgreSQL: set DATABASE_URL.", file=sys.stderr)
        return 2
    if not args.no_migrate:
        print("Migrating…")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )

    import django

    django.setup()
    from django.db import connections

    from config.celery import app

    seeded: Seeded = seed(args.customers, args.invoiced)
    print(f"Seeding {args.due} subscriptions due for renewal…")
    due = seed_due(seeded.tenant_pk, args.due, datetime.now(UTC))
    cookie = staff_cookie()
    app.conf.task_always_eager = False  # from here on, tasks go to the worker
    connections.close_all()

    base = f"http://127.0.0.1:{args.port}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    server_log, worker_log = workdir / "gunicorn.log", workdir / "worker.log"
    server_cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", "gthread",
        "--threads", str(args.threads),
        "--keep-alive", "5",
        "--access-logfile", "-",
    ]  # fmt: skip
    server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    print(f"Serving: {' '.join(server_cmd[2:])}; logs in {workdir}")
    with server_log.open("w") as log_file:
        server = subprocess.Popen(
            server_cmd, cwd=ROOT, env=server_env, stdout=log_file, stderr=subprocess.STDOUT
        )
    procs = {"worker": start_worker(env, worker_log, args.celery_concurrency)}
    minutes: list[Minute] = []
    try:
        _wait_until_up(base, server)
        check_once(base, "GET", f"/api/v1/customers/{seeded.customers[0]}", seeded.key)
        check_once(base, "GET", f"/api/v1/invoices?customer={seeded.with_invoices[0]}", seeded.key)
        check_once(
            base,
            "POST",
            "/api/v1/subscriptions",
            seeded.key,
            {"customer": seeded.customers[0], "plan": seeded.plan},
        )
        for page in DASHBOARD_PAGES:
            check_page(base, page, cookie)

        def script(pace: str) -> str:
            return LUA_COMMON.format(key=seeded.key) + LUA_MIX.format(
                customers=_lua_list(seeded.customers[:500]),
                hot=_lua_list(seeded.with_invoices),
                pages=_lua_list(DASHBOARD_PAGES),
                plan=seeded.plan,
                cookie=cookie,
                run=os.urandom(6).hex(),
                pace=pace,
            )

        wrk_args = SimpleNamespace(
            wrk_threads=args.wrk_threads, connections=args.connections, warmup=5
        )
        if args.rate:
            target = args.rate
            run_wrk("warm-up", script(""), base, wrk_args, workdir, warm=True)
            delay_ms = max(0.0, args.connections / target * 1000 - 20)
        else:
            wrk_args.duration = args.calibrate
            flat_out = run_wrk("calibration (flat out)", script(""), base, wrk_args, workdir,
                               warm=False)  # fmt: skip
            target = flat_out.rps * args.load
            print(
                f"Calibration: {flat_out.rps:,.0f} req/s flat out (p50 {flat_out.p50_ms:.0f} ms,"
                f" p99 {flat_out.p99_ms:.0f} ms, {flat_out.errors} errors); target "
                f"{target:,.0f} req/s ({args.load:.0%})"
            )
            # Each connection: answer time + delay = connections / rate.
            delay_ms = max(0.0, (args.connections / target - flat_out.p50_ms / 1000 / 2) * 1000)

        start_server_mb = rss_mb(server.pid)
        start_worker_mb = rss_mb(procs["worker"].pid)
        middle = args.minutes // 2
        wrk_args.duration = args.segment
        for index in range(args.minutes):
            events: list[str] = []
            background = None
            if index == middle:
                background = threading.Thread(
                    target=_billing_run_and_restart,
                    args=(app, procs, env, worker_log, args.celery_concurrency, events),
                    daemon=True,
                )
                background.start()
            pace = f"function delay() return {delay_ms:.1f} end" if delay_ms > 0 else ""
            result = run_wrk(f"minute {index + 1}", script(pace), base, wrk_args, workdir,
                             warm=False)  # fmt: skip
            if background is not None:
                background.join(timeout=120)
            worker_mb = rss_mb(procs["worker"].pid)
            minutes.append(
                Minute(index + 1, result, delay_ms, rss_mb(server.pid), worker_mb, events)
            )
            # Correct the pace: connections / rate = answer time + delay.
            if result.rps > 0:
                delay_ms = max(
                    0.0, delay_ms + args.connections * (1 / target - 1 / result.rps) * 1000
                )
        # Let the worker finish what the load queued before counting renewals.
        time.sleep(5)
    finally:
        stop(server, grace=15)
        stop(procs["worker"], grace=30)

    renewed = renewals(seeded.tenant_pk, due)
    counts = {n: sum(1 for v in renewed.values() if v == n) for n in set(renewed.values())}
    print()
    print(
        f"gunicorn {args.workers} × gthread ({args.threads} threads), wrk {args.wrk_threads} "
        f"thread(s) × {args.connections} connections, target {target:,.0f} req/s, DEBUG=0, "
        f"database {env['DATABASE_URL'].rsplit('/', 1)[-1]}"
    )
    print(
        f"{'minute':>6} {'req/s':>8} {'errors':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'server MB':>10} {'worker MB':>10}  events"
    )
    for m in minutes:
        r = m.result
        print(
            f"{m.index:>6} {r.rps:>8,.0f} {r.errors:>7} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{m.server_mb:>10.0f} {m.worker_mb:>10.0f}  {'; '.join(m.events)}"
        )
    errors = sum(m.result.errors for m in minutes)
    requests = sum(m.result.requests for m in minutes)
    end_mb = minutes[-1].server_mb if minutes else start_server_mb
    growth = (end_mb - start_server_mb) / start_server_mb if start_server_mb else 0.0
    print(f"requests {requests:,}, errors {errors} (aim 0)")
    print(
        f"server RSS: {start_server_mb:.0f} MB at the start, {end_mb:.0f} MB at the end "
        f"({growth:+.1%}; aim within ±10 %); worker {start_worker_mb:.0f} MB at the start"
    )
    print(
        f"billing run: {len(due)} due subscriptions, invoices each → {json.dumps(counts)} "
        f"(aim: every one 2: its first invoice and one renewal)"
    )
    status_5xx = sum(
        1 for line in server_log.read_text(errors="replace").splitlines() if '" 5' in line
    )
    worker_errors = sum(
        1 for line in worker_log.read_text(errors="replace").splitlines() if "ERROR" in line
    )
    print(f"server 5xx in its log: {status_5xx}; worker ERROR lines: {worker_errors}; {workdir}")
    app.control.purge()
    ok = errors == 0 and counts == {2: len(due)} and abs(growth) <= 0.10
    return 0 if ok else 1


def _billing_run_and_restart(  # type: ignore[no-untyped-def]
    app,
    procs: dict[str, subprocess.Popen[bytes]],
    env: dict[str, str],
    worker_log: Path,
    concurrency: int,
    events: list[str],
) -> None:
    """Mid-soak: beat sends the billing run; a deploy restarts the worker while
    it may still be running; beat's next tick sends it again."""
    started = time.monotonic()

    def note(what: str) -> None:
        events.append(f"{time.monotonic() - started:+.0f}s {what}")

    time.sleep(5)
    app.send_task("billing.run")
    note("billing run sent")
    time.sleep(10)
    outcome = stop(procs["worker"], grace=10)
    note(f"worker {outcome}")
    procs["worker"] = start_worker(env, worker_log, concurrency)
    note("new worker")
    time.sleep(10)
    app.send_task("billing.run")
    note("billing run sent again")


if __name__ == "__main__":
    sys.exit(main())
