"""Pages show times in the tenant's time zone (a policy's "09:00 America/Sao_Paulo" is 09:00 on
screen, not 12:00 UTC). The API keeps UTC: its times are ISO 8601 instants for machines."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class TenantTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None or request.path.startswith("/api/"):
            return self.get_response(request)
        timezone.activate(tenant.time_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
