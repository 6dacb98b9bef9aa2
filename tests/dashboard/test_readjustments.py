"""The readjustment pages: bad input shown next to its field with nothing saved,
a bad CSV named line by line with nothing imported, another tenant's ids → 404,
a viewer may read but not write."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import items as billing_items
from billing import subscriptions as billing_subs
from core import clock
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import (
    IndexSeries,
    IndexValue,
    Readjustment,
    ReadjustmentPolicy,
    Subscription,
)
from tenants.context import tenant_context
from tenants.models import Event
from tests.conftest import TenantSetup
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR

pytestmark = pytest.mark.django_db


def _series(setup: TenantSetup) -> IndexSeries:
    with tenant_context(setup.tenant):
        return subs.index_series_create(
            tenant=setup.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=clock.now()
        )


def _plan_and_sub(setup: TenantSetup) -> tuple[str, str]:
    now = clock.now()
    with tenant_context(setup.tenant):
        product = subs.product_create(tenant=setup.tenant, name="P", actor=ACTOR, now=now)
        plan = subs.plan_create(
            tenant=setup.tenant,
            product=product,
            code="pro",
            name="Pro",
            currency="BRL",
            amount_minor=10_000,
            actor=ACTOR,
            now=now,
        )
        customer = Customer.objects.create(tenant=setup.tenant, name="Ana")
        sub = billing_subs.subscription_create(
            tenant=setup.tenant,
            customer=customer,
            plan=plan,
            actor=ACTOR,
            now=now,
            collection_method="send_invoice",
        )
    return plan.code, sub.public_id


def _counts(setup: TenantSetup) -> tuple[int, ...]:
    with tenant_context(setup.tenant):
        return tuple(
            m.objects.filter(tenant=setup.tenant).count()
            for m in (IndexSeries, IndexValue, ReadjustmentPolicy, Readjustment)
        )


def test_a_bad_month_or_rate_is_shown_next_to_its_field(acme: TenantSetup) -> None:
    series = _series(acme)
    client = signed_in("owner@acme.example")
    url = f"/dashboard/readjustments/series/{series.public_id}/value/"
    for body, field in (
        ({"month": "2023-13", "rate": "0.5"}, "month"),
        ({"month": "2023-01", "rate": "250"}, "rate"),
        ({"month": "2023-01", "rate": "abc"}, "rate"),
    ):
        response = client.post(url, body)
        assert response.status_code == 400
        assert response.context["value_form"].errors[field], body
    assert _counts(acme) == (1, 0, 0, 0)
    assert client.post(url, {"month": "2023-06", "rate": "-0.08"}).status_code == 302
    with tenant_context(acme.tenant):
        assert IndexValue.objects.get().rate_percent == Decimal("-0.08")


def test_a_bad_csv_names_its_lines_and_imports_nothing(acme: TenantSetup) -> None:
    series = _series(acme)
    client = signed_in("owner@acme.example")
    url = f"/dashboard/readjustments/series/{series.public_id}/import/"
    bad = b"month,rate\n2023-01,0.53\n2023-13,0.84\n2023-03,1;2\n"
    response = client.post(url, {"file": SimpleUploadedFile("i.csv", bad, "text/csv")})
    assert response.status_code == 400
    assert [n for n, _ in response.context["csv_lines"]] == [3, 4]
    assert b'data-line="3"' in response.content
    assert _counts(acme) == (1, 0, 0, 0)
    good = b"month,rate\n2023-01,0.53\n2023-02,0.84\n"
    response = client.post(url, {"file": SimpleUploadedFile("i.csv", good, "text/csv")})
    assert response.status_code == 302
    assert _counts(acme) == (1, 2, 0, 0)


def test_a_cap_below_the_floor_is_refused(acme: TenantSetup) -> None:
    _plan_and_sub(acme)
    series = _series(acme)
    client = signed_in("owner@acme.example")
    base = {
        "plan": "pro",
        "method": "index",
        "series": series.public_id,
        "period": "anniversary",
        "notice_days": "30",
    }
    for extra, field in (
        ({"floor_percent": "5", "cap_percent": "2"}, "cap_percent"),
        ({"period": "fixed_month", "month": ""}, "month"),
        ({"method": "index", "series": ""}, "series"),
        ({"method": "fixed", "fixed_percent": ""}, "fixed_percent"),
        ({"notice_days": "-1"}, "notice_days"),
        ({"plan": "nope"}, "plan"),
    ):
        response = client.post("/dashboard/readjustments/policies/", {**base, **extra})
        assert response.status_code == 400, extra
        assert response.context["form"].errors[field], extra
    assert _counts(acme) == (1, 0, 0, 0)
    response = client.post(
        "/dashboard/readjustments/policies/", {**base, "floor_percent": "0", "cap_percent": "10"}
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        policy = ReadjustmentPolicy.objects.get()
    assert (policy.plan_code, policy.cap_percent, policy.automatic) == ("pro", Decimal(10), False)


def test_apply_one_and_other_tenants_ids(acme: TenantSetup, globex: TenantSetup) -> None:
    _code, sub_id = _plan_and_sub(acme)
    with tenant_context(acme.tenant):
        subs.readjustment_policy_set(
            tenant=acme.tenant,
            plan_code="pro",
            method="fixed",
            series_id=None,
            fixed_percent=Decimal("5"),
            period="anniversary",
            month=None,
            floor_percent=None,
            cap_percent=None,
            notice_days=30,
            automatic=False,
            actor=ACTOR,
            now=clock.now(),
        )
    series = _series(acme)
    intruder = signed_in("owner@globex.example")
    assert intruder.get(f"/dashboard/readjustments/series/{series.public_id}/").status_code == 404
    response = intruder.post("/dashboard/readjustments/apply/", {"subscription": sub_id})
    assert response.status_code == 302
    assert _counts(acme)[3] == 0
    assert sub_id not in intruder.get("/dashboard/readjustments/?days=366").content.decode()

    add_member(acme.tenant, "viewer@acme.example", "viewer")
    viewer = signed_in("viewer@acme.example")
    page = viewer.get("/dashboard/readjustments/?days=366")
    assert page.status_code == 200
    assert f'data-testid="rdj-row-{sub_id}"' in page.content.decode()
    assert viewer.post("/dashboard/readjustments/apply/", {"subscription": sub_id}).status_code in (
        403,
        404,
    )
    assert _counts(acme)[3] == 0

    owner = signed_in("owner@acme.example")
    response = owner.post("/dashboard/readjustments/apply/?days=366", {"subscription": sub_id})
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        r = Readjustment.objects.get()
        assert Event.objects.filter(type="subscription.price_change_scheduled").count() == 1
    assert (r.old_amount_minor, r.new_amount_minor) == (10_000, 10_500)
    detail = owner.get(f"/dashboard/subscriptions/{sub_id}/").content.decode()
    assert f'data-testid="readjustment-{r.public_id}"' in detail


def test_apply_in_bulk(acme: TenantSetup) -> None:
    _code, first = _plan_and_sub(acme)
    now = clock.now()
    with tenant_context(acme.tenant):
        plan = subs.plan_create(
            tenant=acme.tenant,
            product=subs.product_create(tenant=acme.tenant, name="Q", actor=ACTOR, now=now),
            code="team",
            name="Team",
            currency="BRL",
            amount_minor=3_333,
            pricing_model="per_seat",
            actor=ACTOR,
            now=now,
        )
        second = billing_subs.subscription_create(
            tenant=acme.tenant,
            customer=Customer.objects.create(tenant=acme.tenant, name="Bia"),
            plan=plan,
            quantity=3,
            actor=ACTOR,
            now=now,
            collection_method="send_invoice",
        ).public_id
        for code in ("pro", "team"):
            subs.readjustment_policy_set(
                tenant=acme.tenant,
                plan_code=code,
                method="fixed",
                series_id=None,
                fixed_percent=Decimal("4.5"),
                period="anniversary",
                month=None,
                floor_percent=None,
                cap_percent=None,
                notice_days=30,
                automatic=False,
                actor=ACTOR,
                now=now,
            )
    owner = signed_in("owner@acme.example")
    page = owner.get("/dashboard/readjustments/?days=366").content.decode()
    assert 'data-testid="rdj-apply-selected"' in page
    response = owner.post(
        "/dashboard/readjustments/apply/?days=366", {"subscription": [first, second]}
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        rows = dict(Readjustment.objects.values_list("subscription__public_id", "new_amount_minor"))
        assert Event.objects.filter(type="subscription.price_change_scheduled").count() == 2
    # 10 000 × 1.045 = 10 450; a seat of 3 333 × 1.045 = 3 482.985 → 3 483 (half even).
    assert rows == {first: 10_450, second: 3_483}


def test_turning_a_policy_off(acme: TenantSetup, globex: TenantSetup) -> None:
    _code, sub_id = _plan_and_sub(acme)
    with tenant_context(acme.tenant):
        subs.readjustment_policy_set(
            tenant=acme.tenant,
            plan_code="pro",
            method="fixed",
            series_id=None,
            fixed_percent=Decimal("5"),
            period="anniversary",
            month=None,
            floor_percent=None,
            cap_percent=None,
            notice_days=30,
            automatic=True,
            actor=ACTOR,
            now=clock.now(),
        )
    owner = signed_in("owner@acme.example")
    assert f"rdj-row-{sub_id}" in owner.get("/dashboard/readjustments/?days=366").content.decode()
    intruder = signed_in("owner@globex.example")
    assert intruder.post("/dashboard/readjustments/policies/pro/off/").status_code == 404
    with tenant_context(acme.tenant):
        assert ReadjustmentPolicy.objects.get().active is True
    assert owner.post("/dashboard/readjustments/policies/pro/off/").status_code == 302
    with tenant_context(acme.tenant):
        assert ReadjustmentPolicy.objects.get().active is False
    assert (
        f"rdj-row-{sub_id}" not in owner.get("/dashboard/readjustments/?days=366").content.decode()
    )


def test_a_policy_covering_add_ons_is_saved_and_the_due_list_shows_them(
    acme: TenantSetup,
) -> None:
    _code, sub_id = _plan_and_sub(acme)
    now = clock.now()
    with tenant_context(acme.tenant):
        storage = subs.plan_create(
            tenant=acme.tenant,
            product=subs.product_create(tenant=acme.tenant, name="S", actor=ACTOR, now=now),
            code="storage",
            name="Storage",
            currency="BRL",
            amount_minor=3_100,
            pricing_model="per_seat",
            actor=ACTOR,
            now=now,
        )
        item = billing_items.subscription_item_add(
            tenant=acme.tenant,
            subscription_id=Subscription.objects.get(public_id=sub_id).pk,
            plan=storage,
            quantity=2,
            actor=ACTOR,
            now=now,
            proration="none",
        )
    owner = signed_in("owner@acme.example")
    base = {
        "plan": "pro",
        "method": "fixed",
        "fixed_percent": "5",
        "period": "anniversary",
        "notice_days": "30",
    }
    form = owner.get("/dashboard/readjustments/policies/").content.decode()
    assert 'name="applies_to" value="recurring_and_add_ons"' in form

    for bad in ("everything", "recurring,add_ons"):
        refused = owner.post("/dashboard/readjustments/policies/", {**base, "applies_to": bad})
        assert refused.status_code == 400, bad
        assert refused.context["form"].errors["applies_to"], bad
    assert _counts(acme)[2] == 0

    saved = owner.post(
        "/dashboard/readjustments/policies/", {**base, "applies_to": "recurring_and_add_ons"}
    )
    assert saved.status_code == 302
    with tenant_context(acme.tenant):
        policy = ReadjustmentPolicy.objects.get()
    assert policy.applies_to == "recurring_and_add_ons"
    listed = owner.get("/dashboard/readjustments/policies/").content.decode()
    assert 'data-testid="policy-applies-pro">The recurring fee and add-ons<' in listed
    edit = owner.get("/dashboard/readjustments/policies/?plan=pro")
    assert edit.context["form"].initial["applies_to"] == "recurring_and_add_ons"

    # 10 000 × 1.05 = 10 500; Storage 3 100 × 1.05 = 3 255 a seat. Totals:
    # 10 000 + 2 × 3 100 = 16 200 → 10 500 + 2 × 3 255 = 17 010.
    due = owner.get("/dashboard/readjustments/?days=366")
    [row] = due.context["items"]
    page = due.content.decode()
    assert [(c.item, c.old, c.new) for c in row.item_changes] == [(item.public_id, 3_100, 3_255)]
    assert (row.old_total_minor, row.new_total_minor) == (16_200, 17_010)
    assert 'data-testid="rdj-add-on">add-on storage: R$' in page
    assert 'data-testid="rdj-old-total">R$' in page
    assert 'data-testid="rdj-new-total">R$' in page

    # Applied: the subscription's page lists the add-on with its readjustment.
    assert owner.post("/dashboard/readjustments/apply/?days=366", {"subscription": sub_id})
    detail = owner.get(f"/dashboard/subscriptions/{sub_id}/").content.decode()
    assert 'data-testid="readjustment-add-on">add-on storage: R$' in detail

    # Left out (an older form), the policy is the recurring fee's, as before.
    assert owner.post("/dashboard/readjustments/policies/", base).status_code == 302
    with tenant_context(acme.tenant):
        assert ReadjustmentPolicy.objects.get().applies_to == "recurring"
