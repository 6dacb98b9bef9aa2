"""Checkout sessions: an integrator's checkout, prepared through the API.

``POST /api/v1/checkout_sessions`` (secret or publishable key) fixes the plan,
the quantity, what is known of the visitor and where to send them afterwards;
the visitor opens its ``url``, the hosted page prefilled, and pays. The
session's public id in the URL is the whole state of the flow, so the page
works inside a cross-site iframe whose cookies the browser may drop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.urls import reverse

from checkout.models import CheckoutSession
from checkout.services import MAX_QUANTITY, CheckoutResult, checkout_plan
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from subscriptions.models import Plan
from tenants.changes import record_change
from tenants.models import Tenant

SESSION_LIFETIME = timedelta(hours=24)


def redirect_url(value: Any, *, field: str, required: bool) -> str:
    """An absolute http(s) URL with a host: nothing a browser would run."""
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("Enter an http or https URL.", param=field)
    value = value.strip()
    if len(value) > 2000:
        raise ValidationFailed("The URL is too long (2000 characters at most).", param=field)
    if any(ord(c) < 33 or c in "<>\"'\\" for c in value):
        raise ValidationFailed("The URL has characters a URL may not have.", param=field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValidationFailed("Enter an http or https URL.", param=field) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ValidationFailed("Enter an http or https URL.", param=field)
    return value


def _prefill(value: Any, *, field: str, limit: int) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ValidationFailed("Must be a string.", param=field)
    if "\x00" in value:
        raise ValidationFailed("Must not contain NUL bytes.", param=field)
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed(f"At most {limit} characters.", param=field)
    return value


def _quantity(value: Any, plan: Plan) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Quantity must be a whole number.", param="quantity")
    if not 1 <= value <= MAX_QUANTITY:
        raise ValidationFailed(f"Quantity must be between 1 and {MAX_QUANTITY}.", param="quantity")
    if plan.pricing_model == "flat" and value != 1:
        raise ValidationFailed("This plan is sold one at a time.", param="quantity")
    return value


MAX_PLAN_OPTIONS = 10


def _plan_options(*, tenant: Tenant, plan: Any, plans: Any) -> list[Plan]:
    if plans is None:
        if not isinstance(plan, str):
            raise ValidationFailed("Name the plan by its id (plan_…).", param="plan")
        return [checkout_plan(tenant=tenant, plan_id=plan)]  # NotFound(param="plan")
    if plan is not None:
        raise ValidationFailed("Give either plan or plans, not both.", param="plans")
    if not isinstance(plans, list | tuple) or not plans:
        raise ValidationFailed("Give a list of 1 to 10 plan ids.", param="plans")
    if len(plans) > MAX_PLAN_OPTIONS:
        raise ValidationFailed(
            f"At most {MAX_PLAN_OPTIONS} plans in one checkout session.", param="plans"
        )
    found: list[Plan] = []
    for index, plan_id in enumerate(plans):
        if not isinstance(plan_id, str):
            raise ValidationFailed(f"plans[{index}] must be a plan id (plan_…).", param="plans")
        try:
            option = checkout_plan(tenant=tenant, plan_id=plan_id)
        except NotFound:
            raise NotFound(f"plans[{index}]: no such active plan.", param="plans") from None
        if any(option.pk == seen.pk for seen in found):
            raise ValidationFailed(f"plans[{index}] is listed twice.", param="plans")
        found.append(option)
    return found


def checkout_session_plans(session: CheckoutSession) -> list[Plan]:
    """The session's plans as they can be bought now (current versions;
    a plan archived since drops out)."""
    options: list[Plan] = []
    for plan_id in session.plan_options or [session.plan.public_id]:
        try:
            plan = checkout_plan(tenant=session.tenant, plan_id=plan_id)
        except NotFound:
            continue
        if all(plan.pk != seen.pk for seen in options):
            options.append(plan)
    return options


@transaction.atomic
def checkout_session_create(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    success_url: Any,
    plan: Any = None,
    plans: Any = None,
    cancel_url: Any = "",
    quantity: Any = 1,
    name: Any = "",
    email: Any = "",
    tax_id: Any = "",
) -> CheckoutSession:
    """A session for one ``plan`` or for the visitor to pick one of ``plans``
    (1 to ``MAX_PLAN_OPTIONS`` active plans of ``tenant``, no repeats)."""
    options = _plan_options(tenant=tenant, plan=plan, plans=plans)
    found = options[0]
    for option in options:
        count = _quantity(quantity, option)
    session = CheckoutSession.objects.create(
        tenant=tenant,
        plan=found,
        plan_options=[option.public_id for option in options],
        quantity=count,
        customer_name=_prefill(name, field="name", limit=200),
        customer_email=_prefill(email, field="email", limit=254),
        customer_tax_id=_prefill(tax_id, field="tax_id", limit=40),
        success_url=redirect_url(success_url, field="success_url", required=True),
        cancel_url=redirect_url(cancel_url, field="cancel_url", required=False),
        expires_at=now + SESSION_LIFETIME,
        created_at=now,
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="checkout_session.created",
        subject_type="checkout_session",
        subject_id=session.public_id,
        data={"plans": session.plan_options, "quantity": session.quantity},
        target=session,
    )
    return session


def checkout_session_status(session: CheckoutSession, now: datetime) -> str:
    """The status as of ``now``: an open session past its time is expired."""
    if session.status == CheckoutSession.Status.OPEN and session.expires_at <= now:
        return CheckoutSession.Status.EXPIRED
    return session.status


@transaction.atomic
def checkout_session_expire(
    *, tenant: Tenant, session_id: int, actor: Actor, now: datetime
) -> CheckoutSession:
    session = CheckoutSession.objects.select_for_update().get(tenant=tenant, pk=session_id)
    if session.status == CheckoutSession.Status.COMPLETE:
        raise ValidationFailed(
            "This checkout session is complete; it can no longer expire.",
            param="id",
            code="checkout_session_complete",
        )
    if session.status == CheckoutSession.Status.OPEN:
        session.status = CheckoutSession.Status.EXPIRED
        session.expires_at = min(session.expires_at, now)
        session.save(update_fields=["status", "expires_at"])
        record_change(
            tenant=tenant,
            actor=actor,
            at=now,
            event="checkout_session.expired",
            subject_type="checkout_session",
            subject_id=session.public_id,
            data={},
            target=session,
        )
    return session


def checkout_session_open(*, tenant: Tenant, session_id: Any, now: datetime) -> CheckoutSession:
    """An open session of ``tenant`` by its public id, for the hosted page."""
    session = (
        CheckoutSession.objects.filter(tenant=tenant, public_id=session_id)
        .select_related("plan")
        .first()
        if isinstance(session_id, str) and "\x00" not in session_id and len(session_id) <= 64
        else None
    )
    if session is None:
        raise NotFound("No such checkout session.", param="id")
    return session


def checkout_session_complete(
    *, tenant: Tenant, session: CheckoutSession, result: CheckoutResult, now: datetime
) -> None:
    """Record what the session bought; runs inside the subscribe transaction."""
    locked = CheckoutSession.objects.select_for_update().get(tenant=tenant, pk=session.pk)
    if checkout_session_status(locked, now) != CheckoutSession.Status.OPEN:
        raise ValidationFailed(
            "This checkout has expired or is already complete.", param="form", code="session_closed"
        )
    locked.status = CheckoutSession.Status.COMPLETE
    locked.plan = result.subscription.plan  # the one the visitor picked
    locked.customer = result.customer
    locked.subscription = result.subscription
    locked.completed_at = now
    locked.save(update_fields=["status", "plan", "customer", "subscription", "completed_at"])
    session.plan = locked.plan
    session.status, session.customer, session.subscription = (
        locked.status,
        result.customer,
        result.subscription,
    )


def checkout_session_url(session: CheckoutSession, tenant: Tenant) -> str:
    return reverse(
        "checkout:session", kwargs={"tenant_slug": tenant.slug, "session_id": session.public_id}
    )
