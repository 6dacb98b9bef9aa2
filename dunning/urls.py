"""Dashboard pages of this app, mounted at /dashboard/dunning/."""

from django.urls import path

from dunning import views

app_name = "dunning"
urlpatterns = [
    path("", views.index, name="index"),
    path("policies/<str:public_id>/", views.policy_edit, name="policy_edit"),
    path("cases/<str:public_id>/", views.case_detail, name="case_detail"),
]
