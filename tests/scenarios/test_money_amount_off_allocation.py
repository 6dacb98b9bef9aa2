"""Issue 16 item 3: an amount-off coupon spread over several lines of one invoice.

The amount is allocated explicitly: to the lines it applies to (recurring and/or
setup fee, each positive), in proportion to their amounts, each share rounded
once (half-even here), and the rounding remainder — the amount less the sum of
the rounded shares, positive or negative — put on the largest line (the first of
equals). What is larger than the lines carries to the next invoices, where it is
spread the same way. Every share is shown on its line (API, dashboard, PDF).

The invoices: basic R$100/month with a R$15 setup fee, plus the add-on storage
(R$31 a seat, 2 seats, R$5 setup) as a subscription item; São Paulo time.
"""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from billing.models import CouponRedemption, Invoice
from billing.pdf import render_invoice_pdf
from billing.subscriptions import subscription_preview_create
from core import clock
from core.actors import Actor
from core.money import Money
from tenants.context import tenant_context
from tenants.services import api_key_create
from tests.api.helpers import client_for
from tests.scenarios.helpers_lifecycle import doc, lines, sp, spans
from tests.scenarios.helpers_money import coupon
from tests.support.billing import World, world


def _catalog(w: World):
    basic = w.plan("basic", amount=10_000, setup_fee_minor=1_500)
    storage = w.plan("storage", amount=3_100, pricing_model="per_seat", setup_fee_minor=500)
    return basic, storage


@pytest.mark.parametrize(
    ("precision", "basic_line", "storage_line", "shares"),
    [
        # Bought Jan 10 at 18:00 with billing day 1: the first period runs to Feb 1
        # 00:00, prorated against [Jan 1, Feb 1) = 31 days.
        # By day: Jan 10 .. Jan 31 = 22 of 31 days:
        #   basic 10000 × 22/31 = 7096.77 → 7097; storage 6200 × 22/31 = 4400.
        #   Lines the coupon applies to: 7097 + 4400 + 1500 + 500 = 13497.
        #   R$49.10 = 4910 × each / 13497:
        #     basic 2581.779 → 2582; storage 1600.652 → 1601;
        #     setup 545.677 → 546; storage setup 181.892 → 182. Sum 4911:
        #   remainder 4910 - 4911 = -1 on the largest line, basic: 2581.
        #   (In line order, as before: all 4910 on basic.)
        pytest.param("day", 7_097, 4_400, [2_581, 1_601, 546, 182], id="day"),
        # By second: Jan 10 18:00 → Feb 1 00:00 = 21.25 of 31 days:
        #   basic 10000 × 21.25/31 = 6854.84 → 6855; storage 6200 × 21.25/31 = 4250.
        #   Applies to 6855 + 4250 + 1500 + 500 = 13105. 4910 × each / 13105:
        #     basic 2568.337 → 2568; storage 1592.331 → 1592;
        #     setup 561.999 → 562; storage setup 187.333 → 187. Sum 4909:
        #   remainder +1 on basic: 2569.
        pytest.param("second", 6_855, 4_250, [2_569, 1_592, 562, 187], id="second"),
    ],
)
def test_amount_off_spread_over_base_addon_and_setup_fees(
    db, precision, basic_line, storage_line, shares
):
    # Given basic + 2 seats of storage and a coupon of R$49.10 off once, on both fees
    with world(sp(2026, 1, 10, 18), proration_precision=precision) as w:
        basic, storage = _catalog(w)
        coupon(w, "R4910", amount_off_minor=4_910, currency="BRL", applies_to="both")
        customer = w.customer()
        options = {
            "items": [(storage, 2)],
            "anchor_day": 1,
            "coupon": "R4910",
            "collection_method": "send_invoice",
        }
        preview = subscription_preview_create(
            tenant=w.tenant, customer=customer, plan=basic, now=w.now, **options
        )
        # When the customer subscribes
        sub = w.subscribe(basic, customer=customer, **options)
        # And the first renewal passes
        w.advance(sp(2026, 2, 2, 0))
        first, renewal = w.invoices(sub)
    # Then the coupon is spread over the four lines, its remainder on basic
    amounts = [basic_line, storage_line, 1_500, 500]
    kinds = ["recurring", "recurring", "setup_fee", "setup_fee"]
    quantities = [1, 2, 1, 1]
    expected = [
        (kind, qty, amount, off, 0, amount - off)
        for kind, qty, amount, off in zip(kinds, quantities, amounts, shares, strict=True)
    ]
    assert lines(first) == expected
    assert sum(shares) == 4_910
    subtotal = sum(amounts)  # 13497 by day, 13105 by second
    assert doc(first)[2:8] == (
        "subscription_create",
        "open",
        subtotal,
        4_910,
        0,
        subtotal - 4_910,  # 8587 by day, 8195 by second
    )
    assert spans(first)[:2] == [
        ("recurring", "2026-01-10 18:00", "2026-02-01 00:00"),
        ("recurring", "2026-01-10 18:00", "2026-02-01 00:00"),
    ]
    # And the preview showed exactly those lines
    assert [
        (p.kind, p.quantity, p.amount_minor, p.discount_minor, p.tax_minor, p.total_minor)
        for p in preview.lines
    ] == expected
    assert preview.total_minor == first.total_minor
    # And the coupon, once, is used up: the renewal bills both items whole
    assert lines(renewal) == [
        ("recurring", 1, 10_000, 0, 0, 10_000),
        ("recurring", 2, 6_200, 0, 0, 6_200),
    ]


