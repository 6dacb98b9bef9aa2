from django.urls import path

from dashboard import subscription_views as subscriptions
from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/switch/", views.switch_tenant, name="switch_tenant"),
    path("dashboard/api-keys/", views.api_keys, name="api_keys"),
    path("dashboard/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("dashboard/settings/", views.tenant_settings, name="settings"),
    path("dashboard/audit/", views.audit_log, name="audit"),
    # -- subscriptions (issue 13 item 3) ------------------------------------------
    path("dashboard/subscriptions/", subscriptions.subscriptions, name="subscriptions"),
    path(
        "dashboard/subscriptions/<str:sub_id>/",
        subscriptions.subscription,
        name="subscription",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/change/",
        subscriptions.subscription_change,
        name="subscription_change",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/pause/",
        subscriptions.subscription_pause,
        name="subscription_pause",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/resume/",
        subscriptions.subscription_resume,
        name="subscription_resume",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/cancel/",
        subscriptions.subscription_cancel,
        name="subscription_cancel",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/cancel/undo/",
        subscriptions.subscription_cancel_undo,
        name="subscription_cancel_undo",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/payment-method/",
        subscriptions.subscription_payment_method,
        name="subscription_payment_method",
    ),
    # -- end subscriptions ---------------------------------------------------------
]
