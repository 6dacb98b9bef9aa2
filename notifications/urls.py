"""Dashboard pages of this app, mounted at /dashboard/notifications/."""

from django.urls import path

from notifications import views as message_views
from notifications import webhook_views

app_name = "notifications"
urlpatterns: list = [
    # Subscriber messages (email, SMS): templates, preview, log, SMS account.
    path("messages/", message_views.home, name="messages"),
    path("messages/sms/", message_views.sms_settings, name="sms_settings"),
    path(
        "messages/<str:key>/<str:channel>/<str:language>/",
        message_views.template_edit,
        name="template_edit",
    ),
    path(
        "messages/<str:key>/<str:channel>/<str:language>/preview/",
        message_views.template_preview,
        name="template_preview",
    ),
    path(
        "messages/<str:key>/<str:channel>/<str:language>/reset/",
        message_views.template_reset,
        name="template_reset",
    ),
    # Outbound webhooks: endpoints, their delivery log, replay.
    path("webhooks/", webhook_views.endpoints, name="webhooks"),
    path("webhooks/<str:endpoint_id>/", webhook_views.endpoint_detail, name="webhook_detail"),
    path(
        "webhooks/<str:endpoint_id>/disable/",
        webhook_views.endpoint_disable,
        name="webhook_disable",
    ),
    path(
        "webhooks/<str:endpoint_id>/enable/", webhook_views.endpoint_enable, name="webhook_enable"
    ),
    path(
        "webhooks/<str:endpoint_id>/rotate/", webhook_views.endpoint_rotate, name="webhook_rotate"
    ),
    path(
        "webhooks/<str:endpoint_id>/delete/", webhook_views.endpoint_delete, name="webhook_delete"
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/replay/",
        webhook_views.delivery_replay,
        name="webhook_replay",
    ),
]
