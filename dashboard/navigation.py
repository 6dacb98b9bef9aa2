"""The dashboard's sidebar: sections grouped by task, each shown only to a role
that may open it, and only once its page exists (a URL name that does not
resolve yet — a page another slice adds — is left out, not a broken link)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tenants.models import Membership
from tenants.permissions import Perm


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    perm: str | None = None


@dataclass(frozen=True)
class NavGroup:
    label: str | Promise
    items: tuple[NavItem, ...]


NAV: tuple[NavGroup, ...] = (
    NavGroup(
        "",
        (
            NavItem(_("Overview"), "dashboard:home"),
            NavItem(_("Customers"), "dashboard:customers", Perm.CUSTOMERS_VIEW),
            NavItem(_("Subscriptions"), "dashboard:subscriptions", Perm.BILLING_VIEW),
            NavItem(_("Invoices"), "dashboard:invoices", Perm.BILLING_VIEW),
            NavItem(_("Fulfilment"), "dashboard:fulfilment", Perm.BILLING_VIEW),
            NavItem(_("Catalog"), "dashboard:catalog", Perm.BILLING_VIEW),
            NavItem(_("Readjustments"), "dashboard:readjustments", Perm.BILLING_VIEW),
            NavItem(_("Dunning"), "dunning:index", Perm.BILLING_VIEW),
            NavItem(_("Messages"), "notifications:messages", Perm.CUSTOMERS_VIEW),
        ),
    ),
    NavGroup(
        _("Reports"),
        (NavItem(_("All reports"), "reports:index", Perm.REPORTS_VIEW),),
    ),
    NavGroup(
        _("Money"),
        (
            NavItem(_("Payments"), "dashboard:payments", Perm.BILLING_VIEW),
            NavItem(_("Pix Automático"), "dashboard:pix_mandates", Perm.BILLING_VIEW),
            NavItem(_("Refunds"), "dashboard:refunds", Perm.BILLING_VIEW),
            NavItem(_("Credit notes"), "dashboard:credit_notes", Perm.BILLING_VIEW),
        ),
    ),
    NavGroup(
        _("Developers"),
        (
            NavItem(_("API keys"), "dashboard:api_keys", Perm.API_KEYS_MANAGE),
            NavItem(_("Webhooks"), "notifications:webhooks", Perm.API_KEYS_MANAGE),
            NavItem(_("Events"), "dashboard:events", Perm.BILLING_VIEW),
            NavItem(_("Test clocks"), "dashboard:test_clocks", Perm.BILLING_VIEW),
            NavItem(_("Audit log"), "dashboard:audit", Perm.AUDIT_VIEW),
        ),
    ),
    NavGroup(
        _("Settings"),
        (
            NavItem(_("Account"), "dashboard:settings", Perm.TENANT_MANAGE),
            NavItem(_("Team"), "dashboard:team", Perm.MEMBERS_MANAGE),
            NavItem(_("Payment settings"), "billing:payment_settings", Perm.TENANT_MANAGE),
        ),
    ),
)


def url_if_exists(url_name: str) -> str:
    """The path of ``url_name``, or "" while no page has that name."""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return ""


def sidebar(membership: Membership | None, path: str) -> list[dict[str, object]]:
    """The groups and links ``membership`` may open; the link ``path`` is under is current."""
    groups: list[dict[str, object]] = []
    for group in NAV:
        links = []
        for item in group.items:
            if item.perm is not None and (membership is None or not membership.has_perm(item.perm)):
                continue
            url = url_if_exists(item.url_name)
            if not url:
                continue
            current = path == url if url == "/" else path.startswith(url)
            links.append({"label": item.label, "url": url, "current": current})
        if links:
            groups.append({"label": group.label, "links": links})
    return groups
