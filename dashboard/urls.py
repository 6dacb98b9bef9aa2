from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/switch/", views.switch_tenant, name="switch_tenant"),
    path("dashboard/api-keys/", views.api_keys, name="api_keys"),
    path("dashboard/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("dashboard/settings/", views.tenant_settings, name="settings"),
    path("dashboard/audit/", views.audit_log, name="audit"),
]
