from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
