"""The fulfilment page (issue 17): list and filter the boxes, pack in bulk, ship
with a tracking code, deliver, cancel, and the packing list as CSV and PDF; bad
input changes nothing, another tenant's order is a 404, a viewer cannot act."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from billing.models import FulfilmentOrder, Invoice
from billing.services import invoice_mark_paid
from subscriptions.models import Plan
from tenants.context import platform_access
from tenants.permissions import Role
from tests.billing.test_fulfilment import ADDRESS, NOW, _box_plan
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR, World, world

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/dashboard/fulfilment/"


def _order(w: World, name: str = "Beatriz Lima") -> FulfilmentOrder:
    """A paid period of the world's box plan (made once) for a new customer."""

    plan = Plan.objects.filter(tenant=w.tenant, code="box").first() or _box_plan(w)
    customer = w.customer(name)
    customer.address = ADDRESS
    customer.save(update_fields=["address"])
    sub = w.subscribe(plan, customer)
    invoice = Invoice.objects.get(subscription=sub)
    invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=NOW)
    return FulfilmentOrder.objects.get(subscription=sub)


def _snapshot() -> list[tuple[object, ...]]:
    with platform_access():
        return list(
            FulfilmentOrder.objects.order_by("pk").values_list(
                "pk", "status", "carrier", "tracking_code", "packed_at", "shipped_at"
            )
        )


def test_empty_state_says_what_to_do() -> None:
    with world(NOW, locale="en"):
        page = signed_in("owner@acme.example").get(URL)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-testid="fulfilment-empty"' in html
        assert "shipping goods" in html
        assert 'href="/dashboard/fulfilment/"' in html  # in the sidebar


def test_list_filter_bulk_pack_ship_deliver_cancel() -> None:
    with world(NOW, locale="en") as w:
        first, second = _order(w), _order(w, "Caio Souza")
        owner = signed_in("owner@acme.example")
        html = owner.get(URL).content.decode()
        for o in (first, second):
            assert f'data-testid="order-{o.public_id}"' in html
        assert "Beatriz Lima" in html
        assert "Rua Augusta, 1500" in html
        assert "box" in html

        # An unknown status or a mangled cursor is the whole first page, never a 500.
        for query in ("?status=lost", "?after=garbage"):
            fallback = owner.get(URL + query)
            assert fallback.status_code == 200
            assert f"order-{second.public_id}" in fallback.content.decode()

        response = owner.post(URL + "pack/", {"orders": [first.public_id], "status": "pending"})
        assert response.status_code == 302
        assert response["Location"] == URL + "?status=pending"
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("packed", "pending")

        packed = owner.get(URL + "?status=packed").content.decode()
        assert f"order-{first.public_id}" in packed
        assert f"order-{second.public_id}" not in packed
        pending = owner.get(URL + "?status=pending").content.decode()
        assert f"order-{second.public_id}" in pending
        assert f"order-{first.public_id}" not in pending

        response = owner.post(
            URL + "ship/",
            {"order": first.public_id, "carrier": "Correios", "tracking_code": "BR123456789BR"},
        )
        assert response.status_code == 302
        first.refresh_from_db()
        assert (first.status, first.carrier, first.tracking_code) == (
            "shipped",
            "Correios",
            "BR123456789BR",
        )
        assert owner.post(URL + "deliver/", {"order": first.public_id}).status_code == 302
        assert owner.post(URL + "cancel/", {"order": second.public_id}).status_code == 302
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("delivered", "canceled")

        # A delivered box cannot be canceled: the refusal shows on its row.
        refused = owner.post(URL + "cancel/", {"order": first.public_id})
        assert refused.status_code == 400
        assert f'data-testid="status-error-{first.public_id}"' in refused.content.decode()
        first.refresh_from_db()
        assert first.status == "delivered"

        # Packing nothing is refused next to the bulk action.
        nothing = owner.post(URL + "pack/", {})
        assert nothing.status_code == 400
        assert 'data-testid="bulk-error"' in nothing.content.decode()


