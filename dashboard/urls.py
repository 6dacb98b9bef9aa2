from django.urls import path

from dashboard import (
    catalog_views,
    commission_views,
    customer_views,
    discount_views,
    fulfilment_views,
    plan_portal_views,
    price_table_views,
    readjustment_views,
    return_file_views,
    subscription_new,
    team_views,
    views,
)
from dashboard import subscription_item_views as subscription_items
from dashboard import subscription_views as subscriptions

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/switch/", views.switch_tenant, name="switch_tenant"),
    path("dashboard/api-keys/", views.api_keys, name="api_keys"),
    path("dashboard/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("dashboard/settings/", views.tenant_settings, name="settings"),
    path("dashboard/audit/", views.audit_log, name="audit"),
    # --- Catalog (issue 13, item 1): products, plans, coupons, tax rates, sellers.
    path("dashboard/catalog/", catalog_views.catalog, name="catalog"),
    # --- Readjustment (issue 17): contracts coming due, index series, plan policies.
    path("dashboard/readjustments/", readjustment_views.due, name="readjustments"),
    path(
        "dashboard/readjustments/apply/",
        readjustment_views.apply,
        name="readjustment_apply",
    ),
    path(
        "dashboard/readjustments/policies/",
        readjustment_views.policies,
        name="readjustment_policies",
    ),
    path(
        "dashboard/readjustments/policies/<str:plan_code>/off/",
        readjustment_views.policy_turn_off,
        name="readjustment_policy_off",
    ),
    path("dashboard/readjustments/series/", readjustment_views.series_list, name="index_series"),
    path(
        "dashboard/readjustments/series/<str:series_id>/",
        readjustment_views.series_detail,
        name="index_series_detail",
    ),
    path(
        "dashboard/readjustments/series/<str:series_id>/value/",
        readjustment_views.series_value,
        name="index_series_value",
    ),
    path(
        "dashboard/readjustments/series/<str:series_id>/import/",
        readjustment_views.series_import,
        name="index_series_import",
    ),
    path("dashboard/catalog/products/new/", catalog_views.product_create, name="product_create"),
    path(
        "dashboard/catalog/products/<str:product_id>/",
        catalog_views.product_edit,
        name="product_edit",
    ),
    path(
        "dashboard/catalog/products/<str:product_id>/archive/",
        catalog_views.product_archive,
        name="product_archive",
    ),
    path("dashboard/catalog/plans/new/", catalog_views.plan_create, name="plan_create"),
    path("dashboard/catalog/plans/<str:plan_id>/", catalog_views.plan_detail, name="plan_detail"),
    path(
        "dashboard/catalog/plans/<str:plan_id>/portal/",
        plan_portal_views.plan_portal,
        name="plan_portal",
    ),
    path(
        "dashboard/catalog/plans/<str:plan_id>/price/", catalog_views.plan_price, name="plan_price"
    ),
    path("dashboard/catalog/plans/<str:plan_id>/edit/", catalog_views.plan_edit, name="plan_edit"),
    path(
        "dashboard/catalog/plans/<str:plan_id>/archive/",
        catalog_views.plan_archive,
        name="plan_archive",
    ),
    # Price tables (checkout): several plans on one shareable page.
    path("dashboard/catalog/price-tables/", price_table_views.price_tables, name="price_tables"),
    path(
        "dashboard/catalog/price-tables/new/",
        price_table_views.price_table_new,
        name="price_table_new",
    ),
    path(
        "dashboard/catalog/price-tables/<str:table_id>/",
        price_table_views.price_table,
        name="price_table",
    ),
    path(
        "dashboard/catalog/price-tables/<str:table_id>/edit/",
        price_table_views.price_table_edit,
        name="price_table_edit",
    ),
    path(
        "dashboard/catalog/price-tables/<str:table_id>/archive/",
        price_table_views.price_table_archive_view,
        name="price_table_archive",
    ),
    path("dashboard/catalog/coupons/", catalog_views.coupon_list, name="coupons"),
    path("dashboard/catalog/coupons/new/", catalog_views.coupon_create, name="coupon_create"),
    path(
        "dashboard/catalog/coupons/<str:coupon_id>/edit/",
        catalog_views.coupon_edit,
        name="coupon_edit",
    ),
    path(
        "dashboard/catalog/coupons/<str:coupon_id>/archive/",
        catalog_views.coupon_archive,
        name="coupon_archive",
    ),
    path(
        "dashboard/catalog/coupons/<str:coupon_id>/discount/",
        catalog_views.coupon_discount,
        name="coupon_discount",
    ),
    path("dashboard/catalog/tax-rates/", catalog_views.tax_rate_list, name="tax_rates"),
    path("dashboard/catalog/tax-rates/new/", catalog_views.tax_rate_create, name="tax_rate_create"),
    path(
        "dashboard/catalog/tax-rates/<str:tax_rate_id>/",
        catalog_views.tax_rate_edit,
        name="tax_rate_edit",
    ),
    path(
        "dashboard/catalog/tax-rates/<str:tax_rate_id>/archive/",
        catalog_views.tax_rate_archive,
        name="tax_rate_archive",
    ),
    path("dashboard/catalog/sellers/", catalog_views.seller_list, name="sellers"),
    path("dashboard/catalog/sellers/new/", catalog_views.seller_create, name="seller_create"),
    path(
        "dashboard/catalog/sellers/<str:seller_id>/",
        catalog_views.seller_edit,
        name="seller_edit",
    ),
    path(
        "dashboard/catalog/sellers/<str:seller_id>/commission/",
        commission_views.seller_commission,
        name="seller_commission",
    ),
    path(
        "dashboard/catalog/sellers/<str:seller_id>/statement/",
        commission_views.seller_statement,
        name="seller_statement",
    ),
    path(
        "dashboard/catalog/sellers/<str:seller_id>/caps/",
        catalog_views.seller_cap,
        name="seller_cap",
    ),
    # --- end of Catalog
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
        "dashboard/customers/<str:public_id>/discount/",
        discount_views.customer_discount,
        name="customer_discount",
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
    path(
        "dashboard/customers/<str:public_id>/notes/",
        customer_views.customer_note,
        name="customer_note",
    ),
    # --- end customers ---
    # -- subscriptions (issue 13 item 3) ------------------------------------------
    path("dashboard/subscriptions/", subscriptions.subscriptions, name="subscriptions"),
    # Before "<sub_id>/": "new" is not a subscription's id.
    path(
        "dashboard/subscriptions/new/", subscription_new.subscription_new, name="subscription_new"
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/",
        subscriptions.subscription,
        name="subscription",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/seller/",
        commission_views.subscription_seller,
        name="subscription_seller",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/discount/",
        discount_views.subscription_discount,
        name="subscription_discount",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/change/",
        subscriptions.subscription_change,
        name="subscription_change",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/pause/",
        subscriptions.subscription_pause,
        name="subscription_pause",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/resume/",
        subscriptions.subscription_resume,
        name="subscription_resume",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/cancel/",
        subscriptions.subscription_cancel,
        name="subscription_cancel",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/cancel/undo/",
        subscriptions.subscription_cancel_undo,
        name="subscription_cancel_undo",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/payment-method/",
        subscriptions.subscription_payment_method,
        name="subscription_payment_method",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/items/add/",
        subscription_items.subscription_item_add,
        name="subscription_item_add",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/items/<str:item_id>/quantity/",
        subscription_items.subscription_item_quantity,
        name="subscription_item_quantity",
    ),
    path(
        "dashboard/subscriptions/<str:sub_id>/items/<str:item_id>/remove/",
        subscription_items.subscription_item_remove,
        name="subscription_item_remove",
    ),
    # -- end subscriptions ---------------------------------------------------------
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
    path(
        "dashboard/invoices/<str:ref>/installments/",
        invoices.invoice_installments,
        name="invoice_installments",
    ),
    path("dashboard/payments/", invoices.payments_list, name="payments"),
    path("dashboard/payments/return-files/", return_file_views.return_files, name="return_files"),
    path(
        "dashboard/payments/return-files/upload/",
        return_file_views.return_file_upload,
        name="return_file_upload",
    ),
    path(
        "dashboard/payments/return-files/<str:ref>/",
        return_file_views.return_file,
        name="return_file",
    ),
    path("dashboard/fulfilment/", fulfilment_views.fulfilment, name="fulfilment"),
    path("dashboard/fulfilment/pack/", fulfilment_views.fulfilment_pack, name="fulfilment_pack"),
    path(
        "dashboard/fulfilment/ship/", fulfilment_views.fulfilment_ship_view, name="fulfilment_ship"
    ),
    path(
        "dashboard/fulfilment/deliver/",
        fulfilment_views.fulfilment_deliver_view,
        name="fulfilment_deliver",
    ),
    path(
        "dashboard/fulfilment/cancel/",
        fulfilment_views.fulfilment_cancel_view,
        name="fulfilment_cancel",
    ),
    path(
        "dashboard/fulfilment/packing-list/",
        fulfilment_views.fulfilment_export,
        name="fulfilment_export",
    ),
    path("dashboard/refunds/", invoices.refunds_list, name="refunds"),
    path("dashboard/credit-notes/", invoices.credit_notes_list, name="credit_notes"),
    path(
        "dashboard/credit-notes/<str:ref>/pdf/",
        invoices.credit_note_pdf,
        name="credit_note_pdf",
    ),
    path("dashboard/events/", invoices.events_list, name="events"),
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

# --- Test clocks (issue 13 item 5; clocks) ---
from dashboard import clock_views  # noqa: E402

urlpatterns += [
    path("dashboard/test-clocks/", clock_views.test_clocks, name="test_clocks"),
    path("dashboard/test-clocks/new/", clock_views.test_clock_new, name="test_clock_new"),
    path("dashboard/test-clocks/<str:clock_id>/", clock_views.test_clock, name="test_clock"),
    path(
        "dashboard/test-clocks/<str:clock_id>/progress/",
        clock_views.test_clock_progress,
        name="test_clock_progress",
    ),
    path(
        "dashboard/test-clocks/<str:clock_id>/advance/",
        clock_views.test_clock_advance,
        name="test_clock_advance",
    ),
    path(
        "dashboard/test-clocks/<str:clock_id>/customers/new/",
        clock_views.test_clock_customer_new,
        name="test_clock_customer_new",
    ),
    path(
        "dashboard/test-clocks/<str:clock_id>/delete/",
        clock_views.test_clock_delete,
        name="test_clock_delete",
    ),
]
# --- end Test clocks ---