def test_amount_off_larger_than_the_lines_carries_and_is_spread_again(db):
    # Given basic + 2 seats of storage bought Jan 10 at 18:00 (anniversary billing)
    # and R$400 off once, on the recurring fees only
    with world(sp(2026, 1, 10, 18)) as w:
        basic, storage = _catalog(w)
        coupon(w, "R400", amount_off_minor=40_000, currency="BRL", applies_to="recurring")
        sub = w.subscribe(
            basic,
            items=[(storage, 2)],
            coupon="R400",
            collection_method="send_invoice",
        )
        carried = [CouponRedemption.objects.get(subscription=sub).carried_minor]
        # When three renewals pass
        for month in (2, 3, 4):
            w.advance(sp(2026, month, 10, 18))
            carried.append(CouponRedemption.objects.get(subscription=sub).carried_minor)
        got = w.invoices(sub)
    # Then the first invoice takes 16200 off its recurring lines (the setup fees,
    # not covered, are paid): 40000 - 16200 = 23800 carries
    assert lines(got[0]) == [
        ("recurring", 1, 10_000, 10_000, 0, 0),
        ("recurring", 2, 6_200, 6_200, 0, 0),
        ("setup_fee", 1, 1_500, 0, 0, 1_500),
        ("setup_fee", 1, 500, 0, 0, 500),
    ]
    # The first renewal takes 16200 again: 23800 - 16200 = 7600 carries
    assert lines(got[1]) == [
        ("recurring", 1, 10_000, 10_000, 0, 0),
        ("recurring", 2, 6_200, 6_200, 0, 0),
    ]
    # The second renewal spreads the 7600 left over its two lines (16200):
    #   basic 7600 × 10000/16200 = 4691.358 → 4691; storage 7600 × 6200/16200 =
    #   2908.642 → 2909; sum 7600, no remainder. Total 16200 - 7600 = 8600.
    assert lines(got[2]) == [
        ("recurring", 1, 10_000, 4_691, 0, 5_309),
        ("recurring", 2, 6_200, 2_909, 0, 3_291),
    ]
    assert got[2].total_minor == 8_600
    # And the third is whole
    assert [doc(i)[7] for i in got] == [2_000, 0, 8_600, 16_200]
    assert carried == [23_800, 7_600, 0, 0]


# --- shown per line ---------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(
        r"[\s\u00a0\u202f]+", " ", "\n".join(p.extract_text() or "" for p in reader.pages)
    )


def test_each_lines_share_is_shown_on_the_api_the_dashboard_and_the_pdf(db):
    # Given the first invoice of the by-day scenario above (shares 2581, 1601, 546, 182)
    with world(sp(2026, 1, 10, 18)) as w:
        basic, storage = _catalog(w)
        coupon(w, "R4910", amount_off_minor=4_910, currency="BRL", applies_to="both")
        sub = w.subscribe(
            basic,
            items=[(storage, 2)],
            anchor_day=1,
            coupon="R4910",
            collection_method="send_invoice",
        )
        [invoice] = w.invoices(sub)
        pdf = render_invoice_pdf(invoice=Invoice.objects.get(pk=invoice.pk))
        key = api_key_create(tenant=w.tenant, name="t", actor=Actor.system("t"), now=clock.now())
        tenant = w.tenant
    shares = [2_581, 1_601, 546, 182]
    # When the API reads the invoice
    body = client_for(key.raw).get(f"/api/v1/invoices/{invoice.public_id}").json()
    # Then each line carries its share, and the invoice their sum
    assert [ln["discount_minor"] for ln in body["lines"]] == shares
    assert body["discount_minor"] == 4_910
    # And the dashboard's invoice page shows each share in its line's row
    owner = get_user_model().objects.get(email="owner@acme.example")
    web = Client()
    web.force_login(owner)
    with tenant_context(tenant):
        page = web.get(reverse("dashboard:invoice", args=[invoice.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    for share in shares:
        assert f"−{Money(share, 'BRL').format('en')}" in html
    # And so does the PDF (in the tenant's language)
    text = _pdf_text(pdf)
    for share in shares:
        assert re.sub(r"[\s\u00a0\u202f]+", " ", Money(-share, "BRL").format("pt-br")) in text
