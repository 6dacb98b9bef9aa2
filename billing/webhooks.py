from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments import webhook_receive
from core import clock
from core.errors import DomainError
from tenants.context import tenant_context
from tenants.models import Tenant


def _receive(request: HttpRequest, gateway: str) -> HttpResponse:
    if len(request.body) > 1_000_000:
        return JsonResponse({"error": {"code": "too_large"}}, status=413)
    try:
        outcome = webhook_receive(
            gateway_name=gateway,
            body=request.body,
            headers=dict(request.headers),
            now=clock.now(),
        )
    except DomainError as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
        )
    return JsonResponse({"received": True, "outcome": outcome})


@csrf_exempt  # gateways sign their webhooks; there is no browser session here
@require_POST
def gateway_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    return _receive(request, gateway)


@csrf_exempt
@require_POST
def tenant_gateway_webhook(request: HttpRequest, gateway: str, tenant_slug: str) -> HttpResponse:
    """For gateways where each tenant brings its own account (Stripe): the URL
    says whose signing secret verifies the webhook."""
    tenant = get_object_or_404(Tenant, slug=tenant_slug)
    with tenant_context(tenant):
        return _receive(request, gateway)