def test_a_bad_tracking_code_is_shown_next_to_the_field_and_changes_nothing() -> None:
    with world(NOW, locale="en") as w:
        order = _order(w)
        owner = signed_in("owner@acme.example")
        before = _snapshot()
        for bad in ("", "   ", "A" * 101, "AB\x00C"):
            page = owner.post(
                URL + "ship/",
                {"order": order.public_id, "carrier": "Correios", "tracking_code": bad},
            )
            assert page.status_code == 400
            html = page.content.decode()
            assert f'data-testid="tracking-error-{order.public_id}"' in html
            assert 'value="Correios"' in html  # what was typed is kept
        long_carrier = owner.post(
            URL + "ship/", {"order": order.public_id, "carrier": "C" * 61, "tracking_code": "X1"}
        )
        assert long_carrier.status_code == 400
        assert f'data-testid="carrier-error-{order.public_id}"' in long_carrier.content.decode()
        assert _snapshot() == before


def test_another_tenants_order_is_not_found_and_a_viewer_cannot_act() -> None:
    with world(NOW, slug="globex", locale="en") as other:
        theirs = _order(other)
    with world(NOW, locale="en") as w:
        mine = _order(w)
        add_member(w.tenant, "viewer@acme.example", Role.VIEWER)
        owner = signed_in("owner@acme.example")
        before = _snapshot()
        for path, data in (
            ("ship/", {"order": theirs.public_id, "tracking_code": "X1"}),
            ("deliver/", {"order": theirs.public_id}),
            ("cancel/", {"order": theirs.public_id}),
            ("pack/", {"orders": [mine.public_id, theirs.public_id]}),
        ):
            assert owner.post(URL + path, data).status_code == 404, path
        assert theirs.public_id not in owner.get(URL).content.decode()
        assert theirs.public_id not in owner.get(URL + "packing-list/?format=csv").content.decode()

        viewer = signed_in("viewer@acme.example")
        page = viewer.get(URL)
        assert page.status_code == 200
        assert mine.public_id in page.content.decode()
        assert 'data-testid="bulk-pack"' not in page.content.decode()
        for path, data in (
            ("ship/", {"order": mine.public_id, "tracking_code": "X1"}),
            ("deliver/", {"order": mine.public_id}),
            ("cancel/", {"order": mine.public_id}),
            ("pack/", {"orders": [mine.public_id]}),
        ):
            assert viewer.post(URL + path, data).status_code == 403, path
        assert _snapshot() == before


def test_packing_list_csv_and_pdf_of_the_filtered_orders() -> None:
    with world(NOW, locale="en") as w:
        shipped, pending = _order(w), _order(w, "Caio Souza")
        owner = signed_in("owner@acme.example")
        owner.post(URL + "ship/", {"order": shipped.public_id, "tracking_code": "BR1BR"})

        response = owner.get(URL + "packing-list/?status=pending&format=csv")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:4] == ["Order", "Customer", "Ship to", "Address"]
        assert len(rows) == 2
        row = rows[1]
        assert row[0] == pending.public_id
        assert row[1] == "Caio Souza"
        assert row[3] == "Rua Augusta, 1500 / Consolação / São Paulo – SP / 01304-001"
        assert row[5] == "2 x Café 250 g / 1 x Caneca"
        assert row[9] == "Pending"
        assert (row[7], row[8]) == ("2026-06-01", "2026-07-01")  # São Paulo dates

        # A name typed as a formula stays text in a spreadsheet.
        FulfilmentOrder.objects.filter(pk=pending.pk).update(ship_to_name="=HYPERLINK(1)")
        again = owner.get(URL + "packing-list/?status=pending&format=csv").content.decode()
        assert list(csv.reader(io.StringIO(again)))[1][2] == "'=HYPERLINK(1)"

        pdf = owner.get(URL + "packing-list/?format=pdf")
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        pages = PdfReader(io.BytesIO(pdf.content)).pages
        # Table cells wrap: compare with whitespace collapsed.
        text = " ".join(" ".join(p.extract_text() for p in pages).split())
        assert "Rua Augusta, 1500" in text
        assert "São Paulo – SP" in text
        assert "2 x Café 250 g" in text
        assert shipped.public_id in text
        assert pending.public_id in text
