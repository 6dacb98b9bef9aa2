"""The subscriber's subscriptions in the portal (issue 14, portal item 3):
detail with the next charge, change with the exact preview, pause, resume,
the payment method, the cancellation flow with its retention offer, undo, and
isolation (another subscriber's or another merchant's ids are 404)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing import subscriptions as billing_subs
from billing.coupons import coupon_create
from billing.models import CouponRedemption, PlanPortalOptions
from billing.services import invoice_mark_paid
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_token
from subscriptions.models import Plan, ScheduledChange, Subscription
from subscriptions.services import ProrationBehavior
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.support.billing import ACTOR, World, utc, world

START = utc(2026, 3, 10, 12)
PAST = [Subscription.Status.CANCELED, Subscription.Status.ENDED]


def _paid(w: World, sub: Subscription) -> Subscription:
    for invoice in w.invoices(sub):
        invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
    return w.refresh(sub)


def _enter(customer: Customer, slug: str) -> Client:
    client = Client()
    response = client.get(f"/t/{slug}/enter/{portal_token(customer)}/")
    assert response.status_code == 302
    return client


@dataclass
class Shop:
    w: World
    basic: Plan
    pro: Plan
    sub: Subscription
    ana: Customer
    card: PaymentMethod
    client: Client
    slug: str

    def url(self, name: str = "", sub: Subscription | None = None) -> str:
        return f"/t/{self.slug}/subscriptions/{(sub or self.sub).public_id}/{name}"

    def refresh(self) -> Subscription:
        return Subscription.objects.select_related("plan").get(pk=self.sub.pk)

    def state(self) -> tuple[Any, ...]:
        sub = self.refresh()
        return (
            sub.plan_id,
            sub.quantity,
            sub.status,
            sub.payment_method_id,
            sub.pauses_used,
            list(
                ScheduledChange.objects.filter(subscription=sub, status="pending").values_list(
                    "kind", flat=True
                )
            ),
            CouponRedemption.objects.filter(subscription=sub).count(),
        )


@pytest.fixture
def shop(db: None) -> Iterator[Shop]:
    with world(START) as w:
        basic = w.plan("basic", 10_000, max_pauses=2, max_pause_cycles=3)
        pro = w.plan("pro", 25_000, name="Pro")
        ana = w.customer("Ana Souza")
        card = PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=ana,
            kind="card",
            gateway="sandbox",
            token="t1",
            brand="visa",
            last4="4242",
        )
        sub = _paid(w, w.subscribe(basic, ana))
        yield Shop(w, basic, pro, sub, ana, card, _enter(ana, w.tenant.slug), w.tenant.slug)


def test_list_and_detail_show_status_period_and_the_exact_next_charge(shop: Shop) -> None:
    listing = shop.client.get(f"/t/{shop.slug}/subscriptions/")
    assert listing.status_code == 200
    assert shop.sub.public_id in listing.content.decode()
    page = shop.client.get(shop.url())
    assert page.status_code == 200
    preview = page.context["next_invoice"]
    expected = billing_subs.subscription_preview_next_invoice(
        tenant=shop.w.tenant, subscription_id=shop.sub.pk
    )
    assert expected is not None
    assert preview.totals.total_minor == expected.totals.total_minor == 10_000
    assert preview.issued_at == shop.sub.current_period_end
    assert page.context["pauses_left"] == 2


def test_change_preview_is_exact_and_changes_nothing_until_confirmed(shop: Shop) -> None:
    before = shop.state()
    data = {"plan": shop.pro.public_id, "quantity": "1"}
    response = shop.client.post(shop.url("change/"), {**data, "preview": "1"})
    assert response.status_code == 200
    expected = billing_subs.subscription_preview_change(
        tenant=shop.w.tenant,
        subscription=shop.refresh(),
        now=shop.w.now,
        plan=shop.pro,
        quantity=1,
        when="now",
        proration=ProrationBehavior.NEXT_INVOICE,
    )
    preview = response.context["preview"]
    assert [(line.description, line.total_minor) for line in preview.lines] == [
        (line.description, line.total_minor) for line in expected.lines
    ]
    # The first day of a 31-day period is used: 30/31 of the 150.00 difference.
    assert preview.total_minor == expected.total_minor != 0
    assert shop.state() == before
    done = shop.client.post(shop.url("change/"), {**data, "confirm": "1"})
    assert done.status_code == 302
    assert shop.refresh().plan_id == shop.pro.pk
    with tenant_context(shop.w.tenant):
        entry = AuditEntry.objects.get(action="subscription.changed")
        assert (entry.actor_type, entry.actor_id) == ("subscriber", str(shop.ana.pk))


@pytest.mark.parametrize(
    "data",
    [
        {"plan": "", "quantity": "1"},
        {"quantity": "0"},
        {"quantity": "-3"},
        {"quantity": str(10**9)},
        {"quantity": "two"},
        {"quantity": "1\x00"},
        {"plan": "plan_nope\x00", "quantity": "1"},
    ],
)
def test_change_bad_input_is_an_error_next_to_the_field(shop: Shop, data: dict[str, str]) -> None:
    before = shop.state()
    data = {"plan": shop.pro.public_id, **data}
    response = shop.client.post(shop.url("change/"), {**data, "confirm": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert shop.state() == before


def test_change_to_a_plan_the_merchant_does_not_offer_is_refused(shop: Shop) -> None:
    hidden = shop.w.plan("vip", 90_000)
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant, plan_code="basic", change_plan_codes=["pro"]
    )
    before = shop.state()
    response = shop.client.post(
        shop.url("change/"), {"plan": hidden.public_id, "quantity": "1", "confirm": "1"}
    )
    assert response.status_code == 400
    assert "plan" in response.context["form"].errors
    assert shop.state() == before


def test_change_pause_cancel_hidden_by_the_merchant(shop: Shop) -> None:
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant,
        plan_code="basic",
        allow_change=False,
        allow_pause=False,
        allow_cancel=False,
    )
    before = shop.state()
    page = shop.client.get(shop.url()).content.decode()
    assert 'data-testid="change-link"' not in page
    assert 'data-testid="cancel-link"' not in page
    assert 'data-testid="pause-form"' not in page
    assert shop.client.get(shop.url("change/")).status_code == 404
    assert shop.client.get(shop.url("cancel/")).status_code == 404
    assert shop.client.post(shop.url("pause/"), {"cycles": "1"}).status_code == 400
    assert shop.state() == before


def test_pause_then_resume(shop: Shop) -> None:
    response = shop.client.post(shop.url("pause/"), {"cycles": "2"})
    assert response.status_code == 302
    assert "pause" in shop.state()[5]
    page = shop.client.get(shop.url()).content.decode()
    assert 'data-testid="resume-button"' in page
    assert shop.client.post(shop.url("resume/")).status_code == 302
    assert "pause" not in shop.state()[5]


@pytest.mark.parametrize("cycles", ["0", "-1", "99999", "x", "1\x00"])
def test_pause_bad_input(shop: Shop, cycles: str) -> None:
    before = shop.state()
    assert shop.client.post(shop.url("pause/"), {"cycles": cycles}).status_code == 400
    assert shop.state() == before


def test_choose_the_card_that_pays_the_subscription(shop: Shop, other_shop: dict) -> None:
    response = shop.client.post(
        shop.url("payment-method/"), {"payment_method": shop.card.public_id}
    )
    assert response.status_code == 302
    assert shop.refresh().payment_method_id == shop.card.pk
    before = shop.state()
    for method in (other_shop["card"], other_shop["b_card"]):
        bad = shop.client.post(shop.url("payment-method/"), {"payment_method": method.public_id})
        assert bad.status_code == 400
    assert shop.state() == before


def _cancel_steps(shop: Shop, when: str = "period_end") -> dict[str, str]:
    return {"reason": "too_expensive", "comment": "Muito caro agora", "when": when}


def test_cancel_flow_offers_the_coupon_and_accepting_keeps_the_subscription(shop: Shop) -> None:
    coupon = coupon_create(
        tenant=shop.w.tenant,
        code="STAY50",
        actor=ACTOR,
        now=shop.w.now,
        percent_off=Decimal("50"),
        duration="repeating",
        duration_cycles=3,
    )
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant, plan_code="basic", offer="coupon", offer_coupon=coupon
    )
    data = _cancel_steps(shop)
    step1 = shop.client.post(shop.url("cancel/"), {**data, "step": "reason"})
    assert step1.status_code == 200
    assert step1.context["step"] == "offer"
    assert 'data-testid="retention-offer"' in step1.content.decode()
    accepted = shop.client.post(shop.url("cancel/"), {**data, "step": "accept"})
    assert accepted.status_code == 302
    sub = shop.refresh()
    assert sub.status == Subscription.Status.ACTIVE
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()
    [redemption] = CouponRedemption.objects.filter(subscription=sub)
    assert redemption.coupon_id == coupon.pk
    assert redemption.cycles_left == 3
    # The next charge is the exact half price.
    preview = billing_subs.subscription_preview_next_invoice(
        tenant=shop.w.tenant, subscription_id=sub.pk
    )
    assert preview is not None
    assert preview.totals.total_minor == 5_000
    entry = AuditEntry.objects.get(action="subscription.cancellation_feedback")
    assert entry.changes["reason"] == "too_expensive"
    assert entry.changes["comment"] == "Muito caro agora"
    assert entry.changes["outcome"] == "accepted_coupon"
    # Offered once: a second acceptance is refused, nothing more applied.
    again = shop.client.post(shop.url("cancel/"), {**data, "step": "accept"})
    assert again.status_code == 400
    assert CouponRedemption.objects.filter(subscription=sub).count() == 1


def test_cancel_flow_declining_the_offer_cancels_at_period_end_then_undo(shop: Shop) -> None:
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant, plan_code="basic", offer="pause", offer_pause_cycles=1
    )
    data = _cancel_steps(shop)
    assert (
        shop.client.post(shop.url("cancel/"), {**data, "step": "reason"}).context["step"] == "offer"
    )
    declined = shop.client.post(shop.url("cancel/"), {**data, "step": "confirm"})
    assert declined.status_code == 200
    assert declined.context["step"] == "confirm"
    assert shop.state()[5] == []  # nothing until confirmed
    done = shop.client.post(shop.url("cancel/"), {**data, "step": "cancel"})
    assert done.status_code == 302
    assert shop.state()[5] == ["cancel"]
    assert shop.refresh().status == Subscription.Status.ACTIVE
    entry = AuditEntry.objects.get(action="subscription.cancellation_feedback")
    assert entry.changes["outcome"] == "canceled_at_period_end"
    assert entry.actor_type == "subscriber"
    page = shop.client.get(shop.url()).content.decode()
    assert 'data-testid="undo-cancel"' in page
    assert shop.client.post(shop.url("cancel/undo/")).status_code == 302
    assert shop.state()[5] == []


def test_cancel_now_without_an_offer(shop: Shop) -> None:
    data = _cancel_steps(shop, when="now")
    step1 = shop.client.post(shop.url("cancel/"), {**data, "step": "reason"})
    assert step1.context["step"] == "confirm"
    assert shop.client.post(shop.url("cancel/"), {**data, "step": "cancel"}).status_code == 302
    assert shop.refresh().status in PAST


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "", "comment": "", "when": "period_end"},
        {"reason": "bogus", "comment": "", "when": "period_end"},
        {"reason": "other", "comment": "a\x00b", "when": "period_end"},
        {"reason": "other", "comment": "x" * 2001, "when": "period_end"},
        {"reason": "other", "comment": "", "when": "tomorrow"},
    ],
)
def test_cancel_bad_input_cancels_nothing(shop: Shop, data: dict[str, str]) -> None:
    before = shop.state()
    response = shop.client.post(shop.url("cancel/"), {**data, "step": "cancel"})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert shop.state() == before


@pytest.fixture
def other_shop(shop: Shop) -> Iterator[dict[str, Any]]:
    """Another subscriber of the same merchant, and a subscriber of another merchant."""
    with tenant_context(shop.w.tenant):
        bia = shop.w.customer("Bia")
        card = PaymentMethod.objects.create(
            tenant=shop.w.tenant, customer=bia, kind="card", gateway="sandbox", token="t2"
        )
        bia_sub = _paid(shop.w, shop.w.subscribe(shop.basic, bia))
    with world(START, slug="globex") as b:
        b_plan = b.plan("basic", 1_000)
        gus = b.customer("Gus")
        b_card = PaymentMethod.objects.create(
            tenant=b.tenant, customer=gus, kind="card", gateway="sandbox", token="t9"
        )
        b_sub = _paid(b, b.subscribe(b_plan, gus))
    with tenant_context(shop.w.tenant):
        yield {"sub": bia_sub, "card": card, "b_sub": b_sub, "b_card": b_card, "b_plan": b_plan}


ROUTES = [
    ("get", ""),
    ("get", "change/"),
    ("post", "change/"),
    ("post", "pause/"),
    ("post", "resume/"),
    ("get", "cancel/"),
    ("post", "cancel/"),
    ("post", "cancel/undo/"),
    ("post", "payment-method/"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_other_subscribers_and_other_merchants_ids_are_404(
    shop: Shop, other_shop: dict[str, Any], method: str, path: str
) -> None:
    data = {
        "plan": shop.pro.public_id,
        "quantity": "2",
        "cycles": "1",
        "confirm": "1",
        "step": "cancel",
        "reason": "other",
        "when": "now",
        "payment_method": shop.card.public_id,
    }
    targets = [other_shop["sub"], other_shop["b_sub"]]
    with tenant_context(shop.w.tenant):
        before = list(Subscription.objects.filter(pk=targets[0].pk).values())
    for target in targets:
        response = getattr(shop.client, method)(shop.url(path, sub=target), data)
        assert response.status_code == 404, (target, path)
    with tenant_context(shop.w.tenant):
        assert list(Subscription.objects.filter(pk=targets[0].pk).values()) == before
    # The other merchant's portal is closed to this session altogether.
    response = getattr(shop.client, method)(
        f"/t/globex/subscriptions/{targets[1].public_id}/{path}", data
    )
    assert response.status_code == 403


def test_a_plan_of_another_merchant_is_not_a_valid_choice(
    shop: Shop, other_shop: dict[str, Any]
) -> None:
    before = shop.state()
    response = shop.client.post(
        shop.url("change/"),
        {"plan": other_shop["b_plan"].public_id, "quantity": "1", "confirm": "1"},
    )
    assert response.status_code == 400
    assert "plan" in response.context["form"].errors
    assert shop.state() == before


def test_signed_out_is_refused(shop: Shop) -> None:
    assert Client().get(shop.url()).status_code == 403
    assert Client().post(shop.url("cancel/undo/")).status_code == 403


# --- The merchant's side: the plan's portal options and retention offer.

PASSWORD = "s3cret-Pass!"


def _owner() -> Client:
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "owner@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_the_merchant_configures_the_portal_options_and_the_offer(shop: Shop) -> None:
    coupon = coupon_create(
        tenant=shop.w.tenant, code="STAY", actor=ACTOR, now=shop.w.now, percent_off=Decimal("20")
    )
    owner = _owner()
    url = f"/dashboard/catalog/plans/{shop.basic.public_id}/portal/"
    assert owner.get(url).status_code == 200
    response = owner.post(
        url,
        {
            "allow_change": "on",
            "allow_cancel": "on",
            "change_plan_codes": ["pro"],
            "offer": "coupon",
            "offer_coupon": coupon.public_id,
            "offer_pause_cycles": "1",
        },
    )
    assert response.status_code == 302
    options = PlanPortalOptions.objects.get(plan_code="basic")
    assert (options.allow_change, options.allow_pause, options.allow_cancel) == (True, False, True)
    assert options.change_plan_codes == ["pro"]
    assert options.offer_coupon_id == coupon.pk
    assert AuditEntry.objects.filter(action="plan.portal_options_updated").count() == 1
    # The subscriber's page follows: no pause form any more.
    assert 'data-testid="pause-form"' not in shop.client.get(shop.url()).content.decode()


@pytest.mark.parametrize(
    "bad",
    [
        {"offer": "coupon"},  # no coupon chosen
        {"offer": "plan"},  # no plan chosen
        {"offer": "bogus"},
        {"offer": "coupon", "offer_coupon": "cpn_nope\x00"},
        {"change_plan_codes": ["nope"]},
        {"offer_pause_cycles": "0"},
        {"offer_pause_cycles": str(10**9)},
    ],
)
def test_bad_portal_options_save_nothing(shop: Shop, bad: dict[str, Any]) -> None:
    owner = _owner()
    url = f"/dashboard/catalog/plans/{shop.basic.public_id}/portal/"
    response = owner.post(url, {"offer": "none", "offer_pause_cycles": "1", **bad})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not PlanPortalOptions.objects.exists()


def test_another_merchants_coupon_or_plan_cannot_be_offered(
    shop: Shop, other_shop: dict[str, Any]
) -> None:
    with tenant_context(other_shop["b_plan"].tenant):
        b_coupon = coupon_create(
            tenant=other_shop["b_plan"].tenant,
            code="THEIRS",
            actor=ACTOR,
            now=START,
            percent_off=Decimal("90"),
        )
    owner = _owner()
    url = f"/dashboard/catalog/plans/{shop.basic.public_id}/portal/"
    for bad in (
        {"offer": "coupon", "offer_coupon": b_coupon.public_id},
        {"offer": "plan", "offer_plan": other_shop["b_plan"].public_id},
    ):
        response = owner.post(url, {"offer_pause_cycles": "1", **bad})
        assert response.status_code == 400
    with tenant_context(shop.w.tenant):
        assert not PlanPortalOptions.objects.exists()
    # And another merchant's plan page is a 404.
    assert (
        owner.get(f"/dashboard/catalog/plans/{other_shop['b_plan'].public_id}/portal/").status_code
        == 404
    )


def test_accepting_a_pause_instead_of_cancelling(shop: Shop) -> None:
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant, plan_code="basic", offer="pause", offer_pause_cycles=2
    )
    data = _cancel_steps(shop)
    assert shop.client.post(shop.url("cancel/"), {**data, "step": "accept"}).status_code == 302
    [pause] = ScheduledChange.objects.filter(subscription=shop.sub, status="pending")
    assert pause.kind == "pause"
    assert pause.effective_at == shop.sub.current_period_end
    entry = AuditEntry.objects.get(action="subscription.cancellation_feedback")
    assert entry.changes["outcome"] == "accepted_pause"


def test_accepting_a_cheaper_plan_from_the_next_period(shop: Shop) -> None:
    lite = shop.w.plan("lite", 4_990, name="Lite")
    PlanPortalOptions.objects.create(
        tenant=shop.w.tenant, plan_code="basic", offer="plan", offer_plan=lite
    )
    data = _cancel_steps(shop)
    step = shop.client.post(shop.url("cancel/"), {**data, "step": "reason"})
    assert "Lite" in step.content.decode()
    assert shop.client.post(shop.url("cancel/"), {**data, "step": "accept"}).status_code == 302
    sub = shop.refresh()
    assert sub.plan_id == shop.basic.pk  # nothing changes before the period ends
    preview = billing_subs.subscription_preview_next_invoice(
        tenant=shop.w.tenant, subscription_id=sub.pk
    )
    assert preview is not None
    assert preview.totals.total_minor == 4_990
    assert not ScheduledChange.objects.filter(subscription=sub, kind="cancel").exists()


def test_no_offer_configured_cannot_be_accepted(shop: Shop) -> None:
    before = shop.state()
    response = shop.client.post(shop.url("cancel/"), {**_cancel_steps(shop), "step": "accept"})
    assert response.status_code == 400
    assert shop.state() == before
    assert not AuditEntry.objects.filter(action="subscription.cancellation_feedback").exists()


def test_a_decided_readjustment_is_shown_to_the_subscriber(shop: Shop) -> None:
    from subscriptions import services as subs

    assert (
        'data-testid="readjustment-scheduled"' not in shop.client.get(shop.url()).content.decode()
    )
    subs.readjustment_policy_set(
        tenant=shop.w.tenant,
        plan_code="basic",
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
        now=shop.w.now,
    )
    r = subs.readjustment_schedule(
        tenant=shop.w.tenant, subscription_id=shop.sub.pk, actor=ACTOR, now=shop.w.now
    ).readjustment
    assert (r.new_amount_minor, r.effective_at) == (10_500, utc(2027, 3, 10, 12))
    page = shop.client.get(shop.url())
    assert page.context["readjustment"] == r
    assert 'data-testid="readjustment-scheduled"' in page.content.decode()


def test_a_decided_readjustment_shows_the_add_ons_it_readjusts(shop: Shop) -> None:
    from billing import items as billing_items
    from subscriptions import services as subs

    extra = shop.w.plan("extra", amount=2_000)
    billing_items.subscription_item_add(
        tenant=shop.w.tenant,
        subscription_id=shop.sub.pk,
        plan=extra,
        actor=ACTOR,
        now=shop.w.now,
        proration="none",
    )
    subs.readjustment_policy_set(
        tenant=shop.w.tenant,
        plan_code="basic",
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
        now=shop.w.now,
        applies_to="recurring_and_add_ons",
    )
    subs.readjustment_schedule(
        tenant=shop.w.tenant, subscription_id=shop.sub.pk, actor=ACTOR, now=shop.w.now
    )

    page = shop.client.get(shop.url()).content.decode()

    # 2 000 × 1.05 = 2 100 a unit.
    [shown] = re.findall(r'data-testid="readjustment-add-on">([^<]*)<', page)
    # In the subscriber's language (pt-BR): "Add-on extra: from … to … a unit."
    assert shown.replace("\xa0", " ") == "Adicional extra: de R$ 20,00 para R$ 21,00 por unidade."


# -- pause now, resume on a date, interval change (issue 16) ---------------------------


def test_pause_now_shows_the_credit_then_pauses_and_resumes_on_a_date(shop: Shop) -> None:
    from tests.scenarios.helpers_lifecycle import balance

    # Given the R$100 month [Mar 10 09:00, Apr 10 09:00) São Paulo, on Mar 20
    shop.w.advance(utc(2026, 3, 20, 12))
    before = shop.state()
    # When the subscriber asks what pausing now does: Mar 20 .. Apr 9 = 21 of 31
    # days, 10000 × 21/31 = 6774.19 → 6774 credited (the merchant's default)
    response = shop.client.post(shop.url("pause/"), {"when": "now", "preview": "1"})
    assert response.status_code == 200
    assert response.context["pause_preview"].credit_minor == 6_774
    assert 'data-testid="pause-preview-credit" hidden>6774<' in response.content.decode()
    assert shop.state() == before
    # And pauses now
    assert shop.client.post(shop.url("pause/"), {"when": "now"}).status_code == 302
    sub = shop.refresh()
    assert (sub.status, sub.pauses_used, balance(shop.w, shop.ana)) == ("paused", 1, 6_774)
    assert 'data-testid="paused-until"' in shop.client.get(shop.url()).content.decode()
    # Then a resumption date in the past is refused next to the field
    paused = shop.state()
    bad = shop.client.post(shop.url("resume/"), {"resume_on": "2026-03-01"})
    assert bad.status_code == 400
    assert bad.context["resume_form"].errors["resume_on"]
    assert shop.state() == paused
    # And a date ahead is when billing resumes (São Paulo midnight = 03:00 UTC)
    assert shop.client.post(shop.url("resume/"), {"resume_on": "2026-04-25"}).status_code == 302
    assert shop.refresh().current_period_end == utc(2026, 4, 25, 3)


@pytest.mark.parametrize(
    "data",
    [
        {"when": "now", "resume_on": "2026-03-01"},
        {"when": "now", "resume_on": "2027-01-01"},
        {"when": "now", "resume_on": "banana"},
        {"when": "later"},
    ],
)
def test_pause_now_bad_input_changes_nothing(shop: Shop, data: dict[str, str]) -> None:
    before = shop.state()
    response = shop.client.post(shop.url("pause/"), data)
    assert response.status_code == 400
    assert response.context["pause_form"].errors
    assert shop.state() == before


def test_change_to_an_annual_plan_shows_the_exact_preview(shop: Shop) -> None:
    annual = shop.w.plan("annual", 100_000, interval="year", name="Annual")
    shop.w.advance(utc(2026, 3, 20, 12))
    before = shop.state()
    data = {"plan": annual.public_id, "quantity": "1"}
    response = shop.client.post(shop.url("change/"), {**data, "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    # The merchant's default anchor (reset): credit 21/31 → 6774, a year from now
    assert [(p.kind, p.amount_minor) for p in preview.lines] == [
        ("proration", -6_774),
        ("recurring", 100_000),
    ]
    assert shop.state() == before
    assert shop.client.post(shop.url("change/"), {**data, "confirm": "1"}).status_code == 302
    sub = shop.refresh()
    assert (sub.plan_id, sub.current_period_end) == (annual.pk, utc(2027, 3, 20, 12))
    written = shop.w.invoices(sub)[-1]
    assert written.total_minor == preview.total_minor == 93_226
