"""The hosted checkout (``/t/<slug>/checkout/<plan_id>/``): one plan, the
visitor's details and a card; on success the visitor lands signed in to the
portal. The card goes from the browser to the gateway's tokenizer
(static/js/card_setup.js); only its token reaches this view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import structlog
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from billing.models import PaymentAttempt
from billing.pix_automatico import pix_automatico_offered
from billing.setup import CardDeclined, card_gateway
from billing.subscriptions import CreatePreview
from checkout.limits import (
    TooManyAttempts,
    checkout_attempt_count,
    checkout_decline_record,
    checkout_quote_count,
)
from checkout.models import CheckoutSession
from checkout.price_tables import price_table_open, price_table_plans
from checkout.services import (
    MAX_QUANTITY,
    checkout_charge,
    checkout_plan,
    checkout_quote,
    checkout_subscribe,
    payment_choices,
)
from checkout.sessions import (
    checkout_session_complete,
    checkout_session_open,
    checkout_session_plans,
    checkout_session_status,
    checkout_session_url,
)
from core import clock, csp
from core.errors import DomainError, NotFound, ValidationFailed
from core.middleware import client_ip
from customers.forms import AddressForm
from portal.sessions import portal_sign_in, session_customer
from subscriptions.models import Plan, Subscription
from tenants.requests import TenantRequest

logger = structlog.get_logger(__name__)

# The plan page's 3-D Secure return inside a cross-site iframe carries the
# subscription in a signed token: the browser may drop our session cookie
# there. Short-lived, because the link proves nothing but "just paid".
DONE_SALT = "checkout.done"
DONE_MAX_AGE = 30 * 60

FIELDS = ("quantity", "coupon", "name", "email", "phone", "tax_id", "installments")


def _embedded(request: TenantRequest) -> bool:
    """Whether the page runs inside the merchant's iframe (``?embed=1``)."""
    return request.GET.get("embed") == "1"


def _same_origin_post(request: HttpRequest) -> bool:
    """The embedded form's forgery check without cookies: browsers send
    ``Origin`` with every POST, and only a page of ours (the checkout inside
    the iframe) posts from our own origin."""
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin == request.build_absolute_uri("/").rstrip("/")


def embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A checkout page the tenant's allowed sites may frame.

    - ``Content-Security-Policy: frame-ancestors 'self' <embed_domains>``
      (``'self'``: the dashboard's live preview) and no ``X-Frame-Options``
      when the tenant allows any site, ``SAMEORIGIN`` otherwise.
    - In the embedded flow (``?embed=1``) the state is in the URL (plan or
      checkout session id) and no cookie is needed: a cross-site iframe may
      not get ours (SameSite, third-party cookie blocking). The CSRF cookie is
      replaced by the ``Origin`` check; outside the iframe Django's CSRF
      protection applies as everywhere.
    """

    @wraps(view)
    def wrapped(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            if _embedded(request):
                if not _same_origin_post(request):
                    return HttpResponseForbidden(_("This form must be sent from its own page."))
            else:
                rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                    request, view, args, kwargs
                )
                if rejected is not None:
                    return rejected
        response = view(request, *args, **kwargs)
        origins = list(request.tenant.embed_domains or [])
        csp.frame_ancestors(request, origins)  # 'self' (the dashboard's preview) + theirs
        if origins:
            response.xframe_options_exempt = True  # type: ignore[attr-defined]
        else:
            response["X-Frame-Options"] = "SAMEORIGIN"
        return response

    return csrf_exempt(wrapped)


@embeddable
@require_http_methods(["GET", "POST"])
def hosted(request: TenantRequest, tenant_slug: str, plan_id: str) -> HttpResponse:
    tenant = request.tenant
    try:
        plan = checkout_plan(tenant=tenant, plan_id=plan_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return _checkout_page(request, plan, None)


@embeddable
@require_http_methods(["GET", "POST"])
def session_page(request: TenantRequest, tenant_slug: str, session_id: str) -> HttpResponse:
    """The hosted page of a checkout session created through the API: plan and
    quantity fixed by the session, the visitor's details prefilled. Its state
    is the session id in the URL (no cookie needed: it may run in an iframe)."""
    tenant = request.tenant
    now = clock.now()
    try:
        session = checkout_session_open(tenant=tenant, session_id=session_id, now=now)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    status = checkout_session_status(session, now)
    if status != CheckoutSession.Status.OPEN:
        return render(
            request,
            "checkout/session_closed.html",
            {
                "session": session,
                "status": status,
                "embedded": _embedded(request),
                "embed_origins": list(tenant.embed_domains or []),
            },
            status=200 if status == CheckoutSession.Status.COMPLETE else 410,
        )
    options = checkout_session_plans(session)
    if not options:
        return render(
            request,
            "checkout/session_closed.html",
            {"session": session, "status": CheckoutSession.Status.EXPIRED},
            status=410,
        )
    # The visitor's pick (?plan=, a link per option); the first one otherwise.
    wanted = request.GET.get("plan", "")
    plan = next((p for p in options if p.public_id == wanted), options[0])
    return _checkout_page(request, plan, session, options)


def _checkout_page(
    request: TenantRequest,
    plan: Plan,
    session: CheckoutSession | None,
    options: list[Plan] | None = None,
) -> HttpResponse:
    tenant = request.tenant
    gateway, _publishable = card_gateway(tenant=tenant)
    values = {"quantity": "1"}
    if session is not None:
        values = {
            "quantity": str(session.quantity),
            "name": session.customer_name,
            "email": session.customer_email,
            "tax_id": session.customer_tax_id,
        }
    errors: dict[str, str] = {}
    status = 200
    address_form = AddressForm(request.POST if request.method == "POST" else None)
    if gateway != "sandbox":
        # Stripe needs a SetupIntent for a customer that does not exist yet:
        # not offered by the hosted checkout so far.
        errors["card"] = _("Card payments are not available on this checkout yet.")
    elif request.method == "POST":
        values = {field: request.POST.get(field, "") for field in FIELDS}
        if session is not None:
            values["quantity"] = str(session.quantity)  # the session fixed it
        now = clock.now()
        ip = client_ip(request)
        try:
            checkout_attempt_count(ip=ip)
            if not address_form.is_valid():  # a part too long: shown next to it
                raise ValidationFailed(_("Check your billing address."), param="address_form")
            with transaction.atomic():
                result = checkout_subscribe(
                    tenant=tenant,
                    plan=plan,
                    now=now,
                    card_reference=request.POST.get("reference", ""),
                    method=request.POST.get("method", "card"),
                    address=address_form.address(),
                    **values,
                )
                if session is not None:
                    checkout_session_complete(
                        tenant=tenant, session=session, result=result, now=now
                    )
        except DomainError as exc:
            if isinstance(exc, CardDeclined):
                checkout_decline_record(ip=ip)
            if exc.param == "address_form":
                pass  # the address form holds its own errors
            elif not address_form.add_address_error(exc):
                errors[exc.param if exc.param in (*FIELDS, "card", "method") else "form"] = str(exc)
            status = exc.status
        else:
            if result.pix_automatico:
                # No charge: the mandate's QR pays the first invoice and authorises.
                _pix_mandate_ask(request, result.subscription, now)
                attempt = None
            else:
                attempt = (
                    checkout_charge(tenant=tenant, invoice=result.invoice, now=now)
                    if result.invoice is not None
                    else None
                )
            if attempt is not None and attempt.status == PaymentAttempt.Status.FAILED:
                checkout_decline_record(ip=ip)
            embedded = _embedded(request)
            # No portal session inside the merchant's iframe: the browser may
            # drop our cookies there; the page says what happens next.
            if embedded and (
                attempt is None or attempt.status != PaymentAttempt.Status.REQUIRES_ACTION
            ):
                return _embedded_done(request, result.subscription, attempt)
            if not embedded:
                portal_sign_in(request, tenant=tenant, customer=result.customer, method="checkout")
            done = (
                reverse("checkout:done", kwargs={"tenant_slug": tenant.slug})
                if session is None
                else checkout_session_url(session, tenant)
            )
            if embedded:
                done += "?embed=1"
                if session is None:
                    # No cookie to find the subscriber by when the issuer sends
                    # them back inside the iframe: a signed, short-lived id.
                    done += "&" + urlencode({"r": done_token(result.subscription)})
            if attempt is not None and attempt.status == PaymentAttempt.Status.REQUIRES_ACTION:
                # The issuer's 3-D Secure page, then back to what happens next.
                return redirect(f"{attempt.action_url}?{urlencode({'return': done})}")
            if session is not None and not _embedded(request):
                return redirect(session.success_url)
            return redirect(done)
    try:
        checkout_quote_count(ip=client_ip(request))
    except TooManyAttempts:
        quote, quote_errors = None, {}  # the page still works; the total comes with htmx later
    else:
        quote, quote_errors = _quote(request, plan, values)
    if errors:
        quote_errors = {}  # the form shows them next to their fields already
    return render(
        request,
        "checkout/hosted.html",
        {
            "quote": quote,
            "quote_errors": quote_errors,
            "plan": plan,
            "values": values,
            "errors": errors,
            "max_quantity": MAX_QUANTITY,
            "installment_choices": range(2, plan.max_installments + 1),
            "gateway": gateway,
            "methods": payment_choices(plan),
            "pix_automatico": pix_automatico_offered(tenant=tenant, plan=plan),
            "method": request.POST.get("method", "card") if request.method == "POST" else "card",
            "session": session,
            "embedded": _embedded(request),
            "address_form": address_form,
            "plan_choices": _plan_choices(request, session, options or []),
        },
        status=status,
    )


def _pix_mandate_ask(request: TenantRequest, sub: Subscription, now: Any) -> None:
    """Journey 3 (or 2 for a trial) for the subscription just made, with no
    transaction open (the PSP is called). Should the PSP refuse, the subscription
    stays without a method and its portal page offers Pix Automático again."""
    from billing.pix_automatico import pix_mandate_offer
    from core.actors import Actor

    try:
        pix_mandate_offer(
            tenant=request.tenant,
            subscription_id=sub.pk,
            actor=Actor.subscriber(sub.customer),
            now=now,
        )
    except DomainError:
        logger.warning("checkout.pix_mandate_refused", subscription=sub.public_id)


def _pix_context(subscription: Subscription | None) -> dict[str, Any]:
    """The QR of the Pix Automático authorisation awaiting the subscriber, if any."""
    from billing.domain.pix_automatico import recurrence_qr_svg
    from billing.models import PixMandate

    mandate = (
        PixMandate.objects.filter(
            tenant_id=subscription.tenant_id, subscription=subscription, status="pending"
        )
        .order_by("-id")
        .first()
        if subscription is not None
        else None
    )
    if mandate is None or not mandate.payload:
        return {}
    return {"pix_mandate": mandate, "pix_qr_svg": recurrence_qr_svg(mandate.payload)}


def _plan_choices(
    request: TenantRequest, session: CheckoutSession | None, options: list[Plan]
) -> list[tuple[Plan, str]]:
    """Each plan a session offers with the link that picks it (none for one plan)."""
    if session is None or len(options) < 2:
        return []
    base = checkout_session_url(session, request.tenant)
    embed = {"embed": "1"} if _embedded(request) else {}
    return [(p, f"{base}?{urlencode({**embed, 'plan': p.public_id})}") for p in options]


def _embedded_done(
    request: TenantRequest, subscription: Subscription, attempt: PaymentAttempt | None
) -> HttpResponse:
    """The end of the embedded flow: what happens next, and the completion
    posted to the merchant's page (static/js/checkout_embed.js)."""
    return render(
        request,
        "checkout/done.html",
        {
            "customer": subscription.customer,
            "subscription": subscription,
            "attempt": attempt,
            "embedded": True,
            "embed_origins": list(request.tenant.embed_domains or []),
            **_pix_context(subscription),
        },
    )


def _quote(
    request: TenantRequest, plan: Plan, values: dict[str, str]
) -> tuple[CreatePreview | None, dict[str, str]]:
    try:
        return checkout_quote(
            tenant=request.tenant,
            plan=plan,
            now=clock.now(),
            quantity=values.get("quantity", "1"),
            coupon=values.get("coupon", ""),
        ), {}
    except DomainError as exc:
        return None, {exc.param if exc.param in FIELDS else "form": str(exc)}


@embeddable
@require_GET
def quote(request: TenantRequest, tenant_slug: str, plan_id: str) -> HttpResponse:
    """The exact total for a quantity and coupon (the htmx partial under the form)."""
    try:
        plan = checkout_plan(tenant=request.tenant, plan_id=plan_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    try:
        checkout_quote_count(ip=client_ip(request))
    except TooManyAttempts as exc:
        return render(
            request,
            "checkout/_quote.html",
            {"quote_errors": {"form": str(exc)}},
            status=_partial_status(request, 429),
        )
    values = {"quantity": request.GET.get("quantity", "1"), "coupon": request.GET.get("coupon", "")}
    result, errors = _quote(request, plan, values)
    return render(
        request,
        "checkout/_quote.html",
        {"quote": result, "quote_errors": errors},
        status=_partial_status(request, 400) if errors else 200,
    )


def _partial_status(request: TenantRequest, status: int) -> int:
    """htmx swaps only 2xx answers: to htmx the refused quote is a 200 whose
    content says why; any other caller gets the real status."""
    return 200 if getattr(request, "htmx", False) else status


def done_token(subscription: Subscription) -> str:
    return signing.dumps([subscription.tenant_id, subscription.pk], salt=DONE_SALT, compress=True)


def _signed_subscription(request: TenantRequest) -> Subscription | None:
    """The subscription named by a valid, recent ``r`` token of this tenant."""
    token = request.GET.get("r", "")
    if not token or len(token) > 200:
        return None
    try:
        tenant_id, sub_id = signing.loads(token, salt=DONE_SALT, max_age=DONE_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if tenant_id != request.tenant.pk:
        return None
    return (
        Subscription.objects.filter(tenant=request.tenant, pk=sub_id)
        .select_related("plan", "customer")
        .first()
    )


@embeddable
def done(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    """What happens next, for the subscriber the checkout just signed in, or
    (inside an iframe, after 3-D Secure) the one a signed token names."""
    signed = _signed_subscription(request) if _embedded(request) else None
    if signed is not None:
        attempt = (
            PaymentAttempt.objects.filter(tenant=request.tenant, invoice__subscription=signed)
            .order_by("-id")
            .first()
        )
        return _embedded_done(request, signed, attempt)
    customer = session_customer(request, request.tenant)
    if customer is None:
        return redirect(reverse("portal:home", kwargs={"tenant_slug": tenant_slug}))
    sub = (
        Subscription.objects.filter(tenant=request.tenant, customer=customer)
        .select_related("plan")
        .order_by("-created_at")
        .first()
    )
    attempt = (
        PaymentAttempt.objects.filter(tenant=request.tenant, invoice__subscription=sub)
        .order_by("-id")
        .first()
        if sub is not None
        else None
    )
    return render(
        request,
        "checkout/done.html",
        {
            "customer": customer,
            "subscription": sub,
            "attempt": attempt,
            "embedded": _embedded(request),
            "embed_origins": list(request.tenant.embed_domains or []),
            **_pix_context(sub),
        },
    )


@embeddable
@require_GET
def price_table_page(request: TenantRequest, tenant_slug: str, table_id: str) -> HttpResponse:
    """Several plans side by side, each leading to its plan's checkout (kept
    inside the iframe when embedded)."""
    try:
        table = price_table_open(tenant=request.tenant, table_id=table_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    embedded = _embedded(request)
    columns = [
        (
            plan,
            highlighted,
            reverse(
                "checkout:hosted",
                kwargs={"tenant_slug": request.tenant.slug, "plan_id": plan.public_id},
            )
            + ("?embed=1" if embedded else ""),
        )
        for plan, highlighted in price_table_plans(table)
    ]
    return render(
        request,
        "checkout/price_table.html",
        {"table": table, "columns": columns, "embedded": embedded},
    )
