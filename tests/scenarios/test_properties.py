"""Property tests of the billing engine through its services (issue 16).

Random sequences of changes on random dates — plan up/down, interval change
(anchor kept or reset), quantity, pause now (credit or carry) and resume, a
pause scheduled for the period end, a coupon (percent or amount off) applied or
removed on the live subscription, an add-on (with a setup fee) added,
re-quantified or removed with each proration behaviour, and time advancing through renewals on a
test clock — under random tenant conventions (proration precision, rounding,
the day of a change, 30-day months, quantity-change lines). After every step:

- every invoice's total is the sum of its lines, and subtotal, discount and tax
  are the sums of the lines' (total = subtotal - discount + exclusive tax);
- no invoice total (nor amount due) is negative;
- every preview (change, interval change, pause, discount, add-on, next invoice) is
  exactly what the action then writes.

A second test makes a change and its reversal at the same instant: they net to
at most one minor unit per line written.

Each example runs in a savepoint rolled back at its end, on one tenant and one
catalog made once per test; a derandomized profile keeps CI repeatable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from billing import coupons as billing_coupons
from billing import discounts
from billing import items as billing_items
from billing import subscriptions as billing_subs
from billing.clocks import clock_create
from billing.models import CreditNote, Invoice, InvoiceLine, PendingLine
from core.errors import DomainError
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import Plan, Subscription
from tenants.models import Tenant
from tests.support.billing import ACTOR, World, utc, world

settings.register_profile(
    "ciclo-engine",
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
PROFILE = settings.get_profile("ciclo-engine")

pytestmark = pytest.mark.django_db

CONVENTIONS = st.fixed_dictionaries(
    {
        "proration_precision": st.sampled_from(["day", "second"]),
        "rounding_mode": st.sampled_from(["half_even", "half_up"]),
        "proration_change_day": st.sampled_from(["new", "old"]),
        "proration_day_count": st.sampled_from(["calendar", "thirty"]),
        "quantity_change_lines": st.sampled_from(["split", "difference"]),
        "interval_change_anchor": st.sampled_from(["reset", "keep"]),
        "pause_unused": st.sampled_from(["credit", "carry"]),
    }
)
# Start moments: any minute of 2027–2028 (a leap year) in UTC.
STARTS = st.builds(
    lambda days, minutes: utc(2027, 1, 1) + timedelta(days=days, minutes=minutes),
    st.integers(min_value=0, max_value=729),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)
GAPS = st.builds(
    lambda days, minutes: timedelta(days=days, minutes=minutes),
    st.integers(min_value=0, max_value=45),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)


@dataclass
class Catalog:
    w: World
    plans: dict[str, Plan]  # monthly: basic, pro (taxed); quarterly; annual; storage (add-on)


@pytest.fixture
def catalog(db: None) -> Iterator[Catalog]:
    with world(utc(2027, 1, 1), slug="props") as w:
        exclusive = w.tax("5", name="ISS")
        inclusive = w.tax("10", inclusive=True, name="IVA")
        pause = {"max_pauses": 100, "max_pause_cycles": 3, "pricing_model": "per_seat"}
        plans = {
            "basic": w.plan("basic", amount=9_990, **pause),
            "pro": w.plan("pro", amount=24_990, tax_rate=exclusive, **pause),
            "quarterly": w.plan(
                "quarterly", amount=27_000, interval="month", interval_count=3, **pause
            ),
            "annual": w.plan("annual", amount=99_900, interval="year", tax_rate=inclusive, **pause),
            # A monthly add-on: refused beside quarterly and annual plans, and
            # it blocks interval changes while live (both refusals exercised).
            "storage": w.plan(
                "storage", amount=3_100, pricing_model="per_seat", setup_fee_minor=500
            ),
        }
        billing_coupons.coupon_create(
            tenant=w.tenant,
            code="PCT15",
            percent_off=Decimal("15"),
            duration="forever",
            actor=ACTOR,
            now=w.now,
        )
        billing_coupons.coupon_create(
            tenant=w.tenant,
            code="OFF50",
            amount_off_minor=5_000,
            currency="BRL",
            duration="repeating",
            duration_cycles=3,
            actor=ACTOR,
            now=w.now,
        )
        yield Catalog(w=w, plans=plans)


class Rollback(Exception):
    """Ends an example's savepoint."""


