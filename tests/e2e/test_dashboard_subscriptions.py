"""A merchant changes a customer's plan with the exact preview in sight, cancels
at the period end and undoes it; the pages are photographed in en and pt-BR at
desktop and phone widths (issue 13 item 3)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from billing.services import invoice_mark_paid
from customers.models import PaymentMethod
from subscriptions.models import ScheduledChange, Subscription
from tests.e2e.conftest import log_in
from tests.support.billing import ACTOR, utc, world

WIDTHS = {"desktop": 1280, "phone": 390}


def _shots(page: Page, name: str) -> None:
    """Every width, saved under $CICLO_ARTIFACTS_DIR/screens/ when it is set."""
    target = os.environ.get("CICLO_ARTIFACTS_DIR")
    if not target:
        return
    folder = Path(target) / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    lang = page.locator("html").get_attribute("lang") or "en"
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(
            path=str(folder / f"subscriptions-{name}-{lang}-{label}.png"), full_page=True
        )
    page.set_viewport_size({"width": 1280, "height": 800})


def test_merchant_changes_a_plan_then_cancels_at_period_end_and_undoes_it(page: Page) -> None:
    with world(utc(2026, 3, 10, 12)) as w:
        basic = w.plan("basic", 10_000, name="Basic", max_pauses=1, max_pause_cycles=2)
        seats = w.plan("team", 4_000, name="Team", pricing_model="per_seat")
        customer = w.customer("Ana Souza")
        PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=customer,
            kind="card",
            gateway="sandbox",
            token="tok",
            brand="visa",
            last4="4242",
        )
        sub = w.subscribe(basic, customer)
        for invoice in w.invoices(sub):
            invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        w.advance(utc(2026, 3, 25, 12))  # half way through the period: a real proration

        log_in(page, "owner@acme.example")
        page.goto("/dashboard/subscriptions/")
        expect(page.get_by_test_id("subscription-rows")).to_contain_text("Ana Souza")
        _shots(page, "list")
        page.get_by_test_id(f"open-{sub.public_id}").click()
        expect(page.get_by_test_id("sub-status")).to_have_text("Active")
        expect(page.get_by_test_id("next-invoice-total")).to_contain_text("R$100.00")
        _shots(page, "detail")

        # Change: the preview shows the exact amount before anything is saved.
        page.get_by_test_id("change-link").click()
        form = page.get_by_test_id("change-form")
        form.get_by_label("Plan").select_option(seats.public_id)
        form.get_by_label("Quantity").fill("3")
        form.get_by_label("Proration").select_option("invoice_now")
        page.get_by_test_id("preview-button").click()
        total = page.get_by_test_id("preview-total")
        expect(total).to_be_visible()
        shown = total.inner_text()
        assert shown.startswith("R$")
        assert shown != "R$0.00"
        assert Subscription.objects.get(pk=sub.pk).plan_id == basic.pk
        _shots(page, "change-preview")
        page.get_by_test_id("confirm-button").click()
        expect(page.locator(".msg.success")).to_contain_text("The subscription is changed.")
        changed = Subscription.objects.get(pk=sub.pk)
        assert (changed.plan_id, changed.quantity) == (seats.pk, 3)

        # Cancel at the period end, then undo it.
        cancel = page.get_by_test_id("cancel-form")
        cancel.get_by_label("When").select_option("period_end")
        cancel.get_by_role("button", name="Cancel the subscription").click()
        expect(page.get_by_test_id("scheduled-cancel")).to_be_visible()
        assert ScheduledChange.objects.filter(subscription=sub, kind="cancel", status="pending")
        _shots(page, "cancel-scheduled")
        page.get_by_test_id("undo-cancel").click()
        expect(page.locator(".msg.success")).to_contain_text("undone")
        expect(page.get_by_test_id("scheduled-cancel")).to_have_count(0)
        assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()

        # The same pages in Portuguese.
        with page.expect_navigation():
            page.select_option("select[name=language]", "pt-br")
        expect(page.locator("html")).to_have_attribute("lang", "pt-br")
        expect(page.get_by_test_id("next-invoice-total")).to_contain_text("R$")
        _shots(page, "detail")
        page.goto("/dashboard/subscriptions/")
        _shots(page, "list")
        page.goto(f"/dashboard/subscriptions/{sub.public_id}/change/")
        page.fill("input[name=quantity]", "4")
        page.get_by_test_id("preview-button").click()
        expect(page.get_by_test_id("preview-total")).to_contain_text("R$")
        _shots(page, "change-preview")
