from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("payments/", views.payment_settings, name="payment_settings"),
    path(
        "payments/stripe/<str:mode>/disconnect/",
        views.payment_account_deactivate,
        name="payment_account_deactivate",
    ),
]
