"""Bad input gets a clear domain error and changes nothing (DESIGN.md invariant 8).

Every case calls a real service with one bad argument and checks the error's
class, ``code`` and ``param``, then that no row anywhere moved: plans,
subscriptions (and their fields), invoices, scheduled changes, coupons and
their redemptions, pending lines, events and audit entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from billing import coupons as billing_coupons
from billing import subscriptions as billing_subs
from billing.models import Coupon, CouponRedemption, Invoice, PendingLine
from core.errors import DomainError, NotFound, StateConflict, ValidationFailed
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import Plan, Product, ScheduledChange, Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event
from tests.conftest import make_tenant
from tests.support.billing import ACTOR, World, utc, world

START = utc(2026, 1, 15, 15)


@dataclass
class Scene:
    w: World
    flat: Plan  # BRL monthly, flat
    seats: Plan  # BRL monthly, per seat, one pause of up to 2 cycles
    usd: Plan  # USD monthly, per seat
    usd_yearly: Plan  # USD yearly, per seat
    yearly: Plan  # BRL yearly, per seat
    active: Subscription  # on ``seats``, 2 seats, active (sent invoices)
    canceled: Subscription  # on ``seats``, canceled
    foreign_plan: Plan  # globex's
    foreign_customer: Customer  # globex's
    foreign_sub: Subscription  # globex's

    foreign_product: Product  # globex's

    @property
    def now(self) -> datetime:
        return self.w.now


@pytest.fixture
def scene(db: None) -> Iterator[Scene]:
    other = make_tenant("globex").tenant
    with tenant_context(other):
        product = subs.product_create(tenant=other, name="Theirs", actor=ACTOR, now=START)
        foreign_plan = subs.plan_create(
            tenant=other,
            product=product,
            code="seats",
            name="Theirs",
            currency="BRL",
            amount_minor=1_000,
            pricing_model="per_seat",
            actor=ACTOR,
            now=START,
        )
        foreign_customer = Customer.objects.create(tenant=other, name="Theirs")
        foreign_sub = billing_subs.subscription_create(
            tenant=other,
            customer=foreign_customer,
            plan=foreign_plan,
            actor=ACTOR,
            now=START,
            collection_method="send_invoice",
        )
        billing_coupons.coupon_create(
            tenant=other, code="THEIRS", percent_off=Decimal(50), actor=ACTOR, now=START
        )
    with world(START) as w:
        flat = w.plan("flat", amount=5_000)
        seats = w.plan(
            "seats", amount=2_000, pricing_model="per_seat", max_pauses=1, max_pause_cycles=2
        )
        usd = w.plan("usd", amount=2_000, currency="USD", pricing_model="per_seat")
        usd_yearly = w.plan(
            "usd-yearly", amount=20_000, currency="USD", interval="year", pricing_model="per_seat"
        )
        yearly = w.plan("yearly", amount=20_000, interval="year", pricing_model="per_seat")
        active = w.subscribe(seats, quantity=2, collection_method="send_invoice")
        canceled = w.subscribe(seats, collection_method="send_invoice")
        billing_subs.subscription_cancel(
            tenant=w.tenant, subscription_id=canceled.pk, actor=ACTOR, now=START
        )
        yield Scene(
            w=w,
            flat=flat,
            seats=seats,
            usd=usd,
            usd_yearly=usd_yearly,
            yearly=yearly,
            active=w.refresh(active),
            canceled=w.refresh(canceled),
            foreign_plan=foreign_plan,
            foreign_customer=foreign_customer,
            foreign_sub=foreign_sub,
            foreign_product=product,
        )


def snapshot() -> dict[str, Any]:
    """Every row a service could write, as seen by the current tenant."""
    return {
        "plans": sorted(
            Plan.objects.values_list("pk", "code", "version", "amount_minor", "active")
        ),
        "subscriptions": sorted(
            Subscription.objects.values_list(
                "pk",
                "plan_id",
                "quantity",
                "status",
                "pauses_used",
                "period_index",
                "next_event_at",
                "canceled_at",
            )
        ),
        "invoices": Invoice.objects.count(),
        "scheduled_changes": sorted(ScheduledChange.objects.values_list("pk", "status")),
        "coupons": sorted(Coupon.objects.values_list("code", "times_redeemed")),
        "redemptions": CouponRedemption.objects.count(),
        "pending_lines": PendingLine.objects.count(),
        "events": Event.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def refused(
    error: type[DomainError],
    code: str,
    param: str | None,
    call: Callable[[], object],
) -> None:
    """``call`` raises ``error`` with ``code`` and ``param``, and no row moved."""
    before = snapshot()
    with pytest.raises(error) as info:
        call()
    assert (info.value.code, info.value.param) == (code, param), info.value.message
    assert info.value.message
    assert snapshot() == before, "a refused call changed something"


Case = tuple[str, type[DomainError], str, "str | None", Callable[[], object]]


def refuse_all(cases: list[Case]) -> None:
    """Every case refused as expected; reports all the cases that were not."""
    failures = []
    for name, error, code, param, call in cases:
        before = snapshot()
        try:
            call()
        except DomainError as exc:
            got = (type(exc).__name__, exc.code, exc.param)
            if got != (error.__name__, code, param) or not exc.message:
                failures.append(f"{name}: got {got}, expected {(error.__name__, code, param)}")
        except Exception as exc:
            failures.append(f"{name}: crashed with {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{name}: accepted")
        if snapshot() != before:
            failures.append(f"{name}: changed something")
    assert not failures, "\n".join(failures)


# --- the catalog ------------------------------------------------------------------


def _plan(s: Scene, **kw: Any) -> Plan:
    args: dict[str, Any] = {
        "tenant": s.w.tenant,
        "product": s.w.product,
        "code": "new",
        "name": "New",
        "currency": "BRL",
        "amount_minor": 1_000,
        "actor": ACTOR,
        "now": s.now,
    }
    return subs.plan_create(**(args | kw))


GRADUATED = {"pricing_model": "graduated"}
PLAN_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("negative-price", {"amount_minor": -1}, "amount_minor"),
    ("negative-setup-fee", {"setup_fee_minor": -500}, "setup_fee_minor"),
    ("huge-price", {"amount_minor": 10**15}, "amount_minor"),
    ("huge-setup-fee", {"setup_fee_minor": 10**15}, "setup_fee_minor"),
    ("float-price", {"amount_minor": 12.5}, "amount_minor"),
    ("whole-float-price", {"amount_minor": 12.0}, "amount_minor"),
    ("string-price", {"amount_minor": "1250"}, "amount_minor"),
    ("decimal-price", {"amount_minor": Decimal("12.50")}, "amount_minor"),
    ("bool-price", {"amount_minor": True}, "amount_minor"),
    ("no-price", {"amount_minor": None}, "amount_minor"),
    ("zero-interval-count", {"interval_count": 0}, "interval_count"),
    ("negative-interval-count", {"interval_count": -1}, "interval_count"),
    ("float-interval-count", {"interval_count": 1.5}, "interval_count"),
    ("unknown-interval", {"interval": "fortnight"}, "interval"),
    ("upper-case-interval", {"interval": "MONTH"}, "interval"),
    ("empty-interval", {"interval": ""}, "interval"),
    ("unknown-currency", {"currency": "XYZ"}, "currency"),
    ("lower-case-currency", {"currency": "brl"}, "currency"),
    ("empty-currency", {"currency": ""}, "currency"),
    ("no-currency", {"currency": None}, "currency"),
    ("negative-trial", {"trial_days": -1}, "trial_days"),
    ("trial-too-long", {"trial_days": 731}, "trial_days"),
    ("zero-term", {"term_cycles": 0}, "term_cycles"),
    ("negative-max-pauses", {"max_pauses": -1}, "max_pauses"),
    ("unknown-model", {"pricing_model": "banana"}, "pricing_model"),
    ("blank-code", {"code": "  "}, "code"),
    (
        "negative-tier",
        GRADUATED | {"tiers": [{"up_to": 10, "unit_amount_minor": -100}, {"up_to": None}]},
        "tiers",
    ),
    (
        "huge-tier",
        {"pricing_model": "volume", "tiers": [{"up_to": None, "unit_amount_minor": 10**15}]},
        "tiers",
    ),
    (
        "float-tier",
        GRADUATED | {"tiers": [{"up_to": None, "unit_amount_minor": 2.5}]},
        "tiers",
    ),
    (
        "decreasing-tiers",
        GRADUATED | {"tiers": [{"up_to": 10}, {"up_to": 5}, {"up_to": None}]},
        "tiers",
    ),
    ("tiers-on-a-flat-plan", {"tiers": [{"up_to": None, "unit_amount_minor": 1}]}, "tiers"),
    ("graduated-without-tiers", GRADUATED, "tiers"),
]


def test_plan_create_refuses_bad_input(scene: Scene) -> None:
    refuse_all(
        [
            (name, ValidationFailed, "validation_failed", param, partial(_plan, scene, **kw))
            for name, kw, param in PLAN_CASES
        ]
        + [
            (
                "another-tenants-product",
                NotFound,
                "resource_missing",
                "product",
                partial(_plan, scene, product=scene.foreign_product),
            ),
            (
                "taken-code",
                StateConflict,
                "plan_code_taken",
                None,
                partial(_plan, scene, code="flat"),
            ),
        ]
    )


def test_bools_are_not_whole_numbers(scene: Scene) -> None:
    customer = scene.w.customer("New")
    refuse_all(
        [
            (
                "term-cycles",
                ValidationFailed,
                "validation_failed",
                "term_cycles",
                partial(_plan, scene, term_cycles=True),
            ),
            (
                "anchor-day",
                ValidationFailed,
                "validation_failed",
                "anchor_day",
                partial(_subscribe, scene, customer, anchor_day=True),
            ),
        ]
    )


def test_plan_change_price_refuses_bad_input(scene: Scene) -> None:
    def change(plan: Plan, amount: object) -> Callable[[], object]:
        return partial(
            subs.plan_change_price,
            tenant=scene.w.tenant,
            plan_id=plan.pk,
            amount_minor=amount,
            actor=ACTOR,
            now=scene.now,
        )

    refuse_all(
        [
            (name, ValidationFailed, "validation_failed", "amount_minor", change(scene.seats, a))
            for name, a in (("negative", -1), ("huge", 10**15), ("float", 12.5), ("string", "99"))
        ]
        + [
            (
                "another-tenants-plan",
                NotFound,
                "resource_missing",
                "plan",
                change(scene.foreign_plan, 1),
            )
        ]
    )


TEN = {"percent_off": Decimal(10)}
COUPON_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("huge-amount", {"amount_off_minor": 10**15, "currency": "BRL"}, "amount_off_minor"),
    ("float-amount", {"amount_off_minor": 12.5, "currency": "BRL"}, "amount_off_minor"),
    ("string-amount", {"amount_off_minor": "500", "currency": "BRL"}, "amount_off_minor"),
    ("negative-amount", {"amount_off_minor": -500, "currency": "BRL"}, "amount_off_minor"),
    ("zero-amount", {"amount_off_minor": 0, "currency": "BRL"}, "amount_off_minor"),
    ("unknown-currency", {"amount_off_minor": 500, "currency": "XYZ"}, "currency"),
    ("zero-percent", {"percent_off": Decimal(0)}, "percent_off"),
    ("over-100-percent", {"percent_off": Decimal(101)}, "percent_off"),
    ("negative-percent", {"percent_off": Decimal(-5)}, "percent_off"),
    ("percent-and-amount", {"percent_off": Decimal(5), "amount_off_minor": 5}, "percent_off"),
    ("neither", {}, "percent_off"),
    ("zero-max-redemptions", {"percent_off": Decimal(10), "max_redemptions": 0}, "max_redemptions"),
    (
        "repeating-without-cycles",
        {"percent_off": Decimal(10), "duration": "repeating"},
        "duration_cycles",
    ),
    ("unknown-duration", {"percent_off": Decimal(10), "duration": "sometimes"}, "duration"),
    ("unknown-target", {"percent_off": Decimal(10), "applies_to": "shipping"}, "applies_to"),
    ("setup-percent-over-100", TEN | {"setup_percent_off": Decimal(101)}, "setup_percent_off"),
    ("string-percent", {"percent_off": "abc"}, "percent_off"),
    ("nan-percent", {"percent_off": Decimal("NaN")}, "percent_off"),
    ("float-percent", {"percent_off": 12.5}, "percent_off"),
    ("three-decimals-percent", {"percent_off": Decimal("12.345")}, "percent_off"),
    ("huge-cycles", TEN | {"duration": "repeating", "duration_cycles": 10**6}, "duration_cycles"),
    ("float-cycles", TEN | {"duration": "repeating", "duration_cycles": 2.5}, "duration_cycles"),
    ("huge-max-redemptions", TEN | {"max_redemptions": 10**12}, "max_redemptions"),
    ("string-max-redemptions", TEN | {"max_redemptions": "5"}, "max_redemptions"),
    ("float-max-redemptions", TEN | {"max_redemptions": 1.5}, "max_redemptions"),
    ("blank-code", TEN | {"code": "  "}, "code"),
]


def test_coupon_create_refuses_bad_input(scene: Scene) -> None:
    refuse_all(
        [
            (
                name,
                ValidationFailed,
                "validation_failed",
                param,
                partial(
                    billing_coupons.coupon_create,
                    tenant=scene.w.tenant,
                    actor=ACTOR,
                    now=scene.now,
                    **({"code": f"NEW{i}"} | kw),
                ),
            )
            for i, (name, kw, param) in enumerate(COUPON_CASES)
        ]
    )


# --- subscribing ------------------------------------------------------------------


def _subscribe(s: Scene, customer: Customer, **kw: Any) -> Subscription:
    args: dict[str, Any] = {
        "tenant": s.w.tenant,
        "customer": customer,
        "plan": s.seats,
        "actor": ACTOR,
        "now": s.now,
    }
    return billing_subs.subscription_create(**(args | kw))


SUBSCRIBE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("zero-quantity", {"quantity": 0}, "quantity"),
    ("negative-quantity", {"quantity": -1}, "quantity"),
    ("huge-quantity", {"quantity": 10**9}, "quantity"),
    ("float-quantity", {"quantity": 2.0}, "quantity"),
    ("string-quantity", {"quantity": "3"}, "quantity"),
    ("bool-quantity", {"quantity": True}, "quantity"),
    ("negative-trial", {"trial_days": -1}, "trial_days"),
    ("trial-too-long", {"trial_days": 731}, "trial_days"),
    ("string-trial", {"trial_days": "7"}, "trial_days"),
    ("start-in-the-past", {"start_at": START - timedelta(seconds=1)}, "start_at"),
    ("start-a-year-ago", {"start_at": START - timedelta(days=365)}, "start_at"),
    ("unknown-collection", {"collection_method": "cash"}, "collection_method"),
    ("anchor-day-0", {"anchor_day": 0}, "anchor_day"),
    ("anchor-day-32", {"anchor_day": 32}, "anchor_day"),
]


def test_subscription_create_refuses_bad_input(scene: Scene) -> None:
    customer = scene.w.customer("New")
    # The first version of "seats" is used, so a new price makes version 2 and retires it.
    current = subs.plan_change_price(
        tenant=scene.w.tenant, plan_id=scene.seats.pk, amount_minor=2_500, actor=ACTOR, now=START
    )
    retired = Plan.objects.get(pk=scene.seats.pk)
    assert (retired.active, current.version) == (False, 2)
    refuse_all(
        [
            (
                name,
                ValidationFailed,
                "validation_failed",
                param,
                partial(_subscribe, scene, customer, plan=current, **kw),
            )
            for name, kw, param in SUBSCRIBE_CASES
        ]
        + [
            (
                "flat-plan-two-seats",
                ValidationFailed,
                "validation_failed",
                "quantity",
                partial(_subscribe, scene, customer, plan=scene.flat, quantity=2),
            ),
            (
                "another-tenants-plan",
                NotFound,
                "resource_missing",
                "plan",
                partial(_subscribe, scene, customer, plan=scene.foreign_plan),
            ),
            (
                "another-tenants-customer",
                NotFound,
                "resource_missing",
                "customer",
                partial(_subscribe, scene, scene.foreign_customer),
            ),
            (
                "retired-plan-version",
                StateConflict,
                "plan_inactive",
                None,
                partial(_subscribe, scene, customer, plan=retired),
            ),
        ]
    )


def test_a_period_amount_beyond_the_money_limit_is_refused(scene: Scene) -> None:
    priciest = _plan(scene, code="priciest", amount_minor=10**13, pricing_model="per_seat")
    customer = scene.w.customer("New")
    before = snapshot()
    with pytest.raises(ValidationFailed) as info:
        _subscribe(scene, customer=customer, plan=priciest, quantity=1_000_000)
    assert info.value.param in ("quantity", "plan")
    assert snapshot() == before


# --- coupons at checkout ------------------------------------------------------------


def _coupon(s: Scene, code: str, **kw: Any) -> Coupon:
    args: dict[str, Any] = {"percent_off": Decimal(20)}
    return billing_coupons.coupon_create(
        tenant=s.w.tenant, code=code, actor=ACTOR, now=START, **(args | kw)
    )


def test_a_coupon_past_redeem_by_is_refused(scene: Scene) -> None:
    _coupon(scene, "LATE", redeem_by=START + timedelta(days=1))
    scene.w.advance(START + timedelta(days=1))  # the very moment it expires
    customer = scene.w.customer("New")
    refused(
        ValidationFailed,
        "coupon_expired",
        "coupon",
        partial(_subscribe, scene, customer, coupon="LATE"),
    )


def test_a_coupon_that_cannot_be_redeemed_is_refused(scene: Scene) -> None:
    _coupon(scene, "ONCE", max_redemptions=1)
    _subscribe(scene, scene.w.customer("First"), coupon="ONCE")
    _coupon(scene, "USD5", percent_off=None, amount_off_minor=500, currency="USD")
    _coupon(scene, "FLATONLY", plan_codes=["flat"])
    customer = scene.w.customer("New")

    def redeem(code: str) -> Callable[[], object]:
        return partial(_subscribe, scene, customer, coupon=code)

    refuse_all(
        [
            (
                "beyond-max-redemptions",
                ValidationFailed,
                "coupon_exhausted",
                "coupon",
                redeem("ONCE"),
            ),
            ("unknown", ValidationFailed, "coupon_invalid", "coupon", redeem("NOPE")),
            ("another-tenants", ValidationFailed, "coupon_invalid", "coupon", redeem("THEIRS")),
            ("other-currency", ValidationFailed, "coupon_not_applicable", "coupon", redeem("USD5")),
            ("other-plan", ValidationFailed, "coupon_not_applicable", "coupon", redeem("FLATONLY")),
        ]
    )
    assert Coupon.objects.get(code="ONCE").times_redeemed == 1


# --- pausing --------------------------------------------------------------------------


def _pause(s: Scene, sub: Subscription, **kw: Any) -> Callable[[], object]:
    return partial(
        subs.subscription_pause,
        tenant=s.w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=s.now,
        **kw,
    )


def test_a_bad_pause_is_refused(scene: Scene) -> None:
    no_pauses = scene.w.subscribe(scene.flat, collection_method="send_invoice")
    active = scene.active
    refuse_all(
        [
            (
                "zero-cycles",
                ValidationFailed,
                "validation_failed",
                "cycles",
                _pause(scene, active, cycles=0),
            ),
            (
                "negative-cycles",
                ValidationFailed,
                "validation_failed",
                "cycles",
                _pause(scene, active, cycles=-1),
            ),
            (
                "float-cycles",
                ValidationFailed,
                "validation_failed",
                "cycles",
                _pause(scene, active, cycles=1.5),
            ),
            ("neither", ValidationFailed, "validation_failed", "cycles", _pause(scene, active)),
            (
                "until-inside-the-period",
                ValidationFailed,
                "validation_failed",
                "until",
                _pause(scene, active, until=START + timedelta(days=3)),
            ),
            (
                "past-plan-limit",
                ValidationFailed,
                "pause_too_long",
                "cycles",
                _pause(scene, active, cycles=3),
            ),
            (
                "until-past-plan-limit",
                ValidationFailed,
                "pause_too_long",
                "cycles",
                _pause(scene, active, until=START + timedelta(days=200)),
            ),
            (
                "plan-without-pauses",
                ValidationFailed,
                "pause_limit_reached",
                "cycles",
                _pause(scene, no_pauses, cycles=1),
            ),
            (
                "canceled",
                StateConflict,
                "subscription_not_pausable",
                None,
                _pause(scene, scene.canceled, cycles=1),
            ),
            (
                "another-tenants",
                NotFound,
                "resource_missing",
                "subscription",
                _pause(scene, scene.foreign_sub, cycles=1),
            ),
        ]
    )


def test_pausing_more_often_than_the_plan_allows_is_refused(scene: Scene) -> None:
    _pause(scene, scene.active, cycles=1)()
    refused(
        StateConflict,
        "change_already_scheduled",
        None,
        _pause(scene, scene.active, cycles=1),
    )
    # The pause runs (Feb 15 – Mar 15) and the subscription resumes by itself.
    scene.w.advance(utc(2026, 3, 20))
    sub = scene.w.refresh(scene.active)
    assert (sub.status, sub.pauses_used) == ("active", 1)
    refused(ValidationFailed, "pause_limit_reached", "cycles", _pause(scene, sub, cycles=1))


# --- changing and cancelling ------------------------------------------------------------


def _change(s: Scene, sub: Subscription, **kw: Any) -> Callable[[], object]:
    return partial(
        billing_subs.subscription_change,
        tenant=s.w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=s.now,
        **kw,
    )


def _preview(s: Scene, sub: Subscription, **kw: Any) -> Callable[[], object]:
    return partial(
        billing_subs.subscription_preview_change,
        tenant=s.w.tenant,
        subscription=sub,
        now=s.now,
        **kw,
    )


def test_a_bad_change_is_refused(scene: Scene) -> None:
    active = scene.active
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("currency", {"plan": scene.usd}, "plan_currency_mismatch", "plan"),
        # An interval change to a plan in another currency: the same refusal.
        ("interval-currency", {"plan": scene.usd_yearly}, "plan_currency_mismatch", "plan"),
        # An interval change is made now (issue 16); scheduled for later it is refused.
        (
            "interval-later",
            {"plan": scene.yearly, "when": "period_end"},
            "interval_change_now_only",
            "when",
        ),
        (
            "interval-bad-anchor",
            {"plan": scene.yearly, "anchor": "x"},
            "validation_failed",
            "anchor",
        ),
        ("zero-quantity", {"quantity": 0}, "validation_failed", "quantity"),
        ("negative-quantity", {"quantity": -1}, "validation_failed", "quantity"),
        ("huge-quantity", {"quantity": 10**9}, "validation_failed", "quantity"),
        ("float-quantity", {"quantity": 3.0}, "validation_failed", "quantity"),
        ("flat-plan-two-seats", {"plan": scene.flat}, "validation_failed", "quantity"),
        ("no-change", {"quantity": 2}, "no_change", "plan"),
        ("unknown-when", {"quantity": 3, "when": "tomorrow"}, "validation_failed", "when"),
        (
            "unknown-proration",
            {"quantity": 3, "proration": "maybe"},
            "validation_failed",
            "proration",
        ),
    ]
    refuse_all(
        [
            (name, ValidationFailed, code, param, _change(scene, active, **kw))
            for name, kw, code, param in cases
        ]
        # The preview refuses the same way (and never writes anyway).
        + [
            (f"preview-{name}", ValidationFailed, code, param, _preview(scene, active, **kw))
            for name, kw, code, param in cases
        ]
        + [
            (
                "canceled",
                StateConflict,
                "subscription_not_changeable",
                None,
                _change(scene, scene.canceled, quantity=3),
            ),
            (
                "another-tenants-plan",
                NotFound,
                "resource_missing",
                "plan",
                _change(scene, active, plan=scene.foreign_plan),
            ),
            (
                "another-tenants-subscription",
                NotFound,
                "resource_missing",
                "subscription",
                _change(scene, scene.foreign_sub, quantity=3),
            ),
        ]
    )


def test_a_bad_cancellation_is_refused(scene: Scene) -> None:
    def cancel(sub: Subscription, **kw: Any) -> Callable[[], object]:
        return partial(
            billing_subs.subscription_cancel,
            tenant=scene.w.tenant,
            subscription_id=sub.pk,
            actor=ACTOR,
            now=scene.now,
            **kw,
        )

    refuse_all(
        [
            ("twice", StateConflict, "subscription_not_changeable", None, cancel(scene.canceled)),
            (
                "credit-at-period-end",
                ValidationFailed,
                "validation_failed",
                "prorate_credit",
                cancel(scene.active, at_period_end=True, prorate_credit=True),
            ),
            (
                "another-tenants",
                NotFound,
                "resource_missing",
                "subscription",
                cancel(scene.foreign_sub),
            ),
        ]
    )


def test_pausing_now_a_canceled_sub_and_live_coupons_past_expiry_are_refused(
    scene: Scene,
) -> None:
    from billing import discounts

    _coupon(scene, "LATE", redeem_by=START + timedelta(days=1))
    _coupon(scene, "FLATONLY", plan_codes=["flat"])
    scene.w.advance(START + timedelta(days=1))  # the very moment LATE expires
    base = {"tenant": scene.w.tenant, "actor": ACTOR, "now": scene.now}
    customer = scene.active.customer
    refuse_all(
        [
            (
                "pause-now-canceled",
                StateConflict,
                "subscription_not_pausable",
                None,
                partial(
                    billing_subs.subscription_pause_now, **base, subscription_id=scene.canceled.pk
                ),
            ),
            (
                "expired-on-subscription",
                ValidationFailed,
                "coupon_expired",
                "coupon",
                partial(
                    discounts.subscription_discount_apply,
                    **base,
                    subscription_id=scene.active.pk,
                    coupon="LATE",
                ),
            ),
            (
                "other-plan-on-subscription",
                ValidationFailed,
                "coupon_not_applicable",
                "coupon",
                partial(
                    discounts.subscription_discount_apply,
                    **base,
                    subscription_id=scene.active.pk,
                    coupon="FLATONLY",
                    proration="now",
                ),
            ),
            (
                "expired-on-customer",
                ValidationFailed,
                "coupon_expired",
                "coupon",
                partial(
                    discounts.customer_discount_apply,
                    **base,
                    customer_id=customer.pk,
                    coupon="LATE",
                ),
            ),
            # The customer's only live subscription is on "seats": a coupon for
            # "flat" would discount nothing of theirs.
            (
                "other-plan-on-customer",
                ValidationFailed,
                "coupon_not_applicable",
                "coupon",
                partial(
                    discounts.customer_discount_apply,
                    **base,
                    customer_id=customer.pk,
                    coupon="FLATONLY",
                ),
            ),
        ]
    )
