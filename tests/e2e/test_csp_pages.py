"""Pages with scripts of their own still work under the Content Security
Policy (issue 12, finding 7); the ``page`` fixture fails on any refusal."""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_tenant
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_the_template_editors_live_preview_runs(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    log_in(page, "owner@acme.example")
    page.goto("/dashboard/notifications/messages/payment_failed/email/en/")

    page.fill("textarea[name=body]", "Hello {{ customer_name }}, live")

    expect(page.locator("#preview-text")).to_have_text("Hello Ana Souza, live")
    expect(page.locator("#preview-html")).to_have_class("email-preview")


def test_api_docs_render_swagger_ui_from_our_own_files(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    ours = (live_server.url, "data:")
    page.on("request", lambda r: None if r.url.startswith(ours) else outside.append(r.url))

    page.goto("/api/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ciclo API")
    assert outside == []


def test_every_page_linked_from_the_dashboard_loads_under_the_policy(  # type: ignore[no-untyped-def]
    page: Page, live_server
) -> None:
    make_tenant("acme")
    log_in(page, "owner@acme.example")
    seen: set[str] = set()
    queue = ["/", "/accounts/2fa/", "/accounts/2fa/totp/activate/", "/accounts/email/"]
    while queue and len(seen) < 40:
        path = queue.pop(0)
        if path in seen or "logout" in path:
            continue
        seen.add(path)
        response = page.goto(path)
        assert response is not None
        assert response.status < 500, path
        # Exports carry ``download``: a file, not a page to load under the policy.
        links = page.locator("a[href^='/']:not([download])").evaluate_all(
            "els => els.map(e => e.pathname)"
        )
        queue += [h for h in links if not h.startswith(("/static/", "/media/", "/api/"))]

    assert len(seen) > 10