@dataclass
class Example:
    """One example's world: the tenant with its conventions, a fresh clock and
    customer, and one subscription."""

    tenant: Tenant
    w: World
    sub: Subscription

    @property
    def now(self) -> datetime:
        return self.w.now

    def refresh(self) -> Subscription:
        return Subscription.objects.select_related("plan", "plan__tax_rate", "customer").get(
            pk=self.sub.pk
        )


def _example(cat: Catalog, conventions: dict[str, str], start: datetime, plan: str) -> Example:
    tenant = cat.w.tenant
    for field, value in conventions.items():
        setattr(tenant, field, value)
    tenant.save(update_fields=list(conventions))
    clock = clock_create(tenant=tenant, frozen_time=start, actor=ACTOR, now=start)
    w = World(tenant=tenant, clock=clock, product=cat.w.product)
    customer = Customer.objects.create(tenant=tenant, name="Ana", test_clock=clock)
    sub = w.subscribe(
        cat.plans[plan], customer=customer, quantity=2, collection_method="send_invoice"
    )
    return Example(tenant=tenant, w=w, sub=sub)


def _run(cat: Catalog, body: Any) -> None:
    """``body`` in a savepoint rolled back afterwards (the tenant's conventions too)."""
    try:
        with transaction.atomic():
            body()
            raise Rollback
    except Rollback:
        pass
    finally:
        cat.w.tenant.refresh_from_db()


# --- what must hold after every step ------------------------------------------------


def _check_documents(ex: Example) -> None:
    for inv in Invoice.objects.filter(tenant=ex.tenant, subscription=ex.sub).exclude(
        status=Invoice.Status.DRAFT
    ):
        lines = list(inv.lines.all())
        where = f"invoice {inv.number} {inv.billing_reason}: {_view(lines)}"
        assert inv.total_minor == sum(ln.total_minor for ln in lines), where
        assert inv.subtotal_minor == sum(ln.amount_minor for ln in lines), where
        assert inv.discount_minor == sum(ln.discount_minor for ln in lines), where
        assert inv.tax_minor == sum(ln.tax_minor for ln in lines), where
        exclusive = sum(ln.tax_minor for ln in lines if not ln.tax_inclusive)
        assert inv.total_minor == inv.subtotal_minor - inv.discount_minor + exclusive, where
        for ln in lines:
            net = ln.amount_minor - ln.discount_minor
            assert ln.total_minor == (net if ln.tax_inclusive else net + ln.tax_minor), where
        assert inv.total_minor >= 0, where
        assert inv.amount_due_minor >= 0, where
    for cn in CreditNote.objects.filter(tenant=ex.tenant, invoice__subscription=ex.sub):
        assert cn.total_minor == sum(ln.total_minor for ln in cn.lines.all())
        assert cn.total_minor >= 0


def _view(lines: list[InvoiceLine]) -> list[tuple[Any, ...]]:
    return [
        (ln.kind, ln.quantity, ln.amount_minor, ln.discount_minor, ln.tax_minor, ln.total_minor)
        for ln in lines
    ]


def _proposed(lines: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (ln.kind, ln.quantity, ln.amount_minor, ln.discount_minor, ln.tax_minor, ln.total_minor)
        for ln in lines
    ]


def _invoice_ids(ex: Example) -> set[int]:
    return set(Invoice.objects.filter(subscription=ex.sub).values_list("pk", flat=True))


def _new_invoices(ex: Example, before: set[int]) -> list[Invoice]:
    return list(
        Invoice.objects.filter(subscription=ex.sub)
        .exclude(pk__in=before)
        .prefetch_related("lines")
        .order_by("pk")
    )


# --- the steps ------------------------------------------------------------------------


