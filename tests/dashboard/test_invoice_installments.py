"""Splitting an open invoice into installments from the dashboard invoice page:
the schedule shown first is exactly what confirming writes."""

from __future__ import annotations

import re

import pytest

from billing.models import Installment, Invoice
from tenants.context import platform_access
from tests.dashboard.test_invoices import NOW, _member, _open, _paid, _signed_in, _url
from tests.support.billing import World, world

pytestmark = pytest.mark.django_db(transaction=True)

PART = re.compile(r'data-amount="(\d+)".*?data-due="(\d+)"', re.S)


def _open_annual(w: World, amount: int = 100_000, max_installments: int = 6) -> Invoice:
    plan = w.plan("annual", amount, interval="year", max_installments=max_installments)
    sub = w.subscribe(plan, collection_method="send_invoice")
    invoice = Invoice.objects.get(subscription=sub)
    assert invoice.status == Invoice.Status.OPEN
    return invoice


def _form(html: str) -> str:
    start = html.index('data-testid="installments-form"')
    return html[start : html.index("</form>", start)]


def _parts(invoice: Invoice) -> list[tuple[int, int]]:
    return [
        (p.amount_minor, int(p.due_at.timestamp()))
        for p in Installment.objects.filter(invoice=invoice).order_by("number")
    ]


def test_the_preview_is_what_confirming_writes() -> None:
    with world(NOW) as w:
        invoice = _open_annual(w, amount=100_001)
        owner = _signed_in("owner@acme.example")
        page = owner.get(f"/dashboard/invoices/{invoice.public_id}/").content.decode()
        form = _form(page)
        # The count select offers 2..the plan's maximum.
        assert re.findall(r'<option value="(\d+)"', form) == ["2", "3", "4", "5", "6"]

        preview = owner.post(_url("installments", invoice), {"count": "3"})
        assert preview.status_code == 200
        shown = [(int(a), int(d)) for a, d in PART.findall(_form(preview.content.decode()))]
        assert Installment.objects.filter(invoice=invoice).count() == 0  # nothing written yet
        # R$ 1.000,01 in 3: the odd centavos go to the first parts; monthly due dates.
        assert [a for a, _d in shown] == [33_334, 33_334, 33_333]
        assert sum(a for a, _d in shown) == invoice.amount_due_minor
        assert shown[0][1] < shown[1][1] < shown[2][1]
        assert 'data-testid="installments-confirm"' in preview.content.decode()

        done = owner.post(_url("installments", invoice), {"count": "3", "confirm": "1"})
        assert done.status_code == 302
        assert _parts(invoice) == shown
        page = owner.get(f"/dashboard/invoices/{invoice.public_id}/").content.decode()
        # Split once: the form is not offered again.
        assert 'data-testid="installments-form"' not in page


def test_refused_splits_show_an_error_and_change_nothing() -> None:
    with world(NOW) as w:
        invoice = _open_annual(w, max_installments=4)
        flat = _open_annual_no_installments(w)
        paid = _paid(w).invoice
        other = _open(w)
        owner = _signed_in("owner@acme.example")
        for target, body in [
            (invoice, {"count": "5"}),
            (invoice, {"count": "1"}),
            (invoice, {"count": "abc"}),
            (invoice, {}),
            (invoice, {"count": "5", "confirm": "1"}),
            (flat, {"count": "2", "confirm": "1"}),
            (paid, {"count": "2"}),
            (paid, {"count": "2", "confirm": "1"}),
            (other, {"count": "2", "confirm": "1"}),
        ]:
            response = owner.post(_url("installments", target), body)
            assert response.status_code == 400, (target.number, body)
            assert "errorlist" in _form(response.content.decode()), (target.number, body)
        # Already split: a second split is refused.
        assert (
            owner.post(_url("installments", invoice), {"count": "2", "confirm": "1"}).status_code
            == 302
        )
        again = owner.post(_url("installments", invoice), {"count": "3", "confirm": "1"})
        assert again.status_code == 400
        assert "errorlist" in _form(again.content.decode())
        assert len(_parts(invoice)) == 2
        assert Installment.objects.exclude(invoice=invoice).count() == 0
        page = owner.get(f"/dashboard/invoices/{paid.public_id}/").content.decode()
        assert 'data-testid="installments-form"' not in page


def _open_annual_no_installments(w: World) -> Invoice:
    plan = w.plan("flat", 50_000, interval="year")
    sub = w.subscribe(plan, collection_method="send_invoice")
    return Invoice.objects.get(subscription=sub)


def test_viewers_may_not_split() -> None:
    with world(NOW) as w:
        invoice = _open_annual(w)
        viewer = _member(w, "viewer")
        page = viewer.get(f"/dashboard/invoices/{invoice.public_id}/").content.decode()
        assert 'data-testid="installments-form"' not in page
        response = viewer.post(_url("installments", invoice), {"count": "2", "confirm": "1"})
        assert response.status_code == 403
        assert not Installment.objects.filter(invoice=invoice).exists()


def test_another_tenants_invoice_is_404() -> None:
    with world(NOW, slug="globex") as g:
        theirs = _open_annual(g)
    with world(NOW) as w:
        _open_annual(w)
        owner = _signed_in("owner@acme.example")
        for body in ({"count": "2"}, {"count": "2", "confirm": "1"}):
            assert owner.post(_url("installments", theirs), body).status_code == 404
    with platform_access():
        assert not Installment.objects.filter(invoice_id=theirs.pk).exists()
