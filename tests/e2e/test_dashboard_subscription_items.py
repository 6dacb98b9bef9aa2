"""A merchant adds an add-on to a customer's subscription with the exact preview
in sight (drawn by htmx as the form changes), changes its quantity and removes
it (issue 16 item 4); each page is photographed at phone and desktop widths."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from billing.models import Invoice
from billing.services import invoice_mark_paid
from subscriptions.models import SubscriptionItem
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.support.billing import ACTOR, utc, world

WIDTHS = {"desktop": 1280, "phone": 390}


def _shots(page: Page, name: str) -> None:
    """Both widths, under test-artifacts/e2e/addons/."""
    folder = ARTIFACTS / "addons"
    folder.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(folder / f"addons-{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_merchant_adds_an_addon_changes_its_quantity_and_removes_it(page: Page) -> None:
    # Basic R$100 a month from Mar 10 at noon; on Mar 26, 15 of the period's 31 days remain.
    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic")
        storage = w.plan(
            "storage", 3_100, name="Extra storage", pricing_model="per_seat", setup_fee_minor=500
        )
        w.plan("support", 4_650, name="Priority support")
        sub = w.subscribe(basic, w.customer("Ana Souza"))
        for invoice in w.invoices(sub):
            invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        w.advance(utc(2026, 3, 26, 12))

        log_in(page, "owner@acme.example")
        page.goto(f"/dashboard/subscriptions/{sub.public_id}/")
        expect(page.get_by_test_id("addons-empty")).to_be_visible()
        _shots(page, "empty")

        # Add: choosing the plan and quantity draws the preview (htmx), nothing saved yet.
        page.get_by_test_id("addon-add-link").click()
        form = page.get_by_test_id("item-form")
        form.get_by_label("Add-on plan").select_option(storage.public_id)
        form.get_by_label("Quantity").fill("2")
        form.get_by_label("Quantity").dispatch_event("change")
        # 2 × 31.00 × 15/31 = 30.00, and the 5.00 setup fee.
        expect(page.get_by_test_id("preview-total")).to_have_text("R$35.00")
        expect(page.get_by_test_id("item-preview")).to_contain_text("Setup fee – Extra storage")
        assert not SubscriptionItem.objects.filter(subscription=sub).exists()
        _shots(page, "add-preview")
        page.get_by_test_id("confirm-button").click()
        expect(page.locator(".msg.success")).to_contain_text("The add-on is added.")
        item = SubscriptionItem.objects.get(subscription=sub)
        row = page.get_by_test_id(f"addon-{item.public_id}")
        expect(row.get_by_test_id("addon-quantity")).to_have_text("2")
        expect(row.get_by_test_id("addon-amount")).to_contain_text("R$62.00")
        _shots(page, "listed")

        # Quantity 2 → 3: a credit for two seats' unused part, a charge for three.
        row.get_by_test_id("addon-quantity-link").click()
        page.get_by_label("Quantity").fill("3")
        page.get_by_test_id("preview-button").click()
        expect(page.get_by_test_id("preview-total")).to_have_text("R$15.00")
        assert SubscriptionItem.objects.get(pk=item.pk).quantity == 2
        _shots(page, "quantity-preview")
        page.get_by_test_id("confirm-button").click()
        expect(page.locator(".msg.success")).to_contain_text("quantity is changed")
        expect(row.get_by_test_id("addon-quantity")).to_have_text("3")

        # Remove: 3 × 31.00 × 15/31 = 45.00 back to the customer's balance.
        row.get_by_test_id("addon-remove-link").click()
        page.get_by_test_id("preview-button").click()
        expect(page.get_by_test_id("preview-total")).to_have_text("-R$45.00")
        expect(page.get_by_test_id("preview-carried")).to_contain_text("R$45.00")
        _shots(page, "remove-preview")
        page.get_by_test_id("confirm-button").click()
        expect(page.locator(".msg.success")).to_contain_text("The add-on is removed.")
        expect(page.get_by_test_id("addons-empty")).to_be_visible()
        assert SubscriptionItem.objects.get(pk=item.pk).ended_at == w.now
        totals = list(
            Invoice.objects.filter(subscription=sub)
            .order_by("pk")
            .values_list("total_minor", flat=True)
        )
    # The first invoice, then the add (3_500), the quantity change (1_500) and the
    # removal (its 4_500 credit carried to the balance: 0).
    assert totals == [10_000, 3_500, 1_500, 0]


def test_the_subscriber_sees_the_addons_in_the_portal(page: Page) -> None:
    from customers.portal_links import portal_token

    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic")
        storage = w.plan("storage", 3_100, name="Extra storage", pricing_model="per_seat")
        support = w.plan("support", 4_650, name="Priority support")
        ana = w.customer("Ana Souza")
        sub = w.subscribe(
            basic, ana, items=[(storage, 3), (support, 1)], collection_method="send_invoice"
        )
        page.goto(f"/t/{w.tenant.slug}/enter/{portal_token(ana)}/")
        page.goto(f"/t/{w.tenant.slug}/subscriptions/{sub.public_id}/")
        addons = page.get_by_test_id("portal-addons")
        expect(addons).to_contain_text("Extra storage × 3")
        expect(addons).to_contain_text("Priority support")
        _shots(page, "portal")
