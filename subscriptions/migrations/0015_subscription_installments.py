from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0014_cancel_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="installments",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
