"""Issue 12, finding 7: a Content Security Policy on every page, no inline
script or handler in any template, and Swagger UI served from our own files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import TenantSetup

ROOT = Path(settings.BASE_DIR)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src|nonce)=)(?![^>]*application/json)[^>]*>")
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style(?![^>]*\bnonce=)", re.IGNORECASE)
# Not web pages: sent as email, or printed to PDF by WeasyPrint on the server.
NOT_PAGES = {
    "email/layout.html",
    "invoice_pdf.html",
    "boleto_pdf.html",
    "credit_note_pdf.html",
    "_pdf_style.html",
    "packing_list_pdf.html",
}


def _templates() -> list[Path]:
    found = []
    for folder in ["templates", *(p.name for p in ROOT.iterdir() if (p / "templates").is_dir())]:
        base = ROOT / folder if folder == "templates" else ROOT / folder / "templates"
        found += [p for p in base.rglob("*.html") if not str(p).endswith(tuple(NOT_PAGES))]
    return found


def _directives(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def test_no_template_has_an_inline_script_handler_or_style() -> None:
    templates = _templates()
    offenders = [
        f"{path.relative_to(ROOT)}: {pattern.search(path.read_text())[0]}"  # type: ignore[index]
        for path in templates
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE)
        if pattern.search(path.read_text())
    ]

    assert len(templates) > 20
    assert offenders == []


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/api/docs", "/healthz", "/t/acme/login/", "/nowhere"]
)
def test_every_page_carries_the_policy(acme: TenantSetup, path: str) -> None:
    client = Client()
    client.force_login(acme.owner)  # type: ignore[arg-type]

    response = client.get(path)
    policy = _directives(response["Content-Security-Policy"])

    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert any(s.startswith("'nonce-") for s in policy["script-src"])
    assert response["X-Frame-Options"] == "DENY"


def test_the_nonce_is_new_on_each_response_and_names_the_inline_style(acme: TenantSetup) -> None:
    client = Client()
    client.force_login(acme.owner)  # type: ignore[arg-type]

    first, second = client.get("/"), client.get("/")
    nonces = [
        re.search(r"'nonce-([^']+)'", r["Content-Security-Policy"])[1]  # type: ignore[index]
        for r in (first, second)
    ]

    assert nonces[0] != nonces[1]
    assert f'<style nonce="{nonces[0]}">' in first.content.decode()


def test_api_docs_load_swagger_ui_from_our_static_files(db: None) -> None:
    page = Client().get("/api/docs")
    script = Client().get("/api/docs?script=")
    html = page.content.decode()

    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not INLINE_SCRIPT.search(html)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema" in script.content.decode()
