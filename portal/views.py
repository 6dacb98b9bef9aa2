"""The subscriber's self-service area of one merchant (``/t/<slug>/``).

A subscriber enters through a signed link (from an email or an API portal
session); the session then holds that one customer of that one tenant, and
every page reads only that customer's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing.models import Invoice, PaymentAttempt
from billing.segunda_via import BOLETO_GATEWAYS, boleto_segunda_via_issue, segunda_via_quote
from billing.selectors import now_for
from billing.setup import card_setup_begin, card_setup_complete
from core import clock, csp
from core.actors import Actor
from core.errors import DomainError
from core.middleware import _client_ip
from customers.domain.taxid import format_tax_id
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_token_read, portal_token_spend
from customers.services import (
    customer_portal_password_set,
    customer_update,
    payment_method_detach,
    payment_method_set_default,
)
from portal import signin
from portal.forms import (
    CodeForm,
    EmailChangeForm,
    PasswordSetForm,
    PasswordSignInForm,
    ProfileForm,
    SignInForm,
)
from portal.sessions import (
    portal_session_enter,
    portal_sign_in,
    portal_sign_in_failed,
    portal_sign_out,
    session_customer,
)
from portal.tasks import queue_code_email
from subscriptions.models import Subscription
from tenants.requests import TenantRequest


class PortalRequest(TenantRequest):
    """A request that passed ``subscriber_required``: the signed-in subscriber is known."""

    customer: Customer
    now: datetime  # the request's one "now": the subscriber's test clock time when on one


def home(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    """The merchant's branded landing; with a portal session, the customer's account."""
    customer = _session_customer(request)
    use_language(request, customer)
    if customer is None:
        return render(request, "portal/home.html")
    request.customer = customer  # type: ignore[attr-defined]  # the header reads it
    subscriptions = (
        Subscription.objects.filter(tenant=request.tenant, customer=customer)
        .select_related("plan__product")
        .order_by("-created_at")
    )
    return render(
        request,
        "portal/account.html",
        {
            "customer": customer,
            "subscriptions": subscriptions,
            "invoices": _invoices(request, customer)[:5],
        },
    )


def enter(request: TenantRequest, tenant_slug: str, token: str) -> HttpResponse:
    """Open a portal session from a signed link (email or API portal session)."""
    payload = portal_token_read(token)
    tenant = request.tenant
    customer = None
    if payload is not None and tenant is not None and payload.get("t") == tenant.id:
        customer = Customer.objects.filter(tenant=tenant, public_id=payload.get("c")).first()
    if customer is None:
        return render(
            request,
            "portal/link_invalid.html",
            {"message": _("This link is invalid or has expired. Ask for a new one.")},
            status=400,
        )
    if not portal_token_spend(token):
        return render(
            request,
            "portal/link_invalid.html",
            {
                "message": _(
                    "This link was already used. Each sign-in link works once: "
                    "sign in again to get a new one."
                ),
                "sign_in": True,
                "used": True,
            },
            status=410,
        )
    portal_sign_in(request, tenant=tenant, customer=customer, method="link")
    page = request.GET.get("next", "home")
    try:
        target = reverse(f"portal:{page}", kwargs={"tenant_slug": tenant.slug})
    except NoReverseMatch:
        target = reverse("portal:home", kwargs={"tenant_slug": tenant.slug})
    return HttpResponseRedirect(target)


def session_enter(request: TenantRequest, tenant_slug: str, secret: str) -> HttpResponse:
    """Open an integrator's portal session URL (``POST /api/v1/portal_sessions``): once."""
    target = portal_session_enter(request, tenant=request.tenant, secret=secret)
    if target is None:
        return render(
            request,
            "portal/link_invalid.html",
            {"message": _("This link is invalid or has expired. Ask for a new one.")},
            status=400,
        )
    return HttpResponseRedirect(target)


def use_language(request: TenantRequest, customer: Customer | None) -> None:
    """Every portal page speaks the subscriber's own language, then one chosen
    in this browser with the language menu, then the merchant's, then the
    browser's (LocaleMiddleware's pick from Accept-Language)."""
    from django.conf import settings

    tenant = getattr(request, "tenant", None)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen not in {code for code, _name in settings.LANGUAGES}:
        chosen = ""
    language = (
        (customer.locale if customer is not None else "")
        or chosen
        or (tenant.locale if tenant is not None else "")
    )
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def _session_customer(request: TenantRequest) -> Customer | None:
    return session_customer(request, getattr(request, "tenant", None))


