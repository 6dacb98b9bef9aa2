"""The embeddable checkout in headless Chromium: a merchant's page on another
origin (a tiny HTTP server on 127.0.0.1, while Ciclo runs on localhost) frames
the checkout; the visitor pays inside the iframe and the merchant's page
receives ``ciclo.checkout.completed`` through postMessage. Screenshots of the
dashboard's snippet section in en and pt-BR at 1280 and 390 px."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.e2e.conftest import ARTIFACTS, DEFAULT_TIMEOUT_MS, log_in
from tests.support.billing import utc, world

pytestmark = pytest.mark.e2e
NOW = utc(2026, 6, 1, 15)

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>My shop</h1><pre id="received">waiting</pre>
<iframe id="checkout" src="%(src)s" width="100%%" height="1100" style="border:0"></iframe>
<script>
window.addEventListener("message", function (event) {
  var ok = event.origin === %(origin)s && event.data;
  if (!ok || event.data.type !== "ciclo.checkout.completed") return;
  document.getElementById("received").textContent = JSON.stringify(event.data);
});
</script></body></html>"""


@pytest.fixture
def merchant_site() -> Iterator[tuple[str, dict[str, str]]]:
    """A merchant's site on http://127.0.0.1:<port>; the test sets its page."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def _shop(origin: str) -> tuple[Tenant, Plan]:
    with world(NOW, locale="en", embed_domains=[origin]) as w:
        plan = w.plan("monthly", amount=5_000, name="Pro")
    return w.tenant, plan


def test_the_checkout_completes_inside_another_origins_iframe(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    merchant_site: tuple[str, dict[str, str]],
) -> None:
    site, pages = merchant_site
    ciclo = live_server.url.replace("127.0.0.1", "localhost")
    assert urlsplit(ciclo).hostname == "localhost"  # another origin than the shop's
    tenant, plan = _shop(site)
    src = f"{ciclo}/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    pages["/"] = HOST_PAGE % {"src": src, "origin": json.dumps(ciclo)}
    page.goto(f"{site}/")
    frame = page.frame_locator("#checkout")
    expect(frame.get_by_test_id("plan-name")).to_have_text("Pro")
    frame.locator("#f-name").fill("Ana Souza")
    frame.locator("#f-email").fill("ana@example.com")
    frame.locator("#f-tax-id").fill("529.982.247-25")
    frame.locator("#card-number").fill("4242 4242 4242 4242")
    frame.locator("#card-exp").fill("12/31")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#card-setup button[type=submit]").click()
    expect(frame.get_by_test_id("checkout-done")).to_be_visible()
    expect(page.locator("#received")).to_contain_text("ciclo.checkout.completed")
    received = json.loads(page.locator("#received").text_content() or "{}")
    with tenant_context(tenant):
        sub = Subscription.objects.select_related("customer").get(tenant=tenant)
    assert received["subscription"] == sub.public_id
    assert received["customer"] == sub.customer.public_id
    assert sub.status == "active"


def test_a_3ds_card_completes_inside_another_origins_iframe(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    merchant_site: tuple[str, dict[str, str]],
) -> None:
    """The plan link (no checkout session): the issuer's page and the way back
    run inside the iframe, where the browser sends none of Ciclo's cookies
    (localhost framed by 127.0.0.1 is cross-site); the return carries a signed id."""
    site, pages = merchant_site
    ciclo = live_server.url.replace("127.0.0.1", "localhost")
    tenant, plan = _shop(site)
    src = f"{ciclo}/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    pages["/"] = HOST_PAGE % {"src": src, "origin": json.dumps(ciclo)}
    page.goto(f"{site}/")
    frame = page.frame_locator("#checkout")
    expect(frame.get_by_test_id("plan-name")).to_have_text("Pro")
    frame.locator("#f-name").fill("Ana Souza")
    frame.locator("#f-email").fill("ana@example.com")
    frame.locator("#f-tax-id").fill("529.982.247-25")
    frame.locator("#card-number").fill("4000 0025 0000 3155")
    frame.locator("#card-exp").fill("12/31")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#card-setup button[type=submit]").click()
    frame.get_by_role("button", name="Approve").click()
    frame.get_by_test_id("continue").click()
    expect(frame.get_by_test_id("checkout-done")).to_be_visible()
    expect(frame.get_by_test_id("paid")).to_be_visible()
    expect(page.locator("#received")).to_contain_text("ciclo.checkout.completed")
    received = json.loads(page.locator("#received").text_content() or "{}")
    with tenant_context(tenant):
        sub = Subscription.objects.select_related("customer").get(tenant=tenant)
    assert sub.status == "active"
    assert received["subscription"] == sub.public_id
    assert received["customer"] == sub.customer.public_id
    assert received["status"] == "active"
    assert not [c for c in page.context.cookies(ciclo) if c["name"] == "sessionid"]


def test_the_checkout_refuses_a_site_not_allowed(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    merchant_site: tuple[str, dict[str, str]],
) -> None:
    # Not the ``page`` fixture: the CSP refusal it fails on is what this test expects.
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    site, pages = merchant_site
    ciclo = live_server.url.replace("127.0.0.1", "localhost")
    tenant, plan = _shop("https://other-shop.example.com")
    src = f"{ciclo}/t/{tenant.slug}/checkout/{plan.public_id}/?embed=1"
    pages["/"] = HOST_PAGE % {"src": src, "origin": json.dumps(ciclo)}
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(f"{site}/")
    page.wait_for_timeout(1500)
    frame = page.frame(url=lambda u: "/checkout/" in u)
    assert frame is None or frame.locator("[data-testid=plan-name]").count() == 0
    assert blocked, "the browser did not report the frame-ancestors refusal"
    context.close()


def test_dashboard_snippet_screens(browser: Browser, live_server) -> None:  # type: ignore[no-untyped-def]
    _tenant, plan = _shop("https://shop.example.com")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
            page.goto(f"/dashboard/catalog/plans/{plan.public_id}/")
            expect(page.get_by_test_id("embed-snippet")).to_be_visible()
            preview = page.frame_locator("[data-testid=embed-preview]")
            expect(preview.get_by_test_id("plan-name")).to_have_text("Pro")
            page.get_by_test_id("checkout-embed").screenshot(
                path=str(ARTIFACTS / f"checkout-embed-snippet-{locale}-{width}.png")
            )
            assert refused == []
            context.close()
