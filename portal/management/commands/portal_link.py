"""Print a signed portal link for one subscriber (support and demos)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.models import Customer
from customers.portal_links import PAGES, portal_url
from tenants.context import platform_access, tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Print a signed link that opens the portal as the customer with EMAIL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--page", default="home", choices=PAGES)

    def handle(self, *args: Any, **opts: Any) -> None:
        with platform_access():
            tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {opts['tenant']!r}.")
        with tenant_context(tenant):
            customers = list(
                Customer.objects.filter(email__iexact=opts["email"].strip()).order_by("id")[:2]
            )
            if not customers:
                raise CommandError(f"{tenant.slug} has no customer with email {opts['email']!r}.")
            if len(customers) > 1:
                raise CommandError(
                    f"{tenant.slug} has several customers with email {opts['email']!r}; "
                    "open the customer in the dashboard instead."
                )
            self.stdout.write(portal_url(customers[0], page=opts["page"]))
