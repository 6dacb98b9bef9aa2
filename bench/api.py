"""Benchmark: the REST API under load, against a bare DRF floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ciclo .venv/bin/python -m bench.api

Migrates the database, seeds a bench tenant (customers by COPY; a few
customers with a year of invoices, made by the real services on a test clock),
then serves the project with gunicorn as production does (``config.wsgi``,
``DEBUG=0``, the app role under row-level security, Redis for the cache, rate
limits and the broker) and drives it from ``wrk`` in a separate process on
127.0.0.1, each scenario for a fixed time at 16 connections:

- retrieve a customer by id          ``GET /api/v1/customers/{id}``
- list a customer's invoices         ``GET /api/v1/invoices?customer={id}``
- create a subscription              ``POST /api/v1/subscriptions`` (a new Idempotency-Key each)
- the floor: a bare DRF view reading one row by primary key, served by the same
  server (``bench/settings.py`` adds its URL; middleware and everything else
  are the project's).

It prints requests per second, p50/p99 latency and the ratio to the floor's
throughput for each, then (``--profile``) the queries each read makes and
where its time goes. Scenarios whose route is not registered yet are skipped.
Never part of the test run.
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
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ciclo"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
BENCH_SLUG = "bench-api"
T0 = datetime(2026, 1, 1, 3, tzinfo=UTC)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """The production shape, on 127.0.0.1: DEBUG=0 and a TLS-terminating proxy's header."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + uuid.uuid4().hex * 2),
            "ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# --- seeding ------------------------------------------------------------------------------


@dataclass
class Seeded:
    tenant_pk: int
    key: str
    plan: str
    customers: list[str]  # a sample of every customer, for reads and creates
    with_invoices: list[str]  # customers with a year of invoices


def seed(n_customers: int, n_hot: int) -> Seeded:
    """The bench tenant, made once and reused; a new API key each run."""
    from django.db import connection
    from tqdm import tqdm

    from billing.clocks import clock_advance, clock_create
    from billing.subscriptions import subscription_create
    from config.celery import app
    from core.actors import Actor
    from customers.models import Customer
    from subscriptions.models import Plan
    from subscriptions.services import plan_create, product_create
    from tenants.accounts import staff_user_ensure
    from tenants.context import tenant_context
    from tenants.db.postgresql.base import owner_mode
    from tenants.models import Tenant
    from tenants.services import api_key_create, tenant_create

    app.conf.task_always_eager = True  # seeding's tasks run here, not on a worker
    actor = Actor.system("bench")
    tenant = Tenant.objects.filter(slug=BENCH_SLUG).first()
    if tenant is None:
        owner = staff_user_ensure(email=f"owner@{BENCH_SLUG}.example")
        tenant = tenant_create(name="Bench API", slug=BENCH_SLUG, owner=owner, now=T0)
    with tenant_context(tenant):
        plan = Plan.objects.filter(code="monthly").order_by("-version").first()
        if plan is None:
            product = product_create(tenant=tenant, name="Bench", actor=actor, now=T0)
            plan = plan_create(
                tenant=tenant,
                product=product,
                code="monthly",
                name="Monthly",
                currency="BRL",
                amount_minor=4_990,
                actor=actor,
                now=T0,
            )
        have = Customer.objects.count()
    if have < n_customers:
        missing = n_customers - have
        print(f"Seeding {missing:,} customers (COPY, as the owner)…")
        prefix = uuid.uuid4().hex[:10]
        with owner_mode(), connection.cursor() as cursor:
            with cursor.copy(
                "COPY customers_customer (tenant_id, public_id, name, email, phone, tax_id,"
                " locale, metadata, created_at, address, marketing_channels_off, portal_password)"
                " FROM STDIN"
            ) as copy:
                for i in tqdm(range(missing), unit="row", desc="customers"):
                    copy.write_row(
                        (tenant.pk, f"cus_b{prefix}{i}", f"Customer {i}",
                         f"c{prefix}{i}@bench.example", "", "", "", "{}", T0, "{}", "[]", "")
                    )  # fmt: skip
            cursor.execute("ANALYZE customers_customer")
    with tenant_context(tenant):
        hot = list(
            Customer.objects.filter(metadata__bench="invoices").values_list("public_id", flat=True)
        )
        if len(hot) < n_hot:
            print(f"Seeding {n_hot - len(hot)} customers with a year of invoices (services)…")
            clock = clock_create(tenant=tenant, frozen_time=T0, actor=actor, now=T0, name="bench")
            for i in tqdm(range(n_hot - len(hot)), unit="customer", desc="subscriptions"):
                customer = Customer.objects.create(
                    tenant=tenant,
                    name=f"Invoiced {i}",
                    email=f"invoiced{i}@bench.example",
                    metadata={"bench": "invoices"},
                    test_clock=clock,
                )
                subscription_create(
                    tenant=tenant, customer=customer, plan=plan, actor=actor, now=T0
                )
            end = T0.replace(year=T0.year + 1)
            print("Advancing the test clock a year (renewals make the invoices)…")
            clock_advance(tenant=tenant, clock_id=clock.pk, to=end, actor=actor, now=end)
            hot = list(
                Customer.objects.filter(metadata__bench="invoices").values_list(
                    "public_id", flat=True
                )
            )
        sample = list(Customer.objects.order_by("?").values_list("public_id", flat=True)[:2_000])
        key = api_key_create(tenant=tenant, name="bench", actor=actor, now=datetime.now(UTC))
    return Seeded(
        tenant_pk=tenant.pk, key=key.raw, plan=plan.public_id, customers=sample, with_invoices=hot
    )


