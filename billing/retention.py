"""What a subscriber may do with a subscription in the portal, and the
cancellation flow: the reason and comment are recorded (audit + event) with the
cancellation or with the retention offer the subscriber accepted instead."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from billing import subscriptions as billing_subs
from billing.coupons import coupon_redeem
from billing.models import Coupon, PlanPortalOptions
from core.actors import Actor
from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from subscriptions import services as subs
from subscriptions.models import Plan, Subscription
from subscriptions.services import ProrationBehavior
from tenants.cancel_reasons import CancelReason, cancel_reasons_of
from tenants.changes import record_change
from tenants.models import Tenant

COMMENT_MAX = 2000


def portal_options(plan: Plan) -> PlanPortalOptions:
    """The plan's portal options; a plan without a row allows everything, offers nothing."""
    found = (
        PlanPortalOptions.objects.filter(tenant_id=plan.tenant_id, plan_code=plan.code)
        .select_related("offer_coupon", "offer_plan")
        .first()
    )
    return found or PlanPortalOptions(tenant_id=plan.tenant_id, plan_code=plan.code)


def portal_change_plans(*, sub: Subscription) -> QuerySet[Plan]:
    """Plans this subscriber may move to: active, same currency, and either one
    of the codes the merchant listed or (none listed) the same product."""
    options = portal_options(sub.plan)
    rows = Plan.objects.filter(
        tenant_id=sub.tenant_id, active=True, currency=sub.plan.currency
    ).select_related("product")
    if options.change_plan_codes:
        rows = rows.filter(Q(code__in=options.change_plan_codes) | Q(pk=sub.plan_id))
    else:
        rows = rows.filter(product_id=sub.plan.product_id)
    return rows.order_by("amount_minor", "code", "-version")


def _check(sub: Subscription, what: str) -> PlanPortalOptions:
    options = portal_options(sub.plan)
    if not getattr(options, f"allow_{what}"):
        raise PermissionDenied(
            "The merchant does not allow this from the portal.", code=f"portal_{what}_disabled"
        )
    return options


def _clean_feedback(
    tenant: Tenant, reason: str, comment: str, language: str | None
) -> tuple[CancelReason, str]:
    """The tenant's reason ``reason`` (its label as the subscriber saw it, in
    ``language``) and the cleaned comment; an unknown code is refused."""
    found = next((r for r in cancel_reasons_of(tenant, language) if r.code == reason), None)
    if found is None:
        raise ValidationFailed(
            "Choose one of the reasons listed.", param="reason", code="unknown_cancel_reason"
        )
    comment = comment.strip()
    if "\x00" in comment or len(comment) > COMMENT_MAX:
        raise ValidationFailed("The comment is not valid text.", param="comment")
    return found, comment


def _record_feedback(
    *,
    tenant: Tenant,
    sub: Subscription,
    actor: Actor,
    now: datetime,
    reason: CancelReason,
    comment: str,
    outcome: str,
) -> None:
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.cancellation_feedback",
        subject_type="subscription",
        subject_id=sub.public_id,
        data={
            "subscription": sub.public_id,
            "reason": reason.code,
            "reason_label": reason.label,
            "comment": comment,
            "outcome": outcome,
        },
        target=sub,
        changes={
            "reason": reason.code,
            "reason_label": reason.label,
            "comment": comment,
            "outcome": outcome,
        },
    )


def portal_check(*, sub: Subscription, what: str) -> None:
    """Raise PermissionDenied when the plan hides ``what`` (change/pause/cancel)."""
    _check(sub, what)


@transaction.atomic
def portal_subscription_change(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    plan: Plan,
    quantity: int,
) -> Subscription:
    """A subscriber's change of plan or quantity, now, the proration on the next invoice."""
    sub = Subscription.objects.select_related("plan").get(tenant=tenant, pk=subscription_id)
    _check(sub, "change")
    if not portal_change_plans(sub=sub).filter(pk=plan.pk).exists():
        raise ValidationFailed("This plan is not offered to you.", param="plan")
    return billing_subs.subscription_change(
        tenant=tenant,
        subscription_id=sub.pk,
        actor=actor,
        now=now,
        plan=plan,
        quantity=quantity,
        when="now",
        proration=ProrationBehavior.NEXT_INVOICE,
    )


@transaction.atomic
def subscription_cancel_with_reason(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    at_period_end: bool,
    reason: str | None,
    comment: str = "",
    prorate_credit: bool = False,
    language: str | None = None,
) -> Subscription:
    """Cancel (now or at the period end) and keep why: ``reason`` is one of the
    tenant's codes (``cancel_reasons_of``), its label kept as shown in
    ``language`` (default: the tenant's); None cancels without a reason. All in
    one transaction: an unknown code cancels nothing."""
    found: CancelReason | None = None
    if reason is not None:
        found, comment = _clean_feedback(tenant, reason, comment, language)
    elif comment:
        raise ValidationFailed("A comment goes with a reason.", param="reason")
    sub = billing_subs.subscription_cancel(
        tenant=tenant,
        subscription_id=subscription_id,
        actor=actor,
        now=now,
        at_period_end=at_period_end,
        prorate_credit=prorate_credit,
    )
    if found is not None:
        subs.cancel_reason_record(sub=sub, code=found.code, label=found.label, comment=comment)
        _record_feedback(
            tenant=tenant,
            sub=sub,
            actor=actor,
            now=now,
            reason=found,
            comment=comment,
            outcome="canceled_at_period_end" if at_period_end else "canceled",
        )
    return sub


