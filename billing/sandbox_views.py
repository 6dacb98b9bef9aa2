"""The sandbox gateway's own pages: what a bank's 3-D Secure page, a printed
boleto or a Pix QR would be for a real gateway. They act on the sandbox's books
and send the signed webhook to Ciclo, as the real thing would."""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from billing.boleto_pdf import render_boleto_pdf
from billing.domain.boleto import BoletoData, parse_barcode
from billing.domain.pix import pix_qr_svg
from billing.gateways.sandbox import SandboxGateway, SandboxPixGateway
from billing.models import PaymentAttempt, SandboxCharge
from billing.payments import webhook_receive
from core import clock, csp, safejson
from core.errors import DomainError
from tenants.context import platform_access


def _charge(ref: str, kind: str) -> SandboxCharge:
    charge = SandboxCharge.objects.filter(ref=ref, kind=kind).first()
    if charge is None:
        raise Http404("No such sandbox charge.")
    return charge


def _embed_origins(ref: str) -> list[str]:
    """The sites allowed to frame the checkout of the tenant this charge is for."""
    with platform_access():
        attempt = (
            PaymentAttempt.objects.select_related("tenant")
            .filter(gateway="sandbox", gateway_ref=ref)
            .first()
        )
    return list(attempt.tenant.embed_domains or []) if attempt is not None else []


def _csrf_checked(request: HttpRequest) -> HttpResponse:
    """Stands for the view in the CSRF check (the view itself is exempt)."""
    return HttpResponse()


@csrf_exempt  # checked below: by Origin, or by the CSRF cookie
@require_http_methods(["GET", "POST"])
def authenticate(request: HttpRequest, ref: str) -> HttpResponse:
    """The issuer's 3-D Secure step. Like a real issuer's challenge it may run
    inside the merchant's iframe (the embedded checkout), where the browser may
    not send our cookies: a POST from our own origin passes on its ``Origin``
    header, anything else needs the usual CSRF cookie."""
    charge = _charge(ref, "card")
    if request.method == "POST":
        origin = request.headers.get("Origin", "")
        if origin != request.build_absolute_uri("/").rstrip("/"):
            rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                request, _csrf_checked, (), {}
            )
            if rejected is not None:
                return HttpResponseForbidden("This form must be sent from its own page.")
    if request.method == "POST" and charge.status == "requires_action":
        body, headers = SandboxGateway().complete_authentication(
            gateway_ref=ref, succeed=request.POST.get("outcome") == "approve"
        )
        webhook_receive(gateway_name="sandbox", body=body, headers=headers, now=clock.now())
        charge.refresh_from_db()
    # Where the payer goes on afterwards: a path on this site only. The portal sends
    # them back with ``return_to``; a checkout continues to its next page with ``return``.
    response = render(
        request,
        "billing/sandbox/authenticate.html",
        {
            "charge": charge,
            "return_to": _same_site_path(request.GET.get("return_to", "")),
            "return_url": _same_site_path(request.GET.get("return", "")),
        },
    )
    origins = _embed_origins(ref)
    csp.frame_ancestors(request, origins)  # where the embedded checkout runs
    if origins:
        response.xframe_options_exempt = True
    else:
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def boleto_pdf(request: HttpRequest, ref: str) -> HttpResponse:
    charge = _charge(ref, "boleto")
    with platform_access():
        attempt = (
            PaymentAttempt.objects.select_related("invoice__customer", "tenant")
            .filter(gateway="sandbox_boleto", gateway_ref=ref)
            .first()
        )
    if attempt is None:
        raise Http404("No such boleto.")
    from datetime import date

    details = charge.details
    boleto = BoletoData(
        barcode=parse_barcode(details["barcode"]),
        due_date=date.fromisoformat(details["due_date"]),
        our_number=details["our_number"],
    )
    customer = attempt.invoice.customer
    pdf = render_boleto_pdf(
        boleto=boleto,
        tenant_name=attempt.tenant.name,
        payer_name=customer.name,
        payer_tax_id=customer.tax_id,
        pix_payload=str(details.get("pix_payload") or ""),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="boleto-{ref}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
def pix(request: HttpRequest, ref: str) -> HttpResponse:
    charge = _charge(ref, "pix")
    if request.method == "POST" and charge.status == "pending":
        body, headers = SandboxPixGateway().simulate_payment(gateway_ref=ref)
        webhook_receive(gateway_name="sandbox_pix", body=body, headers=headers, now=clock.now())
        charge.refresh_from_db()
    return render(
        request,
        "billing/sandbox/pix.html",
        {
            "charge": charge,
            "payload": charge.details.get("payload", ""),
            "qr_svg": pix_qr_svg(charge.details["payload"])
            if charge.details.get("payload")
            else "",
        },
    )


@csrf_exempt  # the sandbox stands in for a gateway's public tokenization API
@require_http_methods(["POST"])
def tokens(request: HttpRequest) -> JsonResponse:
    """Tokenize a test card, as a gateway's browser library would: the card
    number stops here, in the sandbox, and the caller gets a token back."""
    try:
        body = safejson.loads(request.body or b"{}")  # nesting-limited
        if not isinstance(body, dict):
            raise ValueError
        saved = SandboxGateway().tokenize_card(
            number=str(body.get("number", "")),
            exp_month=body.get("exp_month"),
            exp_year=body.get("exp_year"),
            cvc=str(body.get("cvc", "")),
        )
    except ValueError:
        return JsonResponse(
            {"error": {"type": "invalid_request_error", "message": "Send a JSON object."}},
            status=400,
        )
    except DomainError as exc:
        return JsonResponse(
            {
                "error": {
                    "type": "card_error",
                    "code": exc.code,
                    "message": str(exc),
                    "param": exc.param,
                }
            },
            status=400,
        )
    return JsonResponse(
        {
            "id": saved.token,
            "object": "token",
            "card": {
                "brand": saved.brand,
                "last4": saved.last4,
                "exp_month": saved.exp_month,
                "exp_year": saved.exp_year,
            },
        }
    )


def _same_site_path(back: str) -> str:
    if not back.startswith("/") or back.startswith("//") or "\\" in back or "\x00" in back:
        return ""
    return back if url_has_allowed_host_and_scheme(back, allowed_hosts=None) else ""
