"""What Ciclo sells: products, plans and their price versions. One transaction each.

A plan version that anything bills at keeps its price: changing it makes the
next version (``plan_change_price``). The checks on amounts and tiers live here
too (``check_amount``, ``is_whole``, a period's amount for a quantity); the
lifecycle and billing's coupons use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.money import is_known_currency
from subscriptions.domain.catalog import PricingModel, recurring_amount, tiers_of
from subscriptions.domain.cycles import Interval
from subscriptions.models import BillingTiming, Plan, Product, ScheduledChange, Subscription
from tenants.changes import record_change
from tenants.models import Tenant

MAX_AMOUNT_MINOR = 10**13  # far above any real price; keeps arithmetic sane


@transaction.atomic
def product_create(
    *, tenant: Tenant, name: str, actor: Actor, now: datetime, description: str = ""
) -> Product:
    if not name or not name.strip():
        raise ValidationFailed("A product needs a name.", param="name")
    product = Product.objects.create(
        tenant=tenant, name=name.strip()[:200], description=description
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="product.created",
        subject_type="product",
        subject_id=product.public_id,
        data={"product": product.public_id, "name": product.name},
        target=product,
    )
    return product


@transaction.atomic
def product_update(
    *,
    tenant: Tenant,
    product_id: int,
    name: str,
    description: str,
    actor: Actor,
    now: datetime,
) -> Product:
    """Rename or re-describe a product; its plans and their prices are untouched."""
    if not name or not name.strip():
        raise ValidationFailed("A product needs a name.", param="name")
    product = Product.objects.select_for_update().filter(tenant=tenant, pk=product_id).first()
    if product is None:
        raise NotFound("No such product.", param="product")
    old = {"name": product.name, "description": product.description}
    product.name, product.description = name.strip()[:200], description
    product.save(update_fields=["name", "description"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="product.updated",
        subject_type="product",
        subject_id=product.public_id,
        data={"product": product.public_id, "name": product.name},
        target=product,
        changes={k: [v, getattr(product, k)] for k, v in old.items() if v != getattr(product, k)},
    )
    return product


@transaction.atomic
def product_archive(*, tenant: Tenant, product_id: int, actor: Actor, now: datetime) -> Product:
    """An archived product sells no more: its plans stop taking new subscribers,
    and the subscriptions it has keep running at their price."""
    product = Product.objects.select_for_update().filter(tenant=tenant, pk=product_id).first()
    if product is None:
        raise NotFound("No such product.", param="product")
    if not product.active:
        raise StateConflict("The product is archived already.", code="product_archived")
    product.active = False
    product.save(update_fields=["active"])
    Plan.objects.filter(tenant=tenant, product=product, active=True).update(active=False)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="product.updated",
        subject_type="product",
        subject_id=product.public_id,
        data={"product": product.public_id, "active": False},
        target=product,
        action="product.archived",
        changes={"active": [True, False]},
    )
    return product


def _validate_tiers(tiers: Sequence[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    if model in (PricingModel.FLAT, PricingModel.PER_SEAT):
        if tiers:
            raise ValidationFailed("Tiers are only for graduated or volume pricing.", param="tiers")
        return []
    if not tiers:
        raise ValidationFailed("Tiered pricing needs at least one tier.", param="tiers")
    clean, last = [], 0
    for i, tier in enumerate(tiers):
        up_to = tier.get("up_to")
        unit, flat = tier.get("unit_amount_minor", 0), tier.get("flat_amount_minor", 0)
        for name, value in (("unit_amount_minor", unit), ("flat_amount_minor", flat)):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 <= value <= MAX_AMOUNT_MINOR
            ):
                raise ValidationFailed(
                    f"Tier {i + 1}: {name} must be a non-negative integer.", param="tiers"
                )
        last_tier = i == len(tiers) - 1
        if last_tier and up_to is not None:
            raise ValidationFailed("The last tier must have no upper bound.", param="tiers")
        if not last_tier and (
            not isinstance(up_to, int) or isinstance(up_to, bool) or up_to <= last
        ):
            raise ValidationFailed("Tier bounds must be increasing whole numbers.", param="tiers")
        last = up_to or last
        clean.append({"up_to": up_to, "unit_amount_minor": unit, "flat_amount_minor": flat})
    return clean


def is_whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_period_amount(plan: Plan, quantity: int) -> None:
    """Price × seats must stay a sane amount of money, not overflow a column."""
    amount = recurring_amount(
        model=plan.pricing_model,
        unit_amount_minor=plan.amount_minor,
        quantity=quantity,
        tiers=tiers_of(plan.tiers),
    )
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationFailed(
            "This quantity makes a period cost more than Ciclo can bill.",
            param="quantity",
            code="amount_too_large",
        )


def check_amount(value: Any, param: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{param} must be an integer of minor units.", param=param)
    if value < 0:
        raise ValidationFailed(f"{param} cannot be negative.", param=param)
    if value > MAX_AMOUNT_MINOR:
        raise ValidationFailed(f"{param} is too large.", param=param)
    return value


def check_intro(
    intro_amount_minor: Any,
    intro_cycles: Any,
    *,
    term_cycles: int | None,
    pricing_model: str,
    billing_timing: str = BillingTiming.IN_ADVANCE,
) -> tuple[int | None, int]:
    """An introductory phase: a unit price (minor units, 0 for free) for the
    first ``intro_cycles`` paid cycles; both or neither, never longer than a
    fixed term, and for plans priced by a unit (flat or per seat) and billed in
    advance (the in-arrears invoice at a period's end prices the evergreen fee)."""
    if intro_amount_minor is None and intro_cycles in (None, 0):
        return None, 0
    if billing_timing == BillingTiming.IN_ARREARS:
        raise ValidationFailed(
            "An introductory phase applies to plans billed in advance.",
            param="intro_cycles",
            code="intro_in_arrears",
        )
    if not is_whole(intro_cycles, 1, 1200):
        raise ValidationFailed(
            "An intro price needs intro_cycles, a whole number from 1 to 1200.",
            param="intro_cycles",
        )
    if intro_amount_minor is None:
        raise ValidationFailed(
            "An introductory phase needs its price (intro_amount_minor).",
            param="intro_amount_minor",
        )
    check_amount(intro_amount_minor, "intro_amount_minor")
    if term_cycles is not None and intro_cycles > term_cycles:
        raise ValidationFailed(
            f"The introductory phase ({intro_cycles} cycles) is longer than the plan's "
            f"fixed term ({term_cycles} cycles).",
            param="intro_cycles",
            code="intro_longer_than_term",
        )
    if pricing_model not in (PricingModel.FLAT, PricingModel.PER_SEAT):
        raise ValidationFailed(
            "An intro price applies to flat and per-seat plans (tiers have no single price).",
            param="intro_amount_minor",
        )
    return intro_amount_minor, intro_cycles


@transaction.atomic
def plan_create(
    *,
    tenant: Tenant,
    product: Product,
    code: str,
    name: str,
    currency: str,
    amount_minor: int,
    actor: Actor,
    now: datetime,
    interval: str = Interval.MONTH,
    interval_count: int = 1,
    pricing_model: str = PricingModel.FLAT,
    tiers: Sequence[dict[str, Any]] = (),
    trial_days: int = 0,
    setup_fee_minor: int = 0,
    term_cycles: int | None = None,
    term_notice_days: int = 30,
    max_pauses: int = 0,
    max_pause_cycles: int = 0,
    max_installments: int = 1,
    entitlements: dict[str, Any] | None = None,
    tax_rate: Any = None,  # a billing.TaxRate (subscriptions does not import billing)
    ships_goods: bool = False,
    box_items: str = "",
    intro_amount_minor: int | None = None,
    intro_cycles: int = 0,
    billing_timing: str = BillingTiming.IN_ADVANCE,
) -> Plan:
    if product.tenant_id != tenant.pk:
        raise NotFound("No such product.", param="product")
    if not code or not str(code).strip():
        raise ValidationFailed("A plan needs a code.", param="code")
    if not isinstance(currency, str) or not is_known_currency(currency):
        raise ValidationFailed(f"Unknown currency: {currency}", param="currency")
    check_amount(amount_minor, "amount_minor")
    check_amount(setup_fee_minor, "setup_fee_minor")
    if interval not in Interval.__members__.values():
        raise ValidationFailed(f"Unknown interval: {interval}", param="interval")
    for param, value, low, high in (
        ("interval_count", interval_count, 1, 365),
        ("trial_days", trial_days, 0, 730),
        ("term_notice_days", term_notice_days, 0, 365),
        ("max_pauses", max_pauses, 0, 100),
        ("max_pause_cycles", max_pause_cycles, 0, 120),
        ("max_installments", max_installments, 1, 24),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationFailed(
                f"{param} must be a whole number from {low} to {high}.", param=param
            )
    if term_cycles is not None and not is_whole(term_cycles, 1, 1200):
        raise ValidationFailed(
            "term_cycles must be a whole number from 1 to 1200.", param="term_cycles"
        )
    if pricing_model not in PricingModel.__members__.values():
        raise ValidationFailed(f"Unknown pricing model: {pricing_model}", param="pricing_model")
    clean_tiers = _validate_tiers(tiers, pricing_model)
    ships_goods = _plan_value(tenant, "ships_goods", ships_goods)
    box_items = _plan_value(tenant, "box_items", box_items)
    billing_timing = _plan_value(tenant, "billing_timing", billing_timing)
    intro_amount_minor, intro_cycles = check_intro(
        intro_amount_minor,
        intro_cycles,
        term_cycles=term_cycles,
        pricing_model=pricing_model,
        billing_timing=billing_timing,
    )
    if Plan.objects.filter(tenant=tenant, code=code).exists():
        raise StateConflict(
            f"A plan with code '{code}' exists; change its price instead.", code="plan_code_taken"
        )
    plan = Plan.objects.create(
        tenant=tenant,
        product=product,
        code=code,
        name=name or code,
        currency=currency,
        amount_minor=amount_minor,
        interval=interval,
        interval_count=interval_count,
        pricing_model=pricing_model,
        tiers=clean_tiers,
        trial_days=trial_days,
        setup_fee_minor=setup_fee_minor,
        term_cycles=term_cycles,
        term_notice_days=term_notice_days,
        max_pauses=max_pauses,
        max_pause_cycles=max_pause_cycles,
        max_installments=max_installments,
        entitlements=entitlements or {},
        tax_rate=tax_rate,
        ships_goods=ships_goods,
        box_items=box_items,
        intro_amount_minor=intro_amount_minor,
        intro_cycles=intro_cycles,
        billing_timing=billing_timing,
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.created",
        subject_type="plan",
        subject_id=plan.public_id,
        data={"plan": plan.public_id, "code": code},
        target=plan,
        changes={"code": code, "amount_minor": amount_minor, "currency": currency},
    )
    return plan


def _plan_in_use(plan: Plan) -> bool:
    """Anything that bills or will bill at this version's price pins it: its
    subscriptions, the changes scheduled to it, and any row of the apps above
    that carries it (invoice lines, prorations waiting) — found through the
    foreign keys that point at plans, without importing those apps."""
    if (
        Subscription.objects.filter(plan=plan).exists()
        or ScheduledChange.objects.filter(plan=plan, status="pending").exists()
    ):
        return True
    return any(
        rel.related_model._default_manager.filter(**{rel.field.name: plan}).exists()
        for rel in _billed_at_plan_relations()
    )


def _billed_at_plan_relations() -> list[Any]:
    """The foreign keys to ``Plan`` from other apps' models (billing's invoice
    lines and pending prorations), in a stable order."""
    relations = [
        rel
        for rel in Plan._meta.get_fields(include_hidden=True)
        if rel.one_to_many
        and rel.auto_created
        and not rel.concrete
        and _model(rel)._meta.app_label != Plan._meta.app_label
    ]
    return sorted(relations, key=lambda rel: (_model(rel)._meta.label, rel.field.name))


def _model(rel: Any) -> type[Model]:
    return cast(type[Model], rel.related_model)


@transaction.atomic
def plan_change_price(
    *,
    tenant: Tenant,
    plan_id: int,
    amount_minor: int,
    actor: Actor,
    now: datetime,
    setup_fee_minor: int | None = None,
    intro: tuple[int | None, int] | None = None,
) -> Plan:
    """A used plan keeps its price: the change makes the next version, which new
    subscriptions get; existing subscribers keep theirs until migrated.
    ``intro``: the new (intro_amount_minor, intro_cycles), (None, 0) for no
    introductory phase; None keeps the plan's."""
    check_amount(amount_minor, "amount_minor")
    if setup_fee_minor is not None:
        check_amount(setup_fee_minor, "setup_fee_minor")
    plan = Plan.objects.select_for_update().filter(tenant=tenant, pk=plan_id).first()
    if plan is None:
        raise NotFound("No such plan.", param="plan")
    if plan.superseded_by_id is not None:
        raise StateConflict("Only the latest version of a plan can change.", code="plan_superseded")
    setup = plan.setup_fee_minor if setup_fee_minor is None else setup_fee_minor
    phase = (plan.intro_amount_minor, plan.intro_cycles) if intro is None else intro
    phase = check_intro(
        *phase,
        term_cycles=plan.term_cycles,
        pricing_model=plan.pricing_model,
        billing_timing=plan.billing_timing,
    )
    old_amount = plan.amount_minor
    if not _plan_in_use(plan):
        plan.amount_minor, plan.setup_fee_minor = amount_minor, setup
        plan.intro_amount_minor, plan.intro_cycles = phase
        plan.save(
            update_fields=["amount_minor", "setup_fee_minor", "intro_amount_minor", "intro_cycles"]
        )
        new = plan
    else:
        old_pk = plan.pk
        new = Plan.objects.get(pk=old_pk)
        new.pk = None
        new.public_id = Plan._meta.get_field("public_id").get_default()
        new.version = plan.version + 1
        new.amount_minor, new.setup_fee_minor = amount_minor, setup
        new.intro_amount_minor, new.intro_cycles = phase
        new.superseded_by = None
        new.save()
        Plan.objects.filter(pk=old_pk).update(superseded_by=new, active=False)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.updated",
        subject_type="plan",
        subject_id=new.public_id,
        data={"plan": new.public_id, "version": new.version},
        target=new,
        action="plan.price_changed",
        changes={"amount_minor": [old_amount, amount_minor], "version": new.version},
    )
    return new


# What a plan can change in place, on every version of its code: none of it is
# the price (that makes a new version, ``plan_change_price``). Trial days apply to
# subscriptions started afterwards; pause limits, installments and entitlements to
# every subscriber from now on; the tax rate to invoices issued from now on.
PLAN_EDITABLE = (
    "name",
    "trial_days",
    "max_pauses",
    "max_pause_cycles",
    "max_installments",
    "entitlements",
    "tax_rate",
    "ships_goods",
    "box_items",
    # Only while no version of the plan is in use (``plan_update``).
    "billing_timing",
)
_PLAN_LIMITS = {
    "trial_days": (0, 730),
    "max_pauses": (0, 100),
    "max_pause_cycles": (0, 120),
    "max_installments": (1, 24),
}


BOX_ITEMS_MAX = 2000


def clean_box_items(value: Any) -> str:
    """What a physical plan's box holds: one item per line (e.g. "2 x Coffee
    250 g"), blank lines dropped, at most 2000 characters, no control characters."""
    if not isinstance(value, str):
        raise ValidationFailed("The box contents must be text.", param="box_items")
    lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
    text = "\n".join(line for line in lines if line)
    if len(text) > BOX_ITEMS_MAX:
        raise ValidationFailed(
            f"The box contents are at most {BOX_ITEMS_MAX} characters.", param="box_items"
        )
    if any(ord(ch) < 32 and ch != "\n" for ch in text):
        raise ValidationFailed("The box contents hold a control character.", param="box_items")
    return text


def _plan_value(tenant: Tenant, field: str, value: Any) -> Any:
    if field == "name":
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
            raise ValidationFailed("A plan needs a name of at most 200 characters.", param=field)
        return value.strip()
    if field in _PLAN_LIMITS:
        low, high = _PLAN_LIMITS[field]
        if not is_whole(value, low, high):
            raise ValidationFailed(
                f"{field} must be a whole number from {low} to {high}.", param=field
            )
        return value
    if field == "ships_goods":
        if not isinstance(value, bool):
            raise ValidationFailed("ships_goods must be true or false.", param=field)
        return value
    if field == "box_items":
        return clean_box_items(value)
    if field == "billing_timing":
        if value not in BillingTiming.values:
            raise ValidationFailed(
                _("billing_timing must be 'in_advance' or 'in_arrears'."), param=field
            )
        return value
    if field == "entitlements":
        if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
            raise ValidationFailed("entitlements must be an object of names.", param=field)
        return value
    # tax_rate: a billing.TaxRate of this tenant, active, or None (subscriptions
    # does not import billing).
    if value is not None and (
        getattr(value, "tenant_id", None) != tenant.pk or not getattr(value, "active", False)
    ):
        raise NotFound("No such tax rate.", param=field)
    return value


@transaction.atomic
def plan_update(
    *,
    tenant: Tenant,
    plan_id: int,
    changes: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> Plan:
    """Change some of ``PLAN_EDITABLE`` on every version of the plan's code; a
    change to the values it has is a no-op. Returns the version given."""
    plan = Plan.objects.select_for_update().filter(tenant=tenant, pk=plan_id).first()
    if plan is None:
        raise NotFound("No such plan.", param="plan")
    unknown = sorted(set(changes) - set(PLAN_EDITABLE))
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]} cannot be changed here (a price makes a new version).",
            param=unknown[0],
        )
    values = {field: _plan_value(tenant, field, raw) for field, raw in changes.items()}
    diff = {
        field: [_change_value(getattr(plan, field)), _change_value(value)]
        for field, value in values.items()
        if getattr(plan, field) != value
    }
    if not diff:
        return plan
    versions = Plan.objects.select_for_update().filter(tenant=tenant, code=plan.code)
    if "billing_timing" in diff and any(_plan_in_use(v) for v in versions):
        # Subscribers and invoices were billed on the timing they signed up with.
        raise StateConflict(
            _(
                "The billing timing of a plan with subscribers or invoices cannot change: "
                "create a new plan billed the other way."
            ),
            param="billing_timing",
            code="plan_in_use",
        )
    if values.get("billing_timing") == BillingTiming.IN_ARREARS and plan.intro_cycles:
        raise ValidationFailed(
            "An introductory phase applies to plans billed in advance; remove it first.",
            param="billing_timing",
            code="intro_in_arrears",
        )
    versions.update(**{field: values[field] for field in diff})
    plan.refresh_from_db()
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.updated",
        subject_type="plan",
        subject_id=plan.public_id,
        data={"plan": plan.public_id, "code": plan.code, "changed": sorted(diff)},
        target=plan,
        changes=diff,
    )
    return plan


def _change_value(value: Any) -> Any:
    return getattr(value, "public_id", value)


@transaction.atomic
def plan_set_active(
    *, tenant: Tenant, plan_id: int, active: bool, actor: Actor, now: datetime
) -> Plan:
    """Archive (no new subscribers; current ones keep running at their price) or
    unarchive the latest version of a plan. Idempotent."""
    plan = (
        Plan.objects.select_for_update()
        .select_related("product")
        .filter(tenant=tenant, pk=plan_id)
        .first()
    )
    if plan is None:
        raise NotFound("No such plan.", param="plan")
    if plan.superseded_by_id is not None:
        raise StateConflict(
            "Only the latest version of a plan can be archived or unarchived.",
            code="plan_superseded",
        )
    if plan.active == active:
        return plan
    if active and not plan.product.active:
        raise StateConflict(
            "The plan's product is archived: a plan of it cannot take subscribers.",
            code="product_archived",
        )
    plan.active = active
    plan.save(update_fields=["active"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.updated",
        subject_type="plan",
        subject_id=plan.public_id,
        data={"plan": plan.public_id, "active": active},
        target=plan,
        action="plan.unarchived" if active else "plan.archived",
        changes={"active": [not active, active]},
    )
    return plan