def subscriber_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(
        request: PortalRequest, tenant_slug: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        customer = _session_customer(request)
        if customer is None:
            return render(
                request,
                "portal/link_invalid.html",
                {
                    "message": _("Sign in to see your account."),
                    "sign_in": True,
                },
                status=403,
            )
        request.customer = customer
        use_language(request, customer)
        # The request's one "now": the subscriber's test clock time if they live
        # on one (DESIGN.md, invariant 3), so the portal prices and acts at the
        # same time as their billing does.
        request.now = now_for(customer=customer, now=clock.now())
        return view(request, tenant_slug, *args, **kwargs)

    return wrapper


def _invoices(request: TenantRequest, customer: Customer) -> Any:
    return (
        Invoice.objects.filter(tenant=request.tenant, customer=customer)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related("credit_notes")
        .order_by("-created_at", "-id")
    )


def _methods(request: TenantRequest, customer: Customer) -> Any:
    return PaymentMethod.objects.filter(
        tenant=request.tenant, customer=customer, detached_at__isnull=True
    ).order_by("-is_default", "-created_at")


@subscriber_required
def invoices(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    customer = request.customer
    listed = list(_invoices(request, customer)[:100])
    # How to pay what is open: the slip, code or authentication page of the
    # attempt awaiting the payer, and a segunda via when a boleto is overdue.
    waiting = {
        a.invoice_id: a
        for a in PaymentAttempt.objects.filter(
            tenant=request.tenant,
            invoice__in=[i for i in listed if i.status == Invoice.Status.OPEN],
            status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.REQUIRES_ACTION],
        )
    }
    now = request.now
    for invoice in listed:
        attempt = waiting.get(invoice.pk)
        invoice.pay_url = attempt.action_url if attempt else ""
        invoice.segunda_via = None
        if attempt and attempt.gateway in BOLETO_GATEWAYS:
            with suppress(DomainError):  # not overdue: the slip is still good
                invoice.segunda_via = segunda_via_quote(
                    tenant=request.tenant, invoice_id=invoice.pk, now=now
                ).charges
    return render(request, "portal/invoices.html", {"customer": customer, "invoices": listed})


@subscriber_required
@require_POST
def invoice_segunda_via(request: PortalRequest, tenant_slug: str, invoice_id: str) -> HttpResponse:
    customer: Customer = request.customer
    invoice = _invoices(request, customer).filter(public_id=invoice_id).first()
    if invoice is None:
        raise Http404
    try:
        attempt = boleto_segunda_via_issue(
            tenant=request.tenant,
            invoice_id=invoice.pk,
            actor=Actor.subscriber(customer),
            now=request.now,
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("portal:invoices", tenant_slug=request.tenant.slug)
    messages.success(request, _("Here is your new boleto."))
    if attempt.action_url:
        return redirect(attempt.action_url)
    return redirect("portal:invoices", tenant_slug=request.tenant.slug)


@subscriber_required
def invoice_pdf(request: PortalRequest, tenant_slug: str, invoice_id: str) -> HttpResponse:
    from billing.pdf import render_invoice_pdf

    customer = request.customer
    invoice = (
        _invoices(request, customer)
        .filter(public_id=invoice_id)
        .select_related("tenant", "customer")
        .prefetch_related("lines")
        .first()
    )
    if invoice is None:
        raise Http404
    response = HttpResponse(render_invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{invoice.number or invoice.public_id}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@subscriber_required
@require_http_methods(["GET", "POST"])
def payment_methods(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """List the saved methods and add a card: the browser gives the card to the
    gateway (sandbox tokenizer or Stripe Elements); we receive only its answer."""
    customer: Customer = request.customer
    tenant = request.tenant
    actor = Actor.subscriber(customer)
    here = reverse("portal:payment_methods", kwargs={"tenant_slug": tenant.slug})
    # Stripe Elements returns here with the SetupIntent it confirmed.
    setup_intent = request.GET.get("setup_intent")
    if request.method == "POST" or setup_intent:
        gateway = "stripe" if setup_intent else request.POST.get("gateway", "")
        reference = setup_intent or request.POST.get("reference", "")
        try:
            method = card_setup_complete(
                tenant=tenant,
                customer=customer,
                gateway=gateway,
                reference=reference,
                actor=actor,
                now=request.now,
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Card %(brand)s ending in %(last4)s saved.")
                % {"brand": method.brand.title(), "last4": method.last4},
            )
        return redirect(here)
    try:
        setup = card_setup_begin(tenant=tenant, customer=customer)
    except DomainError as exc:
        setup = None
        messages.error(request, str(exc))
    if setup is not None and setup.gateway == "stripe":
        # Stripe.js and its Elements frames (the card never touches Ciclo).
        csp.allow(request, "script-src", ["https://js.stripe.com"])
        csp.allow(request, "frame-src", ["https://js.stripe.com", "https://hooks.stripe.com"])
        csp.allow(request, "connect-src", ["https://api.stripe.com"])
    return render(
        request,
        "portal/payment_methods.html",
        {
            "customer": customer,
            "methods": _methods(request, customer),
            "setup": setup,
            "return_url": request.build_absolute_uri(here),
        },
    )


@subscriber_required
@require_POST
def payment_method_action(
    request: PortalRequest, tenant_slug: str, method_id: str, action: str
) -> HttpResponse:
    customer: Customer = request.customer
    method = _methods(request, customer).filter(public_id=method_id).first()
    if method is None:
        raise Http404
    service = {"default": payment_method_set_default, "remove": payment_method_detach}.get(action)
    if service is None:
        raise Http404
    try:
        service(
            tenant=request.tenant,
            payment_method_id=method.pk,
            actor=Actor.subscriber(customer),
            now=request.now,
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Default payment method changed.") if action == "default" else _("Card removed."),
        )
    return redirect("portal:payment_methods", tenant_slug=request.tenant.slug)


CHALLENGE_SESSION_KEY = "portal_sign_in_challenge"


def _subscriber_language(request: TenantRequest, customer: Customer | None) -> str:
    """The subscriber's own language, then the merchant's, then the browser's."""
    if customer is not None and customer.locale:
        return customer.locale
    tenant = request.tenant
    return tenant.locale or getattr(request, "LANGUAGE_CODE", "") or "en"


@require_http_methods(["GET", "POST"])
def sign_in(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    """Ask for an email; send a code and a magic link if it is a customer's.
    The answer is the same either way."""
    use_language(request, None)
    tenant = request.tenant
    if _session_customer(request) is not None:
        return redirect("portal:home", tenant_slug=tenant.slug)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = signin.sign_in_request(
                tenant=tenant, email=form.cleaned_data["email"], client_ip=_client_ip(request)
            )
        except signin.SignInRateLimited:
            form.add_error(None, _("Too many sign-in requests. Wait a few minutes and try again."))
            return render(request, "portal/sign_in.html", {"form": form}, status=429)
        if challenge.customer is not None and challenge.customer.email:
            link = request.build_absolute_uri(
                reverse(
                    "portal:sign_in_link",
                    kwargs={
                        "tenant_slug": tenant.slug,
                        "challenge_id": challenge.id,
                        "secret": challenge.link_secret,
                    },
                )
            )
            queue_code_email(
                tenant=tenant,
                to=challenge.customer.email,
                language=_subscriber_language(request, challenge.customer),
                code=challenge.code,
                link=link,
            )
        request.session[CHALLENGE_SESSION_KEY] = {"tenant": tenant.pk, "id": challenge.id}
        return redirect("portal:sign_in_code", tenant_slug=tenant.slug)
    return _sign_in_page(request, form=form)


def _sign_in_page(
    request: TenantRequest,
    *,
    form: SignInForm | None = None,
    password_form: PasswordSignInForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The sign-in page: the emailed code always, a password and Google when
    this merchant turned them on."""
    from portal import oidc

    tenant = request.tenant
    google_enabled = oidc.google_configured(tenant)
    if google_enabled:
        # The Google button's POST is answered by a redirect to the provider:
        # the page's CSP form-action must allow that origin.
        try:
            parts = urlsplit(oidc.provider().authorization_endpoint)
        except Exception:  # discovery unreachable: the button then fails politely
            parts = None
        if parts is not None and parts.scheme in {"http", "https"}:
            csp.allow(request, "form-action", [f"{parts.scheme}://{parts.netloc}"])
    return render(
        request,
        "portal/sign_in.html",
        {
            "form": form or SignInForm(),
            "password_form": (password_form or PasswordSignInForm())
            if tenant.portal_password_signin
            else None,
            "google_enabled": google_enabled,
        },
        status=status,
    )


@require_POST
def sign_in_password(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    """Email and password, when the merchant allows it. One answer for every
    refusal (unknown email, no password, wrong password)."""
    use_language(request, None)
    tenant = request.tenant
    if not tenant.portal_password_signin:
        raise Http404
    form = PasswordSignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, password_form=form, status=400)
    try:
        customer = signin.sign_in_with_password(
            tenant=tenant,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            client_ip=_client_ip(request),
        )
    except signin.SignInRateLimited:
        form.add_error(None, _("Too many sign-in attempts. Wait a few minutes and try again."))
        return _sign_in_page(request, password_form=form, status=429)
    if customer is None:
        portal_sign_in_failed(
            tenant=tenant,
            method="password",
            customer=signin.find_customer(tenant=tenant, email=form.cleaned_data["email"]),
            email=form.cleaned_data["email"],
        )
        form.add_error(None, _("This email and password do not match."))
        return _sign_in_page(request, password_form=form, status=400)
    portal_sign_in(request, tenant=tenant, customer=customer, method="password")
    return redirect("portal:home", tenant_slug=tenant.slug)


@require_http_methods(["GET", "POST"])
def sign_in_code(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    use_language(request, None)
    tenant = request.tenant
    held = request.session.get(CHALLENGE_SESSION_KEY) or {}
    if held.get("tenant") != tenant.pk:
        return redirect("portal:sign_in", tenant_slug=tenant.slug)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer = signin.sign_in_with_code(
            tenant=tenant, challenge_id=str(held.get("id", "")), code=form.cleaned_data["code"]
        )
        if customer is not None:
            request.session.pop(CHALLENGE_SESSION_KEY, None)
            portal_sign_in(request, tenant=tenant, customer=customer, method="code")
            return redirect("portal:home", tenant_slug=tenant.slug)
        portal_sign_in_failed(
            tenant=tenant,
            method="code",
            customer=signin.challenge_customer(tenant=tenant, challenge_id=str(held.get("id", ""))),
        )
        form.add_error("code", _("This code is wrong or has expired. Ask for a new one."))
    return render(request, "portal/sign_in_code.html", {"form": form})


@require_http_methods(["GET", "POST"])
def sign_in_link(
    request: TenantRequest, tenant_slug: str, challenge_id: str, secret: str
) -> HttpResponse:
    """The magic link: a page with one button (so a mail scanner that follows
    links does not spend it); pressing it signs in, once."""
    use_language(request, None)
    tenant = request.tenant
    if request.method == "POST":
        customer = signin.sign_in_with_link(tenant=tenant, challenge_id=challenge_id, secret=secret)
        if customer is None:
            portal_sign_in_failed(tenant=tenant, method="magic_link")
            return render(
                request,
                "portal/link_invalid.html",
                {
                    "message": _("This link is invalid or has expired. Ask for a new one."),
                    "sign_in": True,
                },
                status=400,
            )
        request.session.pop(CHALLENGE_SESSION_KEY, None)
        portal_sign_in(request, tenant=tenant, customer=customer, method="magic_link")
        return redirect("portal:home", tenant_slug=tenant.slug)
    return render(request, "portal/sign_in_link.html")


@require_POST
def leave(request: TenantRequest, tenant_slug: str) -> HttpResponse:
    portal_sign_out(request)
    return redirect("portal:home", tenant_slug=tenant_slug)


def _profile_initial(customer: Customer) -> dict[str, str]:
    tax_id = customer.tax_id
    with suppress(DomainError):  # shown as stored when it is not a valid one
        tax_id = format_tax_id(tax_id) if tax_id else ""
    initial = {
        "name": customer.name,
        "phone": customer.phone,
        "tax_id": tax_id,
        "locale": customer.locale,
    }
    initial.update(ProfileForm.initial_for(customer.address))
    return initial


@subscriber_required
@require_http_methods(["GET", "POST"])
def profile(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """Name, phone, CPF/CNPJ, billing address and language; the email is changed
    through ``profile_email`` (verified at the new address)."""
    customer: Customer = request.customer
    tenant = request.tenant
    form = ProfileForm(request.POST or None, initial=_profile_initial(customer))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {
            "name": data["name"],
            "phone": data["phone"],
            "tax_id": data["tax_id"],
            "locale": data["locale"],
            "address": form.address(),
        }
        try:
            customer_update(
                tenant=tenant,
                customer_id=customer.pk,
                changes=changes,
                actor=Actor.subscriber(customer),
                now=request.now,
            )
        except DomainError as exc:
            if not form.add_address_error(exc):
                param = exc.param or ""
                form.add_error(param if param in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("portal:profile", tenant_slug=tenant.slug)
    return render(
        request,
        "portal/profile.html",
        {
            "customer": customer,
            "form": form,
            "email_form": EmailChangeForm(),
            "password_form": _password_form(request, customer),
        },
        status=400 if form.errors else 200,
    )


def _password_form(
    request: TenantRequest, customer: Customer, data: Any = None
) -> PasswordSetForm | None:
    if not request.tenant.portal_password_signin:
        return None
    return PasswordSetForm(data, customer=customer)


@subscriber_required
@require_POST
def profile_password(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """Set or change the portal password (only where the merchant allows
    passwords). Being signed in (by code, link or Google) is the proof."""
    customer: Customer = request.customer
    tenant = request.tenant
    password_form = _password_form(request, customer, request.POST)
    if password_form is None:
        raise Http404
    if password_form.is_valid():
        try:
            customer_portal_password_set(
                tenant=tenant,
                customer_id=customer.pk,
                password=password_form.cleaned_data["new_password1"],
                actor=Actor.subscriber(customer),
                now=request.now,
            )
        except DomainError as exc:
            password_form.add_error("new_password1", exc.message)
        else:
            messages.success(request, _("Your password is saved."))
            return redirect("portal:profile", tenant_slug=tenant.slug)
    return render(
        request,
        "portal/profile.html",
        {
            "customer": customer,
            "form": ProfileForm(initial=_profile_initial(customer)),
            "email_form": EmailChangeForm(),
            "password_form": password_form,
        },
        status=400,
    )


EMAIL_CHANGE_SESSION_KEY = "portal_email_change"


@subscriber_required
@require_POST
def profile_email(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    """Send a code and a link to the new address; nothing changes yet."""
    customer: Customer = request.customer
    tenant = request.tenant
    email_form = EmailChangeForm(request.POST)
    if email_form.is_valid():
        new_email = email_form.cleaned_data["email"]
        if new_email.lower() == (customer.email or "").lower():
            email_form.add_error("email", _("This is already your email."))
        else:
            try:
                challenge = signin.email_change_request(
                    tenant=tenant, customer=customer, new_email=new_email
                )
            except signin.SignInRateLimited:
                email_form.add_error(
                    "email", _("Too many requests. Wait a few minutes and try again.")
                )
            else:
                link = request.build_absolute_uri(
                    reverse(
                        "portal:profile_email_link",
                        kwargs={
                            "tenant_slug": tenant.slug,
                            "challenge_id": challenge.id,
                            "secret": challenge.link_secret,
                        },
                    )
                )
                queue_code_email(
                    tenant=tenant,
                    to=new_email,
                    language=_subscriber_language(request, customer),
                    code=challenge.code,
                    link=link,
                    purpose="email_change",
                )
                request.session[EMAIL_CHANGE_SESSION_KEY] = challenge.id
                return redirect("portal:profile_email_confirm", tenant_slug=tenant.slug)
    form = ProfileForm(initial=_profile_initial(customer))
    return render(
        request,
        "portal/profile.html",
        {
            "customer": customer,
            "form": form,
            "email_form": email_form,
            "password_form": _password_form(request, customer),
        },
        status=400,
    )


def _email_change_apply(request: PortalRequest, new_email: str) -> HttpResponse:
    customer: Customer = request.customer
    try:
        customer_update(
            tenant=request.tenant,
            customer_id=customer.pk,
            changes={"email": new_email},
            actor=Actor.subscriber(customer),
            now=request.now,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.session.pop(EMAIL_CHANGE_SESSION_KEY, None)
        messages.success(request, _("Your email is now %(email)s.") % {"email": new_email})
    return redirect("portal:profile", tenant_slug=request.tenant.slug)


@subscriber_required
@require_http_methods(["GET", "POST"])
def profile_email_confirm(request: PortalRequest, tenant_slug: str) -> HttpResponse:
    challenge_id = str(request.session.get(EMAIL_CHANGE_SESSION_KEY) or "")
    if not challenge_id:
        return redirect("portal:profile", tenant_slug=request.tenant.slug)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_email = signin.email_change_verify(
            tenant=request.tenant,
            customer=request.customer,
            challenge_id=challenge_id,
            code=form.cleaned_data["code"],
        )
        if new_email is not None:
            return _email_change_apply(request, new_email)
        form.add_error("code", _("This code is wrong or has expired. Ask for a new one."))
    return render(
        request,
        "portal/profile_email_confirm.html",
        {"customer": request.customer, "form": form},
        status=400 if form.errors else 200,
    )


@subscriber_required
@require_http_methods(["GET", "POST"])
def profile_email_link(
    request: PortalRequest, tenant_slug: str, challenge_id: str, secret: str
) -> HttpResponse:
    """The link in the email to the new address: signed in as the same
    subscriber, one button confirms."""
    if request.method == "POST":
        new_email = signin.email_change_verify(
            tenant=request.tenant,
            customer=request.customer,
            challenge_id=challenge_id,
            secret=secret,
        )
        if new_email is None:
            return render(
                request,
                "portal/link_invalid.html",
                {"message": _("This link is invalid or has expired. Ask for a new one.")},
                status=400,
            )
        return _email_change_apply(request, new_email)
    return render(request, "portal/sign_in_link.html", {"confirm_email": True})
