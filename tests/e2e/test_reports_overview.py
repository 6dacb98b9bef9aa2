"""Issue 15 in a browser: the Overview draws its charts (pixels on every canvas,
numbers in the viewer's language), a date range change redraws them, and an
XLSX export opens with openpyxl and holds the table's numbers. Screenshots of
the Overview at 1280 and 390 px in en and pt-BR go to test-artifacts/e2e/."""

from __future__ import annotations

import io
from datetime import date

import pytest
from babel.dates import format_date
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from core.money import Money
from tests.e2e.conftest import ARTIFACTS, DEFAULT_TIMEOUT_MS, log_in
from tests.reports.fixtures import business

pytestmark = pytest.mark.e2e
RANGE = "/?start=2026-01-01&end=2026-04-30&currency=BRL"
# The business pays by invoice (no charge attempts): its payments chart says so.
CHARTS = ("mrr", "customers", "churn", "trials")

PAINTED = """(c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return true; }
  return false;
}"""


def _chart(page: Page, kind: str, what: str) -> object:
    return page.locator(f"canvas[data-testid=chart-{kind}]").evaluate(
        f"(c) => {{ const chart = c.ciclochart; return {what}; }}"
    )


def _open(browser: Browser, live_server, accept: str, width: int) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=live_server.url,
        locale=accept,
        extra_http_headers={"Accept-Language": accept},
        viewport={"width": width, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.refused = refused  # type: ignore[attr-defined]
    log_in(page, "owner@acme.example")
    return page


def test_overview_charts_range_and_locales(browser: Browser, live_server) -> None:  # type: ignore[no-untyped-def]
    with business():
        pass
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for locale, accept in (("en", "en-US"), ("pt-br", "pt-BR")):
        for width in (1280, 390):
            page = _open(browser, live_server, accept, width)
            page.goto(RANGE)
            for kind in CHARTS:
                canvas = page.locator(f"canvas[data-testid=chart-{kind}]")
                expect(canvas).to_have_attribute("data-drawn", "1")
                assert canvas.evaluate(PAINTED), kind
            expect(page.locator("[data-testid=chart-payments-empty]")).to_be_visible()
            labels = _chart(page, "mrr", "chart.data.labels")
            babel_locale = "pt_BR" if locale == "pt-br" else "en"
            assert labels == [
                format_date(date(2026, m, 1), "MMM yyyy", locale=babel_locale) for m in (1, 2, 3, 4)
            ]
            # The MRR axis in the viewer's language: R$800 (en) / R$ 800 (pt-BR).
            ticks = _chart(page, "mrr", "chart.scales.y.ticks.map(t => t.label)")
            assert isinstance(ticks, list)
            expected = "R$ 800" if locale == "pt-br" else "R$800"
            assert any(str(t).replace("\u00a0", " ") == expected for t in ticks), ticks
            legend = _chart(page, "mrr", "chart.legend.legendItems.map(i => i.text)")
            assert isinstance(legend, list)
            assert len(legend) == 6
            page.screenshot(
                path=str(ARTIFACTS / f"reports-overview-{locale}-{width}.png"), full_page=True
            )
            page.goto("/dashboard/reports/mrr/?start=2026-01-01&end=2026-04-30&currency=BRL")
            expect(page.locator("canvas[data-testid=chart-mrr]")).to_have_attribute(
                "data-drawn", "1"
            )
            page.screenshot(
                path=str(ARTIFACTS / f"reports-mrr-{locale}-{width}.png"), full_page=True
            )
            assert page.refused == []  # type: ignore[attr-defined]
            page.context.close()


def test_a_range_change_redraws_and_the_xlsx_matches_the_table(
    browser: Browser, live_server
) -> None:  # type: ignore[no-untyped-def]
    with business():
        pass
    page = _open(browser, live_server, "en-US", 1280)
    page.goto(RANGE)
    assert _chart(page, "mrr", "chart.data.labels.length") == 4
    page.fill("[data-testid=range-start]", "2026-03-01")
    with page.expect_navigation():
        page.click("[data-testid=apply-range]")
    expect(page.locator("canvas[data-testid=chart-mrr]")).to_have_attribute("data-drawn", "1")
    assert _chart(page, "mrr", "chart.data.labels") == ["Mar 2026", "Apr 2026"]
    assert _chart(page, "mrr", "chart.data.datasets[5].data") == [65_000, 75_000]

    page.goto("/dashboard/reports/mrr/?start=2026-01-01&end=2026-04-30&currency=BRL")
    cells = page.locator("[data-testid=report-table] tbody tr").evaluate_all(
        "(rows) => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))"
    )
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    with open(info.value.path(), "rb") as downloaded:  # no .xlsx suffix: open the bytes
        book = load_workbook(io.BytesIO(downloaded.read()))
    rows = [[c.value for c in r] for r in book.active.iter_rows(min_row=2)]
    page.screenshot(path=str(ARTIFACTS / "reports-mrr-table.png"), full_page=True)
    page.context.close()

    assert len(rows) == len(cells) == 4
    for sheet_row, table_row in zip(rows, cells, strict=True):
        # MRR is the 8th column: the spreadsheet's reais are the table's text.
        assert Money(round(sheet_row[7] * 100), "BRL").format("en") == table_row[7]
        assert sheet_row[0].date() == date.fromisoformat(str(sheet_row[0])[:10])
