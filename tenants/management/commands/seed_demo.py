from typing import Any

from django.core.management.base import BaseCommand

from core import clock
from core.actors import Actor
from tenants.accounts import staff_user_ensure
from tenants.context import tenant_context
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create, api_key_revoke, tenant_create

DEMO_EMAIL = "owner@demo.ciclo.local"
DEMO_PASSWORD = "ciclo-demo-2026"  # noqa: S105 - a local demo account, printed on purpose
DEMO_SLUG = "demo"
DEMO_KEY_NAME = "Demo key (seed_demo)"


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant and print how to sign in. Idempotent."

    def handle(self, *args: Any, **opts: Any) -> None:
        now = clock.now()
        actor = Actor.system("seed_demo")
        owner = staff_user_ensure(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or tenant_create(
            name="Demo Ltda.", slug=DEMO_SLUG, owner=owner, now=now
        )
        with tenant_context(tenant):
            # Only the hash of a key is kept, so each run issues a fresh demo
            # key and revokes the previous one: one live demo key at a time.
            for old in ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
                api_key_revoke(tenant=tenant, key_id=old.pk, actor=actor, now=now)
            issued = api_key_create(tenant=tenant, name=DEMO_KEY_NAME, actor=actor, now=now)
        self.stdout.write(self.style.SUCCESS("Demo tenant ready."))
        self.stdout.write(f"  Sign in:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Portal:   /t/{tenant.slug}/")
        self.stdout.write(f"  API key:  {issued.raw}")
