"""Browser fixtures for the end-to-end tests: real headless Chromium via Playwright.

Playwright's sync API runs an asyncio event loop in the test thread, so Django
refuses ORM calls made there (``SynchronousOnlyOperation``): the tests create
data and pytest-django flushes the database in that thread. The tests only
touch the ORM between browser steps, never concurrently with them, so the
standard escape hatch, ``DJANGO_ALLOW_ASYNC_UNSAFE``, is safe here.

It is confined to these tests. Set at import time it would be inherited by every
subprocess of the whole suite, and ``manage.py check --deploy`` (tests/core/
test_deploy_check.py) fails on it with async.E001. So the ``browser`` fixture sets
it before Playwright starts, i.e. before the first ORM call made under the loop,
and removes it once Playwright has stopped; the fixture's scope is this package,
so Chromium is launched once for all e2e tests and the event loop is gone before
the rest of the suite runs (which then keeps Django's async-safety check).
"""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "e2e"
PASSWORD = "s3cret-Pass!"  # what tests.conftest.make_tenant gives every owner
DEFAULT_TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every test in tests/e2e (see the module docstring)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:  # type: ignore[no-untyped-def]
    """A fresh context (cookies, storage) per test, English unless a test switches."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page whose final state is saved as test-artifacts/e2e/<test-name>.png.

    Every page must work under the Content Security Policy (issue 12): a
    script, handler or style the policy refused fails the test."""
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    assert refused == [], "refused by the Content Security Policy"


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through allauth's form; the caller asserts where it lands."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action='/accounts/login/'] button[type=submit]")


def clear_login_rate_limits(live_server_url: str, email: str) -> None:
    """Forget allauth's failed-login counters for ``email`` from this machine.

    They live in the cache (Redis, or files under var/), which outlives the test
    database: without this, repeated runs would trip the lockout.
    """
    from allauth.core import ratelimit
    from django.test import RequestFactory

    host = urlsplit(live_server_url).netloc
    for ip in ("127.0.0.1", "::1"):
        request = RequestFactory().post("/accounts/login/", HTTP_HOST=host, REMOTE_ADDR=ip)
        ratelimit.clear(request, action="login_failed", key=f"{host}:{email.lower()}")
