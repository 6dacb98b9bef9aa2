"""A merchant readjusts a contract by IPCA in the browser: enters a series
(a month typed, the rest from a CSV — a bad CSV first, refused line by line),
sets the plan's policy, sees the contract on the due list with its old price,
factor and new price, applies it, and sees the new price on the subscription."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from core import clock
from core.localtime import local_date
from customers.models import Customer
from subscriptions.domain.readjustment import add_months, index_months
from subscriptions.models import IndexValue, Readjustment
from tenants.context import tenant_context
from tenants.models import Event
from tests.e2e.conftest import log_in
from tests.support.billing import world

# IPCA 2023 (IBGE), percent per month, compounded +4.6211 %; used here for the 12
# months the contract's date needs (the real months of 2026 are not all published).
IPCA_2023 = ["0.53", "0.84", "0.71", "0.61", "0.23", "-0.08"]
IPCA_2023 += ["0.12", "0.23", "0.26", "0.24", "0.28", "0.56"]


def test_merchant_readjusts_a_contract_by_ipca(page: Page) -> None:
    now = clock.now()
    # The contract started 355 days ago: its anniversary is ten or eleven days away.
    with world(now - timedelta(days=355)) as w:
        plan = w.plan("pro", 9_990, name="Pro")
        # A live customer (no test clock): the due list reads the real time.
        ana = Customer.objects.create(tenant=w.tenant, name="Ana Souza")
        sub = w.subscribe(plan, ana, collection_method="send_invoice")
        due = add_months(local_date(sub.start_at, w.tenant.time_zone), 12)
        months = index_months(due)
        tenant = w.tenant

    log_in(page, "owner@acme.example")
    page.goto("/dashboard/readjustments/")
    expect(page.get_by_test_id("rdj-none")).to_be_visible()

    # An index series, its first month typed.
    page.goto("/dashboard/readjustments/series/")
    page.select_option("select[name=kind]", "ipca")
    page.fill("input[name=name]", "IPCA")
    page.get_by_test_id("series-form").locator("button[type=submit]").click()
    page.fill("input[name=month]", f"{months[0]:%Y-%m}")
    page.fill("input[name=rate]", IPCA_2023[0])
    page.get_by_test_id("value-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id(f"value-{months[0]:%Y-%m}")).to_contain_text("0.53")

    # A CSV with a 13th month and a word for a rate: both lines named, nothing imported.
    bad = f"month,rate\n{months[1]:%Y}-13,0.84\n{months[2]:%Y-%m},abc\n"
    page.set_input_files(
        "input[name=file]", {"name": "ipca.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.get_by_test_id("csv-form").locator("button[type=submit]").click()
    errors = page.get_by_test_id("csv-errors")
    expect(errors.locator("li[data-line='2']")).to_be_visible()
    expect(errors.locator("li[data-line='3']")).to_be_visible()
    with tenant_context(tenant):
        assert IndexValue.objects.filter(tenant=tenant).count() == 1

    good = "month;rate\n" + "".join(
        f"{m:%Y-%m};{r.replace('.', ',')}\n" for m, r in zip(months[1:], IPCA_2023[1:], strict=True)
    )
    page.set_input_files(
        "input[name=file]", {"name": "ipca.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    page.get_by_test_id("csv-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("series-values").locator("tbody tr")).to_have_count(12)

    # The plan's policy: by IPCA, every 12 months, floor 0 %, cap 10 %.
    page.goto("/dashboard/readjustments/policies/")
    form = page.get_by_test_id("policy-form")
    form.locator("select[name=plan]").select_option("pro")
    form.locator("input[name=method][value=index]").check()
    form.locator("select[name=series]").select_option(label="IPCA")
    form.locator("input[name=floor_percent]").fill("0")
    form.locator("input[name=cap_percent]").fill("10")
    form.locator("input[name=applies_to][value=recurring_and_add_ons]").check()
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("policy-pro")).to_contain_text("IPCA")
    expect(page.get_by_test_id("policy-applies-pro")).to_have_text("The recurring fee and add-ons")

    # The due list: R$ 99.90 × 1.04621114 = 104.5165 → R$ 104.52.
    page.goto("/dashboard/readjustments/")
    row = page.get_by_test_id(f"rdj-row-{sub.public_id}")
    expect(row.get_by_test_id("rdj-old")).to_contain_text("99.90")
    expect(row.get_by_test_id("rdj-factor")).to_contain_text("4.62")
    expect(row.get_by_test_id("rdj-new")).to_contain_text("104.52")
    # No add-ons: the totals are the recurring fee's.
    expect(row.get_by_test_id("rdj-old-total")).to_contain_text("99.90")
    expect(row.get_by_test_id("rdj-new-total")).to_contain_text("104.52")
    page.get_by_test_id(f"rdj-apply-{sub.public_id}").click()
    expect(row.get_by_test_id("rdj-state")).to_have_text("Sent")

    with tenant_context(tenant):
        readjustment = Readjustment.objects.get(subscription=sub)
        notices = Event.objects.filter(tenant=tenant, type="subscription.price_change_scheduled")
        assert notices.count() == 1
    assert (readjustment.old_amount_minor, readjustment.new_amount_minor) == (9_990, 10_452)

    # The subscription shows the readjustment and the price it pays from its date.
    page.goto(f"/dashboard/subscriptions/{sub.public_id}/")
    history = page.get_by_test_id(f"readjustment-{readjustment.public_id}")
    expect(history.get_by_test_id("readjustment-new-price")).to_contain_text("104.52")
    expect(page.get_by_test_id("sub-next-price")).to_contain_text("104.52")
    expect(page.get_by_test_id("sub-price")).to_contain_text("99.90")
