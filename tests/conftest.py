"""Shared fixtures. Tenants, users and keys are made through the real services."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from core import clock
from core.actors import Actor
from tenants.accounts import staff_user_ensure
from tenants.context import platform_access, tenant_context
from tenants.models import Tenant
from tenants.services import IssuedApiKey, api_key_create, tenant_create

REQUIRE_SERVICES = os.environ.get("CICLO_REQUIRE_SERVICES") == "1"
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
HAS_REDIS = bool(settings.REDIS_URL)


# The longest files go first: the two test processes of `make test` (pytest-xdist,
# --dist=loadfile, files handed out in this order) then end together, instead of
# one of them walking the browser tests alone at the end.
LONGEST_FIRST = (
    "tests/e2e/",
    "tests/api_contract/",
    "tests/scenarios/test_properties.py",
    "tests/billing/test_billing_run_concurrency.py",
    "tests/billing/test_gateway_rate_limits.py",
    "tests/billing/test_lock_order.py",
    "tests/notifications/test_outbox.py",
    "tests/tenants/test_seed_demo.py",
)


# CI sets CICLO_REQUIRE_SERVICES=1, so these skips can only happen on a laptop.
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip("needs PostgreSQL (set DATABASE_URL)"))
        if "redis" in item.keywords and not HAS_REDIS:
            item.add_marker(pytest.mark.skip("needs Redis (set REDIS_URL)"))


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SERVICES and not (ON_POSTGRES and HAS_REDIS):
        raise pytest.UsageError(
            "CICLO_REQUIRE_SERVICES=1 but DATABASE_URL (PostgreSQL) or REDIS_URL is not set."
        )
    from config.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if HAS_REDIS:
        # The cache gets a Redis database of its own, emptied before each test.
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(settings.REDIS_URL)
        # One database per parallel worker (pytest-xdist's gw0, gw1…): 15, 14…
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        cache_db = int(os.environ.get("CICLO_TEST_REDIS_DB", "15")) - int(worker.removeprefix("gw"))
        settings.CACHES["default"]["LOCATION"] = urlunsplit(parts._replace(path=f"/{cache_db}"))
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    # Unit tests run tasks inline; integration tests start real workers.
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


# --- PostgreSQL: the test database is built by the owner, used by the app role.


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    if ON_POSTGRES:
        from tenants.db.postgresql.base import set_owner_mode

        set_owner_mode(True)
        if REQUIRE_SERVICES:
            _end_stale_test_db_sessions()


def _end_stale_test_db_sessions() -> None:
    """A worker killed by an earlier, interrupted run may still hold the test
    database open, and then it cannot be dropped and created again."""
    import psycopg

    db = settings.DATABASES["default"]
    test_name = db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}"
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_name],
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    if not ON_POSTGRES:
        yield
        return
    from tenants.db.postgresql.base import set_owner_mode
    from tenants.rls import ensure_app_role
    from tests.support import flush

    db = settings.DATABASES["default"]
    with django_db_blocker.unblock():
        # TRUNCATE only for the test run: transactional tests flush as the app role
        # (with Django's flush, kept when the faster one cannot be used).
        ensure_app_role(app_user=db["APP_USER"], grant_truncate=True)
        flush.install()
    set_owner_mode(False)
    yield
    flush.uninstall()
    set_owner_mode(True)


# --- Domain fixtures


@dataclass
class TenantSetup:
    tenant: Tenant
    owner: object
    key: IssuedApiKey

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key.raw}")
        return client


def make_tenant(slug: str, email: str | None = None) -> TenantSetup:
    now = clock.now()
    owner = staff_user_ensure(email=email or f"owner@{slug}.example", password="s3cret-Pass!")
    tenant = tenant_create(name=slug.title(), slug=slug, owner=owner, now=now)
    with tenant_context(tenant):
        key = api_key_create(tenant=tenant, name="test", actor=Actor.system("tests"), now=now)
    return TenantSetup(tenant=tenant, owner=owner, key=key)


@pytest.fixture
def acme(db: None) -> TenantSetup:
    return make_tenant("acme")


@pytest.fixture
def globex(db: None) -> TenantSetup:
    return make_tenant("globex")


@pytest.fixture
def in_platform() -> Iterator[None]:
    with platform_access():
        yield


def raw_rows(sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_tenant_leaks_between_tests() -> Iterator[None]:
    yield
    from tenants.context import current_tenant, platform_access_active

    assert current_tenant() is None, "a test left a tenant in context"
    assert not platform_access_active(), "a test left platform access on"
