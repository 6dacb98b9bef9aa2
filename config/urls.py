from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from billing import sandbox_views
from billing.webhooks import gateway_webhook, tenant_gateway_webhook
from config.api import router as api_router
from core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("webhooks/<slug:gateway>/", gateway_webhook, name="gateway-webhook"),
    path(
        "webhooks/<slug:gateway>/<slug:tenant_slug>/",
        tenant_gateway_webhook,
        name="tenant-gateway-webhook",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_router.urls)),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script as a file: no inline script (CSP).
    path(
        "api/docs",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path(
        "sandbox/authenticate/<str:ref>/", sandbox_views.authenticate, name="sandbox-authenticate"
    ),
    path("sandbox/boleto/<str:ref>/", sandbox_views.boleto_pdf, name="sandbox-boleto"),
    path("sandbox/pix/<str:ref>/", sandbox_views.pix, name="sandbox-pix"),
    path("sandbox/tokens", sandbox_views.tokens, name="sandbox-tokens"),
    path("t/<slug:tenant_slug>/checkout/", include("checkout.urls")),
    path("t/<slug:tenant_slug>/", include("portal.urls")),
    path("dashboard/billing/", include("billing.urls")),
    path("dashboard/notifications/", include("notifications.urls")),
    path("dashboard/dunning/", include("dunning.urls")),
    path("dashboard/reports/", include("reports.urls")),
    path("", include("dashboard.urls")),
]
if settings.ADMIN_ENABLED:
    urlpatterns.insert(0, path("admin/", admin.site.urls))
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "core.api.errors.api_not_found"