def _change(ex: Example, **kw: Any) -> None:
    """A change now, previewed first: the preview is what it writes."""
    sub = ex.refresh()
    try:
        preview = billing_subs.subscription_preview_change(
            tenant=ex.tenant, subscription=sub, now=ex.now, **kw
        )
    except DomainError as exc:
        # The change itself refuses it the same way, and changes nothing.
        before = (_invoice_ids(ex), PendingLine.objects.filter(subscription=sub).count())
        with pytest.raises(DomainError) as again:
            billing_subs.subscription_change(
                tenant=ex.tenant, subscription_id=sub.pk, actor=ACTOR, now=ex.now, **kw
            )
        assert (again.value.code, again.value.param) == (exc.code, exc.param)  # noqa: PT017
        after = (_invoice_ids(ex), PendingLine.objects.filter(subscription=sub).count())
        assert after == before
        return
    invoices = _invoice_ids(ex)
    pending = set(PendingLine.objects.filter(subscription=sub).values_list("pk", flat=True))
    billing_subs.subscription_change(
        tenant=ex.tenant, subscription_id=sub.pk, actor=ACTOR, now=ex.now, **kw
    )
    written = _new_invoices(ex, invoices)
    if written:
        assert len(written) == 1
        assert _proposed(preview.lines) == _view(list(written[0].lines.all()))
        assert preview.total_minor == written[0].total_minor
    else:
        # Prorations for the next invoice: the preview's lines, before pricing.
        new = PendingLine.objects.filter(subscription=sub).exclude(pk__in=pending).order_by("pk")
        assert [(p.kind, p.quantity, p.amount_minor) for p in preview.lines] == [
            (p.kind, p.quantity, p.amount_minor) for p in new
        ]


def _pause_now(ex: Example, unused: str, days: int) -> None:
    sub = ex.refresh()
    resume_at = ex.now + timedelta(days=days)
    args = {"tenant": ex.tenant, "subscription_id": sub.pk, "now": ex.now}
    try:
        preview = billing_subs.subscription_preview_pause(
            **args, resume_at=resume_at, unused=unused
        )
    except DomainError:
        return
    notes = set(CreditNote.objects.filter(tenant=ex.tenant).values_list("pk", flat=True))
    paused = billing_subs.subscription_pause_now(
        **args, actor=ACTOR, resume_at=resume_at, unused=unused
    )
    written = CreditNote.objects.filter(tenant=ex.tenant).exclude(pk__in=notes).order_by("pk")
    assert preview.credit_minor == sum(n.total_minor for n in written)
    assert preview.credits == [(n.invoice.number or "", n.total_minor) for n in written]
    assert preview.resumes_at == paused.current_period_end == resume_at
    assert preview.carried_from == paused.pause_carry_until


def _discount(ex: Example, coupon: str | None, proration: str) -> None:
    sub = ex.refresh()
    if (
        coupon is None
        and discounts.live_discount(tenant_id=ex.tenant.pk, subscription_id=sub.pk) is None
    ):
        return
    try:
        preview = discounts.subscription_discount_preview(
            tenant=ex.tenant, subscription=sub, now=ex.now, coupon=coupon
        )
    except DomainError:
        return
    before = _invoice_ids(ex)
    args = {"tenant": ex.tenant, "subscription_id": sub.pk, "actor": ACTOR, "now": ex.now}
    if coupon is None:
        discounts.subscription_discount_remove(**args, proration=proration)
    else:
        discounts.subscription_discount_apply(**args, coupon=coupon, proration=proration)
    written = _new_invoices(ex, before)
    if proration == discounts.NEXT_INVOICE or not preview.lines:
        assert written == []
        return
    assert len(written) == 1
    assert _proposed(preview.lines) == _view(list(written[0].lines.all()))
    assert preview.total_minor == written[0].total_minor


