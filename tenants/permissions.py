"""What each staff role may do. Later issues add permissions to this map."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Support")
    VIEWER = "viewer", _("Viewer")


class Perm(models.TextChoices):
    TENANT_MANAGE = "tenant.manage", _("Manage the account's settings and branding")
    MEMBERS_MANAGE = "members.manage", _("Invite and remove staff, change roles")
    API_KEYS_MANAGE = "api_keys.manage", _("Create and revoke API keys")
    AUDIT_VIEW = "audit.view", _("Read the audit log")
    CUSTOMERS_VIEW = "customers.view", _("See customers")
    CUSTOMERS_MANAGE = "customers.manage", _("Create and edit customers")
    CATALOG_MANAGE = "catalog.manage", _("Edit products and plans")
    SUBSCRIPTIONS_MANAGE = "subscriptions.manage", _("Change, pause and cancel subscriptions")
    BILLING_VIEW = "billing.view", _("See invoices and payments")
    BILLING_MANAGE = "billing.manage", _("Issue, void and credit invoices")
    REFUNDS_CREATE = "refunds.create", _("Refund payments")
    REPORTS_VIEW = "reports.view", _("See reports")


_VIEW = {Perm.CUSTOMERS_VIEW, Perm.BILLING_VIEW, Perm.REPORTS_VIEW}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Perm.values),
    Role.ADMIN: frozenset(set(Perm.values) - {Perm.TENANT_MANAGE}),
    Role.FINANCE: frozenset(
        _VIEW | {Perm.BILLING_MANAGE, Perm.REFUNDS_CREATE, Perm.CUSTOMERS_MANAGE, Perm.AUDIT_VIEW}
    ),
    # Support helps subscribers; revenue reports are not theirs to read.
    Role.SUPPORT: frozenset(
        (_VIEW - {Perm.REPORTS_VIEW}) | {Perm.CUSTOMERS_MANAGE, Perm.SUBSCRIPTIONS_MANAGE}
    ),
    Role.VIEWER: frozenset(_VIEW),
}


def role_has_permission(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
