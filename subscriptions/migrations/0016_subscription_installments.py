from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0015_plan_ships_goods"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="installments",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
