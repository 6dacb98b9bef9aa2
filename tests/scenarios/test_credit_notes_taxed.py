"""Cancel with credit on taxed and discounted subscriptions: the credit note carries
subtotal, discount and tax, each line priced as the invoice priced it, and one note per
credited invoice per action. Hand-computed; São Paulo time, day precision (the day of
the change counts as unused)."""

from decimal import Decimal

import pytest

from billing import services as billing
from billing.models import BalanceTransaction, CreditNote
from tests.scenarios.helpers_lifecycle import balance, cancel, change, sp
from tests.scenarios.helpers_money import coupon
from tests.support.billing import ACTOR, world


def note_parts(note: CreditNote) -> tuple[int, int, int, int]:
    return (note.subtotal_minor, note.discount_minor, note.tax_minor, note.total_minor)


def line_parts(note: CreditNote) -> list[tuple[int, int, int, int, bool]]:
    return [
        (x.amount_minor, x.discount_minor, x.tax_minor, x.total_minor, x.tax_inclusive)
        for x in note.lines.all()
    ]


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_credit_of_an_exclusive_tax_line_is_priced_like_the_invoice(db, rounding):
    # Given R$99.90 monthly with ISS 5% on top from Jan 1: 9990 + 500 (499.5) = 10490
    with world(sp(2026, 1, 1, 12), rounding_mode=rounding) as w:
        plan = w.plan("pro", amount=9_990, tax_rate=w.tax("5"))
        customer = w.customer()
        sub = w.subscribe(plan, customer, collection_method="send_invoice")
        # When on Jan 19 it is canceled now with credit: Jan 19 .. Feb 1 = 13 of 31 days
        w.advance(sp(2026, 1, 19, 12))
        cancel(w, sub, prorate_credit=True)
        [note] = CreditNote.objects.filter(tenant=w.tenant)
        lines = line_parts(note)
        credited = balance(w, customer)
    # Then 9990 × 13/31 = 4189.35 -> 4189; tax 209.45 -> 209; total 4398
    # (the old way, 10490 × 13/31 = 4399.03 -> 4399, was a centavo more)
    assert note_parts(note) == (4_189, 0, 209, 4_398)
    assert lines == [(4_189, 0, 209, 4_398, False)]
    assert credited == 4_398


@pytest.mark.parametrize(
    ("rounding", "tax", "total"), [("half_even", 166, 3_496), ("half_up", 167, 3_497)]
)
def test_the_tax_of_the_credit_rounds_in_the_tenants_mode(db, rounding, tax, total):
    # Given R$99.90 + 5% from Apr 1 (a 30-day period), canceled on Apr 21: 10 of 30 days
    with world(sp(2026, 4, 1, 12), rounding_mode=rounding) as w:
        plan = w.plan("pro", amount=9_990, tax_rate=w.tax("5"))
        sub = w.subscribe(plan, collection_method="send_invoice")
        w.advance(sp(2026, 4, 21, 12))
        cancel(w, sub, prorate_credit=True)
        [note] = CreditNote.objects.filter(tenant=w.tenant)
    # Then 9990 × 10/30 = 3330; tax 166.5: half-even 166, half-up 167
    # (the old way gave 10490 × 10/30 = 3496.67 -> 3497 in both modes)
    assert note_parts(note) == (3_330, 0, tax, total)


@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_credit_of_an_inclusive_tax_line_with_a_coupon(db, rounding):
    # Given R$99.90 with 5% inside and 10% off forever from Jan 1:
    # discount 999, total 8991, tax inside 8991 - 8563 = 428
    with world(sp(2026, 1, 1, 12), rounding_mode=rounding) as w:
        plan = w.plan("pro", amount=9_990, tax_rate=w.tax("5", inclusive=True))
        coupon(w, "TEN", percent_off=Decimal(10), duration="forever")
        sub = w.subscribe(plan, coupon="TEN", collection_method="send_invoice")
        [invoice] = w.invoices(sub)
        # When canceled on Jan 15 with credit: Jan 15 .. Feb 1 = 17 of 31 days
        w.advance(sp(2026, 1, 15, 12))
        cancel(w, sub, prorate_credit=True)
        [note] = CreditNote.objects.filter(tenant=w.tenant)
        lines = line_parts(note)
    assert (invoice.subtotal_minor, invoice.discount_minor, invoice.tax_minor) == (9_990, 999, 428)
    assert invoice.total_minor == 8_991
    # Then 9990 × 17/31 = 5478.39 -> 5478; 10% 547.8 -> 548; net 4930; tax inside
    # 4930 - 4695.24 (-> 4695) = 235 (the old way: 8991 × 17/31 = 4930.55 -> 4931)
    assert note_parts(note) == (5_478, 548, 235, 4_930)
    assert lines == [(5_478, 548, 235, 4_930, True)]