# --- serving and load ---------------------------------------------------------------------


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see its log")
        try:
            req = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
                f"{base}/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(req, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


LUA_COMMON = """
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["Accept"] = "application/json"
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
-- Any answer but a 2xx is a failed request (wrk itself only counts >= 400).
bad = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  io.write(string.format(
    'BENCH {{"requests":%d,"duration_us":%d,"failed":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, failed, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""

LUA_GET = """
local paths = {{{paths}}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
"""

LUA_CREATE = """
local customers = {{{customers}}}
local n = 0
request = function()
  n = n + 1
  local customer = customers[((n * 7 + tid) % #customers) + 1]
  local body = '{{"customer":"' .. customer .. '","plan":"{plan}"}}'
  -- wrk.format's headers replace wrk.headers: start from a copy.
  local headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "bench-{run}-" .. tid .. "-" .. n
  return wrk.format("POST", "/api/v1/subscriptions", headers, body)
end
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def run_wrk(
    name: str, script: str, base: str, args: argparse.Namespace, workdir: Path, *, warm: bool
) -> Result:
    from tqdm import tqdm

    path = workdir / f"{name.replace(' ', '_')}.lua"
    path.write_text(script)
    duration = args.warmup if warm else args.duration
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(path),
        base,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    label = f"{'warm-up ' if warm else ''}{name}"
    with tqdm(total=duration, desc=f"{label:<32}", unit="s", leave=not warm) as bar:
        started = time.monotonic()
        while proc.poll() is None:
            time.sleep(0.25)
            bar.n = min(duration, round(time.monotonic() - started, 1))
            bar.refresh()
        bar.n = duration
        bar.refresh()
    output = proc.stdout.read() if proc.stdout else ""
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk failed for {name}:\n{output}")
    data = json.loads(line[len("BENCH ") :])
    seconds = data["duration_us"] / 1e6
    return Result(
        name=name,
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=data["failed"] + data["socket_errors"],
    )


def check_once(base: str, method: str, path: str, key: str, body: dict | None = None) -> int:
    """One request before the load, so a broken scenario fails loudly, not as 'fast errors'."""
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {key}",
            "X-Forwarded-Proto": "https",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        raise SystemExit(
            f"{method} {path} answered {exc.code}: {exc.read()[:500].decode(errors='replace')}"
        ) from exc


# --- profile ------------------------------------------------------------------------------


def profile(paths: dict[str, str], key: str, n: int) -> None:
    """Queries per request and the hottest functions, in this process, same settings."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1"
    )
    for name, path in paths.items():
        for _ in range(20):
            client.get(path)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        print(f"\n### {name}: {path} → {status}; {len(queries)} queries")
        for q in queries.captured_queries:
            print(f"  {q['time']}s  {q['sql'][:160]}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(n):
            client.get(path)
        profiler.disable()
        per = (time.perf_counter() - started) / n * 1000
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        # Round trips, counted at the drivers: Django's query log misses the
        # set_config() calls that switch the tenant on the connection.
        trips = {"PostgreSQL": 0, "Redis": 0}
        for (filename, _line, func), (_cc, calls, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
            if filename.endswith("psycopg/cursor.py") and func == "execute":
                trips["PostgreSQL"] += calls
            elif filename.endswith("redis/client.py") and func in (
                "_send_command_parse_response",  # one command
                "_execute_pipeline",  # a pipeline: one round trip for all its commands
                "_execute_transaction",
            ):
                trips["Redis"] += calls
        print(
            f"  in-process: {per:.2f} ms per request (profiled, one thread); round trips per "
            f"request: PostgreSQL {trips['PostgreSQL'] / n:.1f}, Redis {trips['Redis'] / n:.1f}"
        )
        stats.sort_stats("cumulative").print_stats(30)
        print("\n".join(out.getvalue().splitlines()[:50]))


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario (15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per scenario (3)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=18042)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    # gthread: keeps connections alive (as the load balancer in front would) and
    # overlaps one request's database waits with another's work; sync workers
    # close every connection and serve one request per process at a time.
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--invoiced", type=int, default=50, help="customers with invoices")
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--profile", type=int, default=0, help="profile N in-process reads each")
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk).", file=sys.stderr)
        return 2
    env = _environment(args)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL",
                                           "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")})  # fmt: skip
    # This process seeds and profiles; only the server logs every request (as in production).
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not env["DATABASE_URL"].startswith("postgres"):
        print("The benchmark needs PostgreSQL: set DATABASE_URL.", file=sys.stderr)
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

    from config.api import router

    seeded = seed(args.customers, args.invoiced)
    connections.close_all()
    prefixes = {prefix for prefix, _viewset, _basename in router.registry}

    base = f"http://127.0.0.1:{args.port}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    log = workdir / "gunicorn.log"
    server_cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads if args.worker_class == "gthread" else 1),
        "--keep-alive", "5",
        "--access-logfile", "-",
    ]  # fmt: skip
    print(f"Serving: {' '.join(server_cmd[2:])} (log: {log})")
    with log.open("w") as log_file:
        server = subprocess.Popen(
            server_cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(base, server)
        common = LUA_COMMON.format(key=seeded.key)
        scenarios: list[tuple[str, str, str]] = []  # (name, script, path checked first)
        scenarios.append(
            ("floor (bare DRF, 1 row)", LUA_GET.format(paths=_lua_list(
                [f"/bench/floor/{seeded.tenant_pk}"])), f"/bench/floor/{seeded.tenant_pk}")
        )  # fmt: skip
        reads = {"retrieve customer": [f"/api/v1/customers/{c}" for c in seeded.customers]}
        if "invoices" in prefixes:
            reads["list customer's invoices"] = [
                f"/api/v1/invoices?customer={c}" for c in seeded.with_invoices
            ]
        for name, paths in reads.items():
            scenarios.append((name, LUA_GET.format(paths=_lua_list(paths)), paths[0]))
        if "subscriptions" in prefixes:
            scenarios.append(
                ("create subscription", LUA_CREATE.format(
                    customers=_lua_list(seeded.customers), plan=seeded.plan, run="{run}"), "")
            )  # fmt: skip
        else:
            print("create subscription: skipped, /api/v1/subscriptions is not registered yet")
        if "invoices" not in prefixes:
            print("list customer's invoices: skipped, /api/v1/invoices is not registered yet")
        if args.only:
            scenarios = [
                s for s in scenarios if s[0].split(" ")[0] in args.only or s[0] in args.only
            ]

        for _name, _script, path in scenarios:
            if path:
                check_once(base, "GET", path, seeded.key)
            else:
                body = {"customer": seeded.customers[0], "plan": seeded.plan}
                check_once(base, "POST", "/api/v1/subscriptions", seeded.key, body)
        results = []
        for name, script, _path in scenarios:
            # Every wrk run sends Idempotency-Keys of its own ("{run}" in the script).
            for warm in (True, False):
                body = common + script.replace("{run}", uuid.uuid4().hex[:12])
                result = run_wrk(name, body, base, args, workdir, warm=warm)
            results.append(result)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

    floor = next(r for r in results if r.name.startswith("floor"))
    print()
    print(
        f"gunicorn {args.workers} × {args.worker_class}"
        f"{f' ({args.threads} threads)' if args.worker_class == 'gthread' else ''}, "
        f"wrk {args.wrk_threads} thread(s) × {args.connections} connections, "
        f"{args.duration} s each, DEBUG=0, database {env['DATABASE_URL'].rsplit('/', 1)[-1]}"
    )
    print(
        f"{'scenario':<28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>9} {'errors':>7}"
    )
    for r in results:
        ratio = r.rps / floor.rps
        print(
            f"{r.name:<28} {r.rps:>9,.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{ratio:>8.0%} {r.errors:>7}"
        )
    print("aim: reads ≥ 70 % of the floor's throughput, p99 < 50 ms")
    if any(r.errors for r in results):
        print(f"Some requests failed: see {log}", file=sys.stderr)

    if args.profile:
        profile_paths = {"floor": f"/bench/floor/{seeded.tenant_pk}"}
        profile_paths["retrieve customer"] = f"/api/v1/customers/{seeded.customers[0]}"
        if "invoices" in prefixes:
            profile_paths["list invoices"] = f"/api/v1/invoices?customer={seeded.with_invoices[0]}"
        profile(profile_paths, seeded.key, args.profile)

    # Subscriptions created under load queued charge tasks for a worker that is
    # not running: drop them from the bench broker.
    from config.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
