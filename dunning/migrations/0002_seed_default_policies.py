"""Every existing tenant gets the default régua (new tenants get it when they
are created: ``tenants.services.tenant_create``)."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from dunning.domain import DEFAULT_STEPS
    from tenants.context import platform_access

    Tenant = apps.get_model("tenants", "Tenant")
    Policy = apps.get_model("dunning", "DunningPolicy")
    Step = apps.get_model("dunning", "DunningStep")
    # Row-level security is forced even for the tables' owner: see every tenant.
    with platform_access():
        for tenant in Tenant.objects.order_by("pk"):
            for kind, specs in DEFAULT_STEPS.items():
                if len(kind) > 8:  # pix_automatico: 0004 widens the column and seeds it
                    continue
                if Policy.objects.filter(tenant=tenant, payment_method_kind=kind).exists():
                    continue
                policy = Policy.objects.create(tenant=tenant, payment_method_kind=kind)
                Step.objects.bulk_create(
                    [
                        Step(
                            tenant=tenant,
                            policy=policy,
                            offset_days=s.offset_days,
                            action=s.action,
                            channels=list(s.channels),
                            template=s.template,
                        )
                        for s in specs
                    ]
                )


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
