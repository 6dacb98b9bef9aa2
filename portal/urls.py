from django.urls import path

from notifications import views as notification_views
from portal import invoice_views as iv
from portal import oidc_views, preferences_views, privacy_views, views
from portal import subscription_views as sv

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-in/password/", views.sign_in_password, name="sign_in_password"),
    path("sign-in/google/", oidc_views.google_start, name="google_start"),
    path("sign-in/google/callback/", oidc_views.google_callback, name="google_callback"),
    path(
        "sign-in/link/<str:challenge_id>/<str:secret>/",
        views.sign_in_link,
        name="sign_in_link",
    ),
    path("enter/<str:token>/", views.enter, name="enter"),
    path("session/<str:secret>/", views.session_enter, name="session"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.profile_password, name="profile_password"),
    path("profile/email/", views.profile_email, name="profile_email"),
    path("profile/email/confirm/", views.profile_email_confirm, name="profile_email_confirm"),
    path(
        "profile/email/confirm/<str:challenge_id>/<str:secret>/",
        views.profile_email_link,
        name="profile_email_link",
    ),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/history/", iv.billing_history, name="billing_history"),
    path("invoices/<str:invoice_id>/", iv.invoice_detail, name="invoice_detail"),
    path("invoices/<str:invoice_id>/pay/", iv.invoice_pay, name="invoice_pay"),
    path("invoices/<str:invoice_id>/pay/card/", iv.invoice_pay_card, name="invoice_pay_card"),
    path("invoices/<str:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path(
        "invoices/<str:invoice_id>/segunda-via/",
        views.invoice_segunda_via,
        name="invoice_segunda_via",
    ),
    path("payment-methods/", views.payment_methods, name="payment_methods"),
    path(
        "payment-methods/<str:method_id>/<slug:action>/",
        views.payment_method_action,
        name="payment_method_action",
    ),
    path("subscriptions/", sv.subscriptions, name="subscriptions"),
    path("subscriptions/<str:sub_id>/", sv.subscription, name="subscription"),
    path("subscriptions/<str:sub_id>/change/", sv.subscription_change, name="subscription_change"),
    path("subscriptions/<str:sub_id>/pause/", sv.subscription_pause, name="subscription_pause"),
    path("subscriptions/<str:sub_id>/resume/", sv.subscription_resume, name="subscription_resume"),
    path("subscriptions/<str:sub_id>/cancel/", sv.subscription_cancel, name="subscription_cancel"),
    path(
        "subscriptions/<str:sub_id>/cancel/undo/",
        sv.subscription_cancel_undo,
        name="subscription_cancel_undo",
    ),
    path(
        "subscriptions/<str:sub_id>/pix-automatico/",
        sv.subscription_pix_automatico,
        name="subscription_pix_automatico",
    ),
    path(
        "subscriptions/<str:sub_id>/payment-method/",
        sv.subscription_payment_method,
        name="subscription_payment_method",
    ),
    path("preferences/", preferences_views.preferences, name="preferences"),
    path("privacy/", privacy_views.privacy_page, name="privacy"),
    path("privacy/export/", privacy_views.privacy_export, name="privacy_export"),
    path("privacy/erase/", privacy_views.privacy_erase, name="privacy_erase"),
    path("leave/", views.leave, name="leave"),
    path("unsubscribe/<str:token>/", notification_views.unsubscribe, name="unsubscribe"),
]