def _item(cat: Catalog, ex: Example, action: str, quantity: int, proration: str) -> None:
    """An add-on added, re-quantified or removed now, previewed first: the preview
    is what it writes; a refusal refuses the action the same way, changing nothing."""
    sub = ex.refresh()
    live = sub.items.filter(ended_at__isnull=True).first()
    args: dict[str, Any] = {"tenant": ex.tenant, "subscription_id": sub.pk, "now": ex.now}
    args["proration"] = proration
    if action == "add":
        args.update(plan=cat.plans["storage"], quantity=quantity)
        preview_fn, act = (
            billing_items.subscription_item_preview_add,
            billing_items.subscription_item_add,
        )
    elif live is None:
        return
    elif action == "update":
        args.update(item_id=live.public_id, quantity=quantity)
        preview_fn = billing_items.subscription_item_preview_update
        act = billing_items.subscription_item_update
    else:
        args.update(item_id=live.public_id)
        preview_fn = billing_items.subscription_item_preview_remove
        act = billing_items.subscription_item_remove
    invoices = _invoice_ids(ex)
    pending = set(PendingLine.objects.filter(subscription=sub).values_list("pk", flat=True))
    try:
        preview = preview_fn(**args)
    except DomainError as exc:
        with pytest.raises(DomainError) as again:
            act(**args, actor=ACTOR)
        assert (again.value.code, again.value.param) == (exc.code, exc.param)  # noqa: PT017
        assert _invoice_ids(ex) == invoices
        assert set(PendingLine.objects.filter(subscription=sub).values_list("pk", flat=True)) == (
            pending
        )
        return
    act(**args, actor=ACTOR)
    written = _new_invoices(ex, invoices)
    if preview.invoiced:
        assert len(written) == 1
        assert _proposed(preview.lines) == _view(list(written[0].lines.all()))
        assert preview.total_minor == written[0].total_minor
    else:
        assert written == []
        new = PendingLine.objects.filter(subscription=sub).exclude(pk__in=pending).order_by("pk")
        assert [(p.kind, p.quantity, p.amount_minor) for p in preview.lines] == [
            (p.kind, p.quantity, p.amount_minor) for p in new
        ]


def _advance(ex: Example, gap: timedelta) -> None:
    """Time passes; the next invoice, previewed before, is the one the run writes."""
    sub = ex.refresh()
    target = ex.now + gap
    if sub.next_event_at is not None and sub.next_event_at <= target:
        # Stop at the next event first, so the preview is of the invoice it writes.
        at = sub.next_event_at
        preview = billing_subs.subscription_preview_next_invoice(
            tenant=ex.tenant, subscription_id=sub.pk
        )
        before = _invoice_ids(ex)
        ex.w.advance(max(at, ex.now))
        written = _new_invoices(ex, before)
        if preview is None:
            assert written == []
        else:
            assert written, "the preview showed an invoice the run did not write"
            got = written[0]
            assert _proposed(preview.lines) == _view(list(got.lines.all()))
            assert preview.totals.total_minor == got.total_minor
            assert preview.totals.subtotal_minor == got.subtotal_minor
            assert preview.totals.tax_minor == got.tax_minor
            assert preview.totals.discount_minor == got.discount_minor
            assert (preview.period_start, preview.period_end) == (
                got.period_start,
                got.period_end,
            )
    if target > ex.now:
        ex.w.advance(target)


def _step(cat: Catalog, ex: Example, step: tuple[str, Any]) -> None:
    kind, arg = step
    sub = ex.refresh()
    plans = cat.plans
    if kind == "advance":
        _advance(ex, arg)
    elif kind == "plan":
        # Up or down within the same interval (monthly: basic ↔ pro).
        if sub.plan.code in ("basic", "pro"):
            other = plans["pro" if sub.plan.code == "basic" else "basic"]
            _change(ex, plan=other, proration=arg)
    elif kind == "interval":
        target, anchor = arg
        _change(ex, plan=plans[target], anchor=anchor)
    elif kind == "quantity":
        quantity, proration = arg
        _change(ex, quantity=quantity, proration=proration)
    elif kind == "pause_now":
        unused, days = arg
        _pause_now(ex, unused, days)
    elif kind == "resume":
        if sub.status == "paused":
            before = _invoice_ids(ex)
            billing_subs.subscription_resume(
                tenant=ex.tenant, subscription_id=sub.pk, actor=ACTOR, now=ex.now
            )
            assert ex.refresh().status == "active"
            assert len(_new_invoices(ex, before)) <= 1
    elif kind == "pause_later":
        with contextlib.suppress(DomainError):
            subs.subscription_pause(
                tenant=ex.tenant, subscription_id=sub.pk, actor=ACTOR, now=ex.now, cycles=1
            )
    elif kind == "coupon":
        code, proration = arg
        _discount(ex, code, proration)
    elif kind == "item":
        action, quantity, proration = arg
        _item(cat, ex, action, quantity, proration)
    _check_documents(ex)


