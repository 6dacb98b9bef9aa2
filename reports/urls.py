"""Dashboard pages of this app, mounted at /dashboard/reports/."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.report, name="report"),
    path("<slug:slug>/export.<str:fmt>", views.export, name="export"),
]
