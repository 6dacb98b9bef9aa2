from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments import webhook_receive
from core import clock
from core.errors import DomainError


@csrf_exempt  # gateways sign their webhooks; there is no browser session here
@require_POST
def gateway_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
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