STEPS = st.one_of(
    st.tuples(st.just("advance"), GAPS),
    st.tuples(st.just("plan"), st.sampled_from(["next_invoice", "invoice_now"])),
    st.tuples(
        st.just("interval"),
        st.tuples(
            st.sampled_from(["basic", "quarterly", "annual"]), st.sampled_from(["reset", "keep"])
        ),
    ),
    st.tuples(
        st.just("quantity"),
        st.tuples(
            st.integers(min_value=1, max_value=5),
            st.sampled_from(["next_invoice", "invoice_now"]),
        ),
    ),
    st.tuples(
        st.just("pause_now"),
        st.tuples(st.sampled_from(["credit", "carry"]), st.integers(min_value=1, max_value=60)),
    ),
    st.tuples(st.just("resume"), st.none()),
    st.tuples(st.just("pause_later"), st.none()),
    st.tuples(
        st.just("coupon"),
        st.tuples(
            st.sampled_from(["PCT15", "OFF50", None]), st.sampled_from(["now", "next_invoice"])
        ),
    ),
    st.tuples(
        st.just("item"),
        st.tuples(
            st.sampled_from(["add", "update", "remove"]),
            st.integers(min_value=1, max_value=4),
            st.sampled_from(["invoice_now", "next_invoice", "none"]),
        ),
    ),
)


@PROFILE
@given(
    conventions=CONVENTIONS,
    start=STARTS,
    plan=st.sampled_from(["basic", "pro", "quarterly", "annual"]),
    steps=st.lists(st.tuples(GAPS, STEPS), min_size=1, max_size=5),
)
def test_random_change_sequences_keep_documents_whole_and_previews_exact(
    catalog: Catalog,
    conventions: dict[str, str],
    start: datetime,
    plan: str,
    steps: list[tuple[timedelta, tuple[str, Any]]],
) -> None:
    def body() -> None:
        ex = _example(catalog, conventions, start, plan)
        _check_documents(ex)
        for gap, step in steps:
            _advance(ex, gap)
            _step(catalog, ex, step)
        # And through two more renewals, whatever the sequence left.
        _advance(ex, timedelta(days=400))
        _check_documents(ex)

    _run(catalog, body)


ITEM_STEPS = st.one_of(
    st.tuples(st.just("advance"), GAPS),
    st.tuples(st.just("plan"), st.sampled_from(["next_invoice", "invoice_now"])),
    st.tuples(
        st.just("quantity"),
        st.tuples(
            st.integers(min_value=1, max_value=5),
            st.sampled_from(["next_invoice", "invoice_now"]),
        ),
    ),
    st.tuples(
        st.just("coupon"),
        st.tuples(st.sampled_from(["PCT15", "OFF50", None]), st.sampled_from(["now"])),
    ),
    st.tuples(
        st.just("item"),
        st.tuples(
            st.sampled_from(["add", "add", "update", "remove"]),
            st.integers(min_value=1, max_value=4),
            st.sampled_from(["invoice_now", "next_invoice", "none"]),
        ),
    ),
)