def test_a_full_credit_equals_the_invoice_to_the_centavo(db):
    # Given R$123.45 + ISS 17% on top, 15% off, canceled the day it started
    with world(sp(2026, 1, 1, 12), rounding_mode="half_up") as w:
        plan = w.plan("pro", amount=12_345, tax_rate=w.tax("17"))
        coupon(w, "FIFTEEN", percent_off=Decimal(15), duration="forever")
        sub = w.subscribe(plan, coupon="FIFTEEN", collection_method="send_invoice")
        w.advance(sp(2026, 1, 1, 18))
        cancel(w, sub, prorate_credit=True)
        [invoice] = w.invoices(sub)
        [note] = CreditNote.objects.filter(tenant=w.tenant)
    # 12345 - 1851.75 (-> 1852) = 10493; 17% = 1783.81 -> 1784; total 12277
    assert (invoice.subtotal_minor, invoice.discount_minor, invoice.tax_minor) == (
        12_345,
        1_852,
        1_784,
    )
    assert (
        note_parts(note)
        == (12_345, 1_852, 1_784, 12_277)
        == (
            invoice.subtotal_minor,
            invoice.discount_minor,
            invoice.tax_minor,
            invoice.total_minor,
        )
    )
    assert invoice.credited_minor == invoice.total_minor


def test_a_100_percent_coupon_leaves_nothing_to_credit(db):
    with world(sp(2026, 1, 1, 12)) as w:
        plan = w.plan("pro", amount=9_990, tax_rate=w.tax("5"))
        coupon(w, "FREE", percent_off=Decimal(100), duration="forever")
        customer = w.customer()
        sub = w.subscribe(plan, customer, coupon="FREE", collection_method="send_invoice")
        w.advance(sp(2026, 1, 19, 12))
        cancel(w, sub, prorate_credit=True)
        [invoice] = w.invoices(sub)
        notes = CreditNote.objects.filter(tenant=w.tenant).count()
        credited = balance(w, customer)
    # The line: 9990 all off, no tax, total 0; 13/31 of it is 4189 - 4189 = 0
    assert (invoice.discount_minor, invoice.tax_minor, invoice.total_minor) == (9_990, 0, 0)
    assert (notes, credited) == (0, 0)


def test_one_credit_note_per_credited_invoice_per_action(db):
    # Given basic R$100 + 10% on top from Jan 15, upgraded on Feb 1 to pro R$250 + 10%,
    # invoiced at once (14 of 31 days): -4516 (tax -452) and +11290 (tax 1129)
    with world(sp(2026, 1, 15, 12)) as w:
        tax = w.tax("10")
        basic = w.plan("basic", amount=10_000, tax_rate=tax)
        pro = w.plan("pro", amount=25_000, tax_rate=tax)
        customer = w.customer()
        sub = w.subscribe(basic, customer, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        first, upgrade = w.invoices(sub)
        # When on Feb 8 it is canceled now with credit (7 days left of the period)
        w.advance(sp(2026, 2, 8, 12))
        cancel(w, sub, prorate_credit=True)
        notes = list(CreditNote.objects.filter(tenant=w.tenant).order_by("invoice_id"))
        lines = [line_parts(n) for n in notes]
        ledger = list(
            BalanceTransaction.objects.filter(tenant=w.tenant, credit_note__isnull=False)
            .order_by("id")
            .values_list("amount_minor", flat=True)
        )
    assert (first.total_minor, upgrade.total_minor) == (11_000, 7_451)
    # Then one note per invoice, the upgrade's with both of its lines:
    # first:   10000 × 7/31 = 2258.06 -> 2258; tax 225.8 -> 226; 2484
    # upgrade: -4516 × 7/14 = -2258, tax -225.8 -> -226; 11290 × 7/14 = 5645, tax 564.5
    #          -> 564 (half-even); 5645 + 564 - 2258 - 226 = 3725
    assert [n.invoice_id for n in notes] == [first.pk, upgrade.pk]
    assert lines[0] == [(2_258, 0, 226, 2_484, False)]
    assert lines[1] == [(-2_258, 0, -226, -2_484, False), (5_645, 0, 564, 6_209, False)]
    assert [note_parts(n) for n in notes] == [(2_258, 0, 226, 2_484), (3_387, 0, 338, 3_725)]
    assert ledger == [2_484, 3_725]


def test_a_credit_of_an_amount_is_split_like_the_invoice(db):
    # Given a paid-for R$100 + 10% invoice (11000), R$55 credited by hand
    with world(sp(2026, 1, 1, 12)) as w:
        plan = w.plan("pro", amount=10_000, tax_rate=w.tax("10"))
        sub = w.subscribe(plan, collection_method="send_invoice")
        [invoice] = w.invoices(sub)
        note = billing.credit_note_issue(
            tenant=w.tenant,
            invoice_id=invoice.pk,
            amount_minor=5_500,
            reason="Outage",
            actor=ACTOR,
            now=w.now,
        )
        lines = line_parts(note)
    # Then half the line: 5000 and its 500 of tax
    assert note_parts(note) == (5_000, 0, 500, 5_500)
    assert lines == [(5_000, 0, 500, 5_500, False)]