@transaction.atomic
def portal_subscription_cancel(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    at_period_end: bool,
    reason: str,
    comment: str,
    language: str | None = None,
) -> Subscription:
    """The subscriber's cancellation from the portal: allowed by the plan's
    portal options, with one of the tenant's reasons (required)."""
    sub = Subscription.objects.select_related("plan").get(tenant=tenant, pk=subscription_id)
    _check(sub, "cancel")
    return subscription_cancel_with_reason(
        tenant=tenant,
        subscription_id=sub.pk,
        actor=actor,
        now=now,
        at_period_end=at_period_end,
        reason=reason,
        comment=comment,
        language=language,
    )


@transaction.atomic
def retention_offer_accept(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    reason: str,
    comment: str,
    language: str | None = None,
) -> str:
    """Take the plan's retention offer instead of cancelling; returns the offer kind."""
    sub = subs.lock_subscription(tenant=tenant, subscription_id=subscription_id)
    options = _check(sub, "cancel")
    found, comment = _clean_feedback(tenant, reason, comment, language)
    offer = options.offer
    if offer == PlanPortalOptions.Offer.COUPON and options.offer_coupon is not None:
        if sub.redemptions.filter(ended_at__isnull=True).exists():
            raise StateConflict(
                "This subscription already has a discount.", code="coupon_already_applied"
            )
        coupon_redeem(
            tenant=tenant,
            code=options.offer_coupon.code,
            customer=sub.customer,
            plan=sub.plan,
            sub=sub,
            now=now,
        )
    elif offer == PlanPortalOptions.Offer.PAUSE:
        subs.subscription_pause(
            tenant=tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            cycles=options.offer_pause_cycles,
        )
    elif offer == PlanPortalOptions.Offer.PLAN and options.offer_plan is not None:
        billing_subs.subscription_change(
            tenant=tenant,
            subscription_id=sub.pk,
            actor=actor,
            now=now,
            plan=options.offer_plan,
            when="period_end",
        )
    else:
        raise StateConflict("There is no offer for this plan.", code="no_retention_offer")
    _record_feedback(
        tenant=tenant,
        sub=sub,
        actor=actor,
        now=now,
        reason=found,
        comment=comment,
        outcome=f"accepted_{offer}",
    )
    return str(offer)


@transaction.atomic
def plan_portal_options_set(
    *,
    tenant: Tenant,
    plan_code: str,
    actor: Actor,
    now: datetime,
    allow_change: bool,
    allow_pause: bool,
    allow_cancel: bool,
    change_plan_codes: list[str],
    offer: str,
    offer_coupon: Coupon | None = None,
    offer_plan: Plan | None = None,
    offer_pause_cycles: int = 1,
) -> PlanPortalOptions:
    """Save what the portal lets subscribers of ``plan_code`` do, and the offer."""
    plans = Plan.objects.filter(tenant=tenant)
    current = plans.filter(code=plan_code).order_by("-version").first()
    if current is None:
        raise NotFound("No such plan.", param="plan")
    known = set(plans.values_list("code", flat=True))
    unknown = [code for code in change_plan_codes if code not in known]
    if unknown:
        raise ValidationFailed(f"No such plan: {unknown[0]}", param="change_plan_codes")
    if offer not in PlanPortalOptions.Offer.values:
        raise ValidationFailed("Choose an offer.", param="offer")
    if offer_coupon is not None and offer_coupon.tenant_id != tenant.pk:
        raise NotFound("No such coupon.", param="offer_coupon")
    if offer_plan is not None and offer_plan.tenant_id != tenant.pk:
        raise NotFound("No such plan.", param="offer_plan")
    if offer == PlanPortalOptions.Offer.COUPON and offer_coupon is None:
        raise ValidationFailed("Choose the coupon to offer.", param="offer_coupon")
    if offer == PlanPortalOptions.Offer.PLAN:
        if offer_plan is None:
            raise ValidationFailed("Choose the plan to offer.", param="offer_plan")
        if offer_plan.currency != current.currency or offer_plan.code == plan_code:
            raise ValidationFailed("Offer another plan in the same currency.", param="offer_plan")
    if not isinstance(offer_pause_cycles, int) or not 1 <= offer_pause_cycles <= 120:
        raise ValidationFailed("Between 1 and 120 periods.", param="offer_pause_cycles")
    options, _created = PlanPortalOptions.objects.update_or_create(
        tenant=tenant,
        plan_code=plan_code,
        defaults={
            "allow_change": allow_change,
            "allow_pause": allow_pause,
            "allow_cancel": allow_cancel,
            "change_plan_codes": sorted(set(change_plan_codes)),
            "offer": offer,
            "offer_coupon": offer_coupon if offer == PlanPortalOptions.Offer.COUPON else None,
            "offer_plan": offer_plan if offer == PlanPortalOptions.Offer.PLAN else None,
            "offer_pause_cycles": offer_pause_cycles,
        },
    )
    changes = {
        "allow_change": allow_change,
        "allow_pause": allow_pause,
        "allow_cancel": allow_cancel,
        "change_plan_codes": options.change_plan_codes,
        "offer": offer,
        "offer_coupon": options.offer_coupon.public_id if options.offer_coupon else None,
        "offer_plan": options.offer_plan.public_id if options.offer_plan else None,
        "offer_pause_cycles": offer_pause_cycles,
    }
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="plan.portal_options_updated",
        subject_type="plan",
        subject_id=current.public_id,
        data={"plan": current.public_id, **changes},
        target=current,
        changes=changes,
    )
    return options
