"""The admin app with Ciclo's site (config/admin_site.py): allauth login and MFA.

Apart from the site so that INSTALLED_APPS can name it before the apps load."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin_site.MfaAdminSite"
