from django.urls import path

from dashboard import customer_views, views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/switch/", views.switch_tenant, name="switch_tenant"),
    path("dashboard/api-keys/", views.api_keys, name="api_keys"),
    path("dashboard/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("dashboard/settings/", views.tenant_settings, name="settings"),
    path("dashboard/audit/", views.audit_log, name="audit"),
    # --- Customers and the global search (issue 13, customers slice) ---
    path("dashboard/search/", customer_views.search, name="search"),
    path("dashboard/customers/", customer_views.customers, name="customers"),
    path("dashboard/customers/new/", customer_views.customer_new, name="customer_new"),
    path(
        "dashboard/customers/<str:public_id>/",
        customer_views.customer_detail,
        name="customer_detail",
    ),
    path(
        "dashboard/customers/<str:public_id>/edit/",
        customer_views.customer_edit,
        name="customer_edit",
    ),
    path(
        "dashboard/customers/<str:public_id>/balance/",
        customer_views.customer_balance,
        name="customer_balance",
    ),
    path(
        "dashboard/customers/<str:public_id>/portal-link/",
        customer_views.customer_portal_link,
        name="customer_portal_link",
    ),
    path(
        "dashboard/customers/<str:public_id>/portal-link/send/",
        customer_views.customer_portal_link_send,
        name="customer_portal_link_send",
    ),
    # --- end customers ---
]