@PROFILE
@given(
    conventions=CONVENTIONS,
    start=STARTS,
    plan=st.sampled_from(["basic", "pro"]),
    steps=st.lists(st.tuples(GAPS, ITEM_STEPS), min_size=2, max_size=5),
)
def test_random_add_on_sequences_keep_documents_whole_and_previews_exact(
    catalog: Catalog,
    conventions: dict[str, str],
    start: datetime,
    plan: str,
    steps: list[tuple[timedelta, tuple[str, Any]]],
) -> None:
    # Monthly base plans, so the monthly add-on is accepted: add, re-quantify and
    # remove it among plan, quantity and coupon changes and renewals.
    def body() -> None:
        ex = _example(catalog, conventions, start, plan)
        _item(catalog, ex, "add", 1, "invoice_now")
        assert ex.refresh().items.filter(ended_at__isnull=True).count() == 1
        _check_documents(ex)
        for gap, step in steps:
            _advance(ex, gap)
            _step(catalog, ex, step)
        _advance(ex, timedelta(days=100))
        _check_documents(ex)

    _run(catalog, body)


# --- a change and its reversal at the same instant ------------------------------------

REVERSIBLE = st.sampled_from(
    [
        ("plan", {"plan": "pro"}, {"plan": "basic"}),
        ("quantity", {"quantity": 5}, {"quantity": 2}),
        (
            "interval-keep",
            {"plan": "quarterly", "anchor": "keep"},
            {"plan": "basic", "anchor": "keep"},
        ),
        (
            "interval-keep",
            {"plan": "annual", "anchor": "keep"},
            {"plan": "basic", "anchor": "keep"},
        ),
        ("coupon", {"coupon": "PCT15"}, {"coupon": None}),
        ("coupon", {"coupon": "OFF50"}, {"coupon": None}),
    ]
)


@PROFILE
@given(
    conventions=CONVENTIONS,
    start=STARTS,
    gap=GAPS,
    reversal=REVERSIBLE,
    proration=st.sampled_from(["next_invoice", "invoice_now"]),
)
def test_a_change_and_its_reversal_at_the_same_instant_net_to_a_unit_per_line(
    catalog: Catalog,
    conventions: dict[str, str],
    start: datetime,
    gap: timedelta,
    reversal: tuple[str, dict[str, Any], dict[str, Any]],
    proration: str,
) -> None:
    kind, there, back = reversal
    note(f"{conventions} {start} {gap} {proration}")

    def do(ex: Example, args: dict[str, Any]) -> None:
        base = {"tenant": ex.tenant, "subscription_id": ex.sub.pk, "actor": ACTOR, "now": ex.now}
        if kind == "coupon":
            if args["coupon"] is None:
                discounts.subscription_discount_remove(**base, proration="now")
            else:
                discounts.subscription_discount_apply(
                    **base, coupon=args["coupon"], proration="now"
                )
            return
        plan = catalog.plans[args["plan"]] if "plan" in args else None
        extra = {"anchor": args["anchor"]} if "anchor" in args else {"proration": proration}
        billing_subs.subscription_change(**base, plan=plan, quantity=args.get("quantity"), **extra)

    def body() -> None:
        ex = _example(catalog, conventions, start, "basic")
        ex.w.advance(start + timedelta(days=31) + gap)  # mid-period, after a renewal
        invoices = _invoice_ids(ex)
        pending = set(PendingLine.objects.filter(subscription=ex.sub).values_list("pk", flat=True))
        do(ex, there)
        do(ex, back)
        written = [
            ln
            for inv in _new_invoices(ex, invoices)
            for ln in inv.lines.all()
            if ln.kind != InvoiceLine.Kind.CREDIT_CARRIED
        ]
        waiting = list(PendingLine.objects.filter(subscription=ex.sub).exclude(pk__in=pending))
        # Amounts net to the unit: each credit is the charge it reverses, rounded
        # the same way; discounts and taxes, rounded per line, by one a line at most.
        net_amount = sum(ln.amount_minor for ln in written) + sum(p.amount_minor for p in waiting)
        net_total = sum(ln.total_minor for ln in written) + sum(p.amount_minor for p in waiting)
        count = len(written) + len(waiting)
        assert abs(net_amount) <= count, (_view(written), waiting)
        assert abs(net_total) <= count, (_view(written), waiting)
        assert ex.refresh().plan.code == "basic"
        assert ex.refresh().quantity == 2
        _check_documents(ex)

    _run(catalog, body)
