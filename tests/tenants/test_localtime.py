"""Dashboard and portal pages render times in the tenant's zone; the API stays in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from tenants.localtime import TenantTimeZoneMiddleware
from tenants.models import Tenant

NOON_UTC = datetime(2026, 6, 4, 12, 0, tzinfo=UTC)


def _render_through_middleware(path: str, tenant: Tenant | None) -> str:
    def view(request: HttpRequest) -> HttpResponse:
        with translation.override("pt-br"):
            html = Template('{{ at|date:"SHORT_DATETIME_FORMAT" }}').render(
                Context({"at": NOON_UTC})
            )
        return HttpResponse(html)

    request = RequestFactory().get(path)
    request.tenant = tenant  # type: ignore[attr-defined]
    return TenantTimeZoneMiddleware(view)(request).content.decode()


def test_pages_use_the_tenants_zone_and_the_api_does_not() -> None:
    tenant = Tenant(slug="acme", time_zone="America/Sao_Paulo")

    assert _render_through_middleware("/dashboard/dunning/", tenant) == "04/06/2026 09:00"
    assert _render_through_middleware("/api/v1/invoices", tenant) == "04/06/2026 12:00"
    assert _render_through_middleware("/accounts/login/", None) == "04/06/2026 12:00"
    assert timezone.get_current_timezone_name() == "UTC"  # deactivated after the request
