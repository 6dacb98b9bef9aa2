"""The Overview's charts, the Reports pages, their exports and the API, on the
hand-computed business (tests/reports/fixtures.py); roles and bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from core import clock
from tenants.services import api_key_create
from tests.dashboard.helpers import add_member, signed_in
from tests.reports.fixtures import business
from tests.support.billing import ACTOR

pytestmark = pytest.mark.django_db
RANGE = "start=2026-01-01&end=2026-04-30&currency=BRL"


def test_the_overview_draws_the_five_movements_and_the_mrr() -> None:
    with business() as b:
        page = signed_in("owner@acme.example").get(f"/?{RANGE}")

    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('<script id="chart-mrr"')
    spec = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    by_key = {d["key"]: d["data"] for d in spec["datasets"]}
    assert by_key["new"] == [75_000, 0, 0, 0]
    assert by_key["churn"] == [0, -10_000, 0, 0]
    assert by_key["mrr"] == [75_000, 70_000, 65_000, 75_000]
    assert spec["labels"] == ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]
    for chart in ("mrr", "customers", "churn", "trials"):
        assert f'data-testid="chart-{chart}"' in html
    # No charge attempt in this business (it pays by invoice): said, not drawn empty.
    assert 'data-testid="chart-payments-empty"' in html
    assert b.w.tenant.default_currency == "BRL"


def test_support_without_reports_view_gets_no_charts_and_403_on_reports() -> None:
    with business(until_april=False) as b:
        add_member(b.w.tenant, "help@acme.example", "support")
        support = signed_in("help@acme.example")
        home = support.get(f"/?{RANGE}")
        pages = [
            support.get(url).status_code
            for url in (
                "/dashboard/reports/",
                "/dashboard/reports/mrr/",
                "/dashboard/reports/mrr/export.csv",
            )
        ]

    assert home.status_code == 200
    assert b'data-testid="chart-mrr"' not in home.content
    assert pages == [403, 403, 403]


def test_each_report_page_renders_and_an_unknown_one_is_404() -> None:
    with business(until_april=False) as b:
        owner = signed_in("owner@acme.example")
        from reports.catalog import REPORTS

        codes = {
            r.slug: owner.get(f"/dashboard/reports/{r.slug}/?{RANGE}").status_code for r in REPORTS
        }
        cohorts = owner.get(f"/dashboard/reports/cohorts/?{RANGE}").content.decode()
        missing = owner.get("/dashboard/reports/nope/").status_code
        bad_format = owner.get("/dashboard/reports/mrr/export.pdf").status_code
        bad_range = owner.get("/dashboard/reports/mrr/?start=2026-05-01&end=2026-01-01")
        bad_export = owner.get("/dashboard/reports/mrr/export.csv?start=yesterday")
        del b

    assert set(codes.values()) == {200}
    # The triangle: January's 6 customers, then 83.3 % (5 of 6) in M1.
    assert 'data-testid="cohort-triangle"' in cohorts
    assert "83.3%" in cohorts
    assert (missing, bad_format) == (404, 404)
    assert b"Give dates as From on or before To" in bad_range.content
    assert bad_export.status_code == 400


def test_csv_and_xlsx_exports_hold_the_table() -> None:
    with business() as b:
        owner = signed_in("owner@acme.example")
        got_csv = owner.get(f"/dashboard/reports/mrr/export.csv?{RANGE}")
        got_xlsx = owner.get(f"/dashboard/reports/mrr/export.xlsx?{RANGE}")
        del b

    rows = list(csv.reader(io.StringIO(got_csv.content.decode())))
    assert rows[0][:3] == ["Period", "New business (BRL)", "Expansion (BRL)"]
    # February: expansion R$150,00, contraction and churn −R$100,00 each; MRR R$700,00.
    assert rows[2] == [
        "2026-02-01",
        "0.00",
        "150.00",
        "-100.00",
        "-100.00",
        "0.00",
        "-50.00",
        "700.00",
        "8400.00",
    ]
    sheet = load_workbook(io.BytesIO(got_xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [float(v[7]) for v in values] == [750.0, 700.0, 650.0, 750.0]
    assert got_xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_api_answers_the_same_rows_and_refuses_bad_input() -> None:
    with business() as b:
        key = api_key_create(tenant=b.w.tenant, name="r", actor=ACTOR, now=clock.now())
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
        mrr = client.get(f"/api/v1/reports/mrr?{RANGE}")
        churn = client.get(f"/api/v1/reports/churn?{RANGE}")
        bad = client.get("/api/v1/reports/mrr?grain=year")
        bad_currency = client.get("/api/v1/reports/mrr?currency=XYZ")

    body = mrr.json()
    assert [row["mrr"] for row in body["data"]] == [75_000, 70_000, 65_000, 75_000]
    assert body["data"][1]["period"] == "2026-02-01"
    assert churn.json()["data"][1]["logo_churn"] == "0.1667"
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "grain"
    assert bad_currency.json()["error"]["param"] == "currency"


def test_another_tenants_api_key_sees_none_of_these_numbers() -> None:
    from tests.conftest import make_tenant

    with business() as b:
        other = make_tenant("globex")
        got = other.client().get(f"/api/v1/reports/mrr?{RANGE}").json()
        del b

    assert [row["mrr"] for row in got["data"]] == [0, 0, 0, 0]
