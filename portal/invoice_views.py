"""One invoice in the portal: lines, taxes, payments, credit notes, and paying
it now when it is open (a saved card, or the slip / Pix code the attempt
waiting for the payer shows; 3-D Secure by the attempt's action URL)."""

from __future__ import annotations

from contextlib import suppress

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing.models import CreditNote, Invoice, PaymentAttempt
from billing.payments import invoice_charge
from billing.segunda_via import BOLETO_GATEWAYS, segunda_via_quote
from billing.setup import CardSetup, card_setup_begin, invoice_pay_with_new_card
from core import csp
from core.actors import Actor
from core.errors import DomainError
from customers.models import PaymentMethod
from portal.views import PortalRequest, subscriber_required

WAITING = [PaymentAttempt.Status.PENDING, PaymentAttempt.Status.REQUIRES_ACTION]


def _invoice(request: PortalRequest, invoice_id: str) -> Invoice:
    invoice = (
        Invoice.objects.filter(
            tenant=request.tenant, customer=request.customer, public_id=invoice_id
        )
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("subscription__plan")
        .first()
    )
    if invoice is None:
        raise Http404
    return invoice


def _cards(request: PortalRequest) -> list[PaymentMethod]:
    return list(
        PaymentMethod.objects.filter(
            tenant=request.tenant,
            customer=request.customer,
            detached_at__isnull=True,
            kind="card",
        ).order_by("-is_default", "-created_at")
    )


@subscriber_required
def invoice_detail(request: PortalRequest, tenant_slug: str, invoice_id: str) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    attempts = list(
        PaymentAttempt.objects.filter(tenant=request.tenant, invoice=invoice)
        .select_related("payment_method")
        .order_by("created_at", "id")
    )
    waiting = next((a for a in reversed(attempts) if a.status in WAITING), None)
    segunda_via = None
    if waiting is not None and waiting.gateway in BOLETO_GATEWAYS:
        with suppress(DomainError):  # not overdue: the slip is still good
            segunda_via = segunda_via_quote(
                tenant=request.tenant, invoice_id=invoice.pk, now=request.now
            ).charges
    payable = invoice.status == Invoice.Status.OPEN and invoice.amount_due_minor > 0
    setup: CardSetup | None = None
    if payable:
        # "Pay with a new card": the card goes from the browser to the gateway.
        try:
            setup = card_setup_begin(tenant=request.tenant, customer=request.customer)
        except DomainError:
            setup = None  # the provider is down: the saved cards still work
        if setup is not None and setup.gateway == "stripe":
            csp.allow(request, "script-src", ["https://js.stripe.com"])
            csp.allow(request, "frame-src", ["https://js.stripe.com", "https://hooks.stripe.com"])
            csp.allow(request, "connect-src", ["https://api.stripe.com"])
    new_card_url = reverse(
        "portal:invoice_pay_card",
        kwargs={"tenant_slug": request.tenant.slug, "invoice_id": invoice.public_id},
    )
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "customer": request.customer,
            "invoice": invoice,
            "lines": invoice.lines.order_by("position", "id"),
            "attempts": attempts,
            "waiting": waiting,
            "segunda_via": segunda_via,
            "credit_notes": CreditNote.objects.filter(tenant=request.tenant, invoice=invoice)
            .prefetch_related("lines")
            .order_by("issued_at", "id"),
            "cards": _cards(request) if invoice.status == Invoice.Status.OPEN else [],
            "payable": payable,
            "setup": setup,
            "return_url": request.build_absolute_uri(new_card_url),
        },
    )


@subscriber_required
@require_POST
def invoice_pay(request: PortalRequest, tenant_slug: str, invoice_id: str) -> HttpResponse:
    """Charge the open invoice now with the card the payer chose (one of their
    own). A card that needs 3-D Secure goes to the issuer's page and back."""
    invoice = _invoice(request, invoice_id)
    here = reverse(
        "portal:invoice_detail",
        kwargs={"tenant_slug": request.tenant.slug, "invoice_id": invoice.public_id},
    )
    chosen = request.POST.get("payment_method", "")
    card = next((c for c in _cards(request) if c.public_id == chosen), None)
    if card is None:
        messages.error(request, _("Choose one of your cards."))
        return redirect(here)
    try:
        attempt = invoice_charge(
            tenant=request.tenant, invoice_id=invoice.pk, now=request.now, payment_method_id=card.pk
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(here)
    return _after_charge(request, attempt, here)


def _after_charge(request: PortalRequest, attempt: PaymentAttempt, here: str) -> HttpResponse:
    """Tell the payer how the charge went; 3-D Secure: off to the issuer's page."""
    if attempt.status == PaymentAttempt.Status.SUCCEEDED:
        messages.success(request, _("Paid. Thank you!"))
    elif attempt.status == PaymentAttempt.Status.REQUIRES_ACTION and attempt.action_url:
        target = attempt.action_url
        if target.startswith("/"):  # the sandbox's own page: it brings the payer back
            target = f"{target}?{urlencode({'return_to': here})}"
        return redirect(target)
    elif attempt.status == PaymentAttempt.Status.FAILED:
        messages.error(
            request,
            _("The payment was declined: %(reason)s")
            % {"reason": attempt.failure_message or attempt.failure_code or _("no reason given")},
        )
    else:
        messages.info(request, _("The payment is being processed."))
    return redirect(here)


@subscriber_required
@require_http_methods(["GET", "POST"])
def invoice_pay_card(request: PortalRequest, tenant_slug: str, invoice_id: str) -> HttpResponse:
    """Pay the open invoice with a new card: POST the gateway's answer for the
    card the browser tokenised (sandbox token), or come back from Stripe with
    the confirmed SetupIntent (GET ``setup_intent``). ``save`` keeps the card."""
    invoice = _invoice(request, invoice_id)
    here = reverse(
        "portal:invoice_detail",
        kwargs={"tenant_slug": request.tenant.slug, "invoice_id": invoice.public_id},
    )
    setup_intent = request.GET.get("setup_intent", "")
    if request.method == "GET" and not setup_intent:
        return redirect(here)
    source = request.GET if setup_intent else request.POST
    try:
        attempt = invoice_pay_with_new_card(
            tenant=request.tenant,
            customer=request.customer,
            invoice_id=invoice.pk,
            gateway="stripe" if setup_intent else request.POST.get("gateway", ""),
            reference=setup_intent or request.POST.get("reference", ""),
            save=source.get("save") in ("1", "on"),
            actor=Actor.subscriber(request.customer),
            now=request.now,
        )
    except DomainError as exc:
        if exc.code in ("card_declined", *_DECLINE_CODES):
            messages.error(
                request, _("The payment was declined: %(reason)s") % {"reason": exc.message}
            )
        else:
            messages.error(request, exc.message)
        return redirect(here)
    return _after_charge(request, attempt, here)


_DECLINE_CODES = ("insufficient_funds", "expired_card", "do_not_honor", "processing_error")


HISTORY_PAGE_SIZE = 25


@subscriber_required
def billing_history(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """Every invoice and credit note of the subscriber, newest first, paginated."""
    rows = (
        Invoice.objects.filter(tenant=request.tenant, customer=request.customer)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related("credit_notes")
        .order_by("-created_at", "-id")
    )
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/billing_history.html",
        {"customer": request.customer, "page": page},
    )
