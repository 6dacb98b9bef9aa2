"""Dashboard pages of this app, mounted at /dashboard/dunning/."""

from django.urls import path  # noqa: F401

app_name = "dunning"
urlpatterns: list = []
