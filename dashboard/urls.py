from django.urls import path

from dashboard import team_views, views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/switch/", views.switch_tenant, name="switch_tenant"),
    path("dashboard/api-keys/", views.api_keys, name="api_keys"),
    path("dashboard/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("dashboard/settings/", views.tenant_settings, name="settings"),
    path("dashboard/audit/", views.audit_log, name="audit"),
    # --- Team (issue 13 item 6; d5) ---
    path("dashboard/team/", team_views.team, name="team"),
    path("dashboard/team/invite/", team_views.team_invite, name="team_invite"),
    path(
        "dashboard/team/<int:membership_id>/role/",
        team_views.team_member_role,
        name="team_member_role",
    ),
    path(
        "dashboard/team/<int:membership_id>/remove/",
        team_views.team_member_remove,
        name="team_member_remove",
    ),
    path("dashboard/team/accept/<str:token>/", team_views.team_accept, name="team_accept"),
    # --- end Team ---
]
