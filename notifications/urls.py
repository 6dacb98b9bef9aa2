"""Dashboard pages of this app, mounted at /dashboard/notifications/."""

from django.urls import path  # noqa: F401

app_name = "notifications"
urlpatterns: list = []
