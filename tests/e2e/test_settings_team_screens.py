"""Issue 13 items 6-7 in a browser: settings and team, in en and pt-BR, at 1280 and 390 px.

Screenshots go to $CICLO_ARTIFACTS_DIR/screens/ when that is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import make_tenant
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, log_in

pytestmark = pytest.mark.e2e


def _shots_dir() -> Path | None:
    root = os.environ.get("CICLO_ARTIFACTS_DIR")
    if not root:
        return None
    path = Path(root) / "screens"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_settings_and_team_walk(browser: Browser, live_server) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    shots = _shots_dir()
    for locale, accept in (("en", "en-US"), ("pt-br", "pt-BR")):
        for width in (1280, 390):
            context = browser.new_context(
                base_url=live_server.url,
                locale=accept,
                extra_http_headers={"Accept-Language": accept},
                viewport={"width": width, "height": 900},
            )
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            refused: list[str] = []
            page = context.new_page()
            page.on(
                "console",
                lambda m, seen=refused: (
                    seen.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            log_in(page, "owner@acme.example")
            page.goto("/dashboard/settings/")
            expect(page.locator("input[name=net_terms_days]")).to_be_visible()
            page.fill("input[name=net_terms_days]", "400")
            with page.expect_navigation():
                page.click("form.settings-form button[type=submit]")
            expect(page.locator(".errorlist").first).to_be_visible()
            if shots:
                page.screenshot(path=str(shots / f"settings-{locale}-{width}.png"), full_page=True)
            page.goto("/dashboard/team/")
            page.fill("input[name=email]", f"new-{locale}-{width}@example.com")
            with page.expect_navigation():
                page.click("form[action='/dashboard/team/invite/'] button[type=submit]")
            expect(page.locator(f"text=new-{locale}-{width}@example.com").first).to_be_visible()
            if shots:
                page.screenshot(path=str(shots / f"team-{locale}-{width}.png"), full_page=True)
            assert refused == []
            context.close()
