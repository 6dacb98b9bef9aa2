"""htmx and Chart.js come from npm (package-lock.json) and are served as our own static files."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parents[2]


def test_front_end_packages_are_pinned_installed_and_found() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for package, asset, marker in (
        ("htmx.org", "vendor/htmx/htmx.min.js", "htmx"),
        ("chart.js", "vendor/chartjs/chart.umd.min.js", "Chart"),
    ):
        assert lock["packages"][f"node_modules/{package}"]["version"]
        found = finders.find(asset)
        assert found, f"{asset} is not served: run `make install` (npm ci)"
        assert marker in Path(found).read_text(encoding="utf-8")[:5000]


def test_htmx_requests_are_recognised() -> None:
    from django_htmx.middleware import HtmxMiddleware

    seen = {}

    def view(request):  # type: ignore[no-untyped-def]
        seen["htmx"] = bool(request.htmx)
        seen["target"] = request.htmx.target

    HtmxMiddleware(view)(RequestFactory().get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="rows"))
    assert seen == {"htmx": True, "target": "rows"}
