import tenants.cancel_reasons
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_tenant_interval_change_anchor_pause_unused"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="cancel_reasons",
            field=models.JSONField(
                blank=True,
                default=list,
                validators=[tenants.cancel_reasons.validate_cancel_reasons],
                verbose_name="cancellation reasons",
            ),
        ),
    ]
