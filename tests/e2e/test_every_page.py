"""Every dashboard page, discovered from the URL conf, in headless Chromium.

The routes are those of ``tests/dashboard/test_routes.py`` (which fails when a staff
route has no entry there); each one answering a GET with a page is filled with the ids
of a seeded tenant and opened as its owner in English and Portuguese, at a desktop
(1280 px) and a phone (390 px) width: it must answer 200 and, on the phone, must not
scroll sideways. Screenshots, of the Portuguese pages (the English ones are opened and
measured the same way; the other e2e tests photograph English screens), go to
test-artifacts/e2e/every-page/pt-br-<width>-<route>.png.
Documents (PDF, spreadsheet exports) are fetched with the same session and must be 200.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.conftest import make_tenant
from tests.dashboard.test_routes import ROUTES, _path, _scene, staff_routes
from tests.e2e.conftest import ARTIFACTS, DEFAULT_TIMEOUT_MS, log_in

pytestmark = pytest.mark.e2e

DESKTOP, PHONE = 1280, 390
LANGUAGES = {"en": "en-US", "pt-br": "pt-BR"}
PHOTOGRAPHED = "pt-br"  # full-page screenshots are slow; one language is enough to look at
# Routes whose GET answers a document, not a page.
DOCUMENTS = (
    "dashboard:invoice_pdf",
    "billing:invoice_pdf",
    "reports:export",
    "dashboard:fulfilment_export",
)
FOLDER = ARTIFACTS / "every-page"


def _pages() -> list[str]:
    """Every staff route answering a GET with 200, documents apart."""
    found = staff_routes()
    return sorted(name for name, route in ROUTES.items() if name in found and route.get == 200)


def _file(lang: str, width: int, name: str) -> Path:
    return FOLDER / f"{lang}-{width}-{name.replace(':', '-')}.png"


def test_every_dashboard_page_opens_in_both_languages_and_fits_a_phone(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
) -> None:
    setup = make_tenant("acme")
    scene = _scene(setup)
    paths = {name: _path(name, ROUTES[name], scene) for name in _pages()}
    assert len(paths) >= 30  # the discovery found the pages at all
    FOLDER.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    for lang, locale in LANGUAGES.items():
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": DESKTOP, "height": 800}
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        refused: list[str] = []
        page.on(
            "console",
            lambda msg, r=refused: (
                r.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        log_in(page, setup.owner.email)
        assert "/accounts/login" not in page.url
        for name, path in paths.items():
            if name in DOCUMENTS:
                status = page.request.get(path).status
                if status != 200:
                    failures.append(f"{lang} {name} {path}: {status}")
                continue
            page.set_viewport_size({"width": DESKTOP, "height": 800})
            response = page.goto(path)
            status = response.status if response else 0
            if status != 200:
                failures.append(f"{lang} {name} {path}: {status}")
                continue
            if lang == PHOTOGRAPHED:
                page.screenshot(path=str(_file(lang, DESKTOP, name)), full_page=True)
            # Loaded again at the phone's width, as a phone would (charts size on load).
            page.set_viewport_size({"width": PHONE, "height": 844})
            page.reload()
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE + 1:
                failures.append(f"{lang} {name} {path}: {width} px wide on a {PHONE} px phone")
            if lang == PHOTOGRAPHED:
                page.screenshot(path=str(_file(lang, PHONE, name)), full_page=True)
        context.close()
        if refused:
            failures.append(f"{lang}: refused by the Content Security Policy: {refused[:3]}")

    assert not failures, "\n".join(failures)
