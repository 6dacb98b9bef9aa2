from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from core import clock
from core.actors import Actor
from core.errors import DomainError
from tenants.accounts import staff_user_ensure
from tenants.context import tenant_context
from tenants.services import api_key_create, tenant_create


class Command(BaseCommand):
    help = "Create a tenant with its owner; the new secret API key is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--name", help="Display name (defaults to the slug).")
        parser.add_argument("--password", help="Owner's password (default: none, use reset).")
        parser.add_argument("--currency", default="BRL")
        parser.add_argument("--time-zone", default="America/Sao_Paulo")
        parser.add_argument("--locale", default="pt-br")
        parser.add_argument("--live", action="store_true", help="Issue a live key (sk_live_).")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            validate_email(opts["owner_email"])
        except ValidationError as exc:
            raise CommandError(f"Invalid --owner-email: {opts['owner_email']}") from exc
        now = clock.now()
        owner = staff_user_ensure(email=opts["owner_email"], password=opts["password"])
        try:
            tenant = tenant_create(
                name=opts["name"] or opts["slug"],
                slug=opts["slug"],
                owner=owner,
                now=now,
                default_currency=opts["currency"],
                time_zone=opts["time_zone"],
                locale=opts["locale"],
            )
        except (DomainError, ValidationError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        with tenant_context(tenant):
            issued = api_key_create(
                tenant=tenant,
                name="Created by create_tenant",
                mode="live" if opts["live"] else "test",
                actor=Actor.system("create_tenant"),
                now=now,
            )
        self.stdout.write(f"Tenant {tenant.slug} (id {tenant.pk}) owned by {owner.email}")
        self.stdout.write(issued.raw)
