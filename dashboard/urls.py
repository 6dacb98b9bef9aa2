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

# --- invoices and money (issue 13, item 4) ---------------------------------------------
from dashboard import invoices  # noqa: E402

urlpatterns += [
    path("dashboard/invoices/", invoices.invoices, name="invoices"),
    path("dashboard/invoices/<str:ref>/", invoices.invoice, name="invoice"),
    path("dashboard/invoices/<str:ref>/pdf/", invoices.invoice_pdf, name="invoice_pdf"),
    path(
        "dashboard/invoices/<str:ref>/finalize/",
        invoices.invoice_finalize,
        name="invoice_finalize",
    ),
    path("dashboard/invoices/<str:ref>/charge/", invoices.invoice_charge, name="invoice_charge"),
    path(
        "dashboard/invoices/<str:ref>/mark-paid/",
        invoices.invoice_mark_paid,
        name="invoice_mark_paid",
    ),
    path("dashboard/invoices/<str:ref>/void/", invoices.invoice_void, name="invoice_void"),
    path(
        "dashboard/invoices/<str:ref>/uncollectible/",
        invoices.invoice_mark_uncollectible,
        name="invoice_mark_uncollectible",
    ),
    path(
        "dashboard/invoices/<str:ref>/credit-note/",
        invoices.invoice_credit_note,
        name="invoice_credit_note",
    ),
    path("dashboard/invoices/<str:ref>/refund/", invoices.invoice_refund, name="invoice_refund"),
    path(
        "dashboard/invoices/<str:ref>/segunda-via/",
        invoices.invoice_segunda_via,
        name="invoice_segunda_via",
    ),
    path("dashboard/invoices/<str:ref>/resend/", invoices.invoice_resend, name="invoice_resend"),
    path("dashboard/payments/", invoices.payments_list, name="payments"),
    path("dashboard/refunds/", invoices.refunds_list, name="refunds"),
    path("dashboard/credit-notes/", invoices.credit_notes_list, name="credit_notes"),
    path("dashboard/events/", invoices.events_list, name="events"),
]
