from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_customer_address"),
    ]

    operations = [
        migrations.AddField(
            model_name="testclock",
            name="advancing_to",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="testclock",
            name="advanced_through",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="testclock",
            name="advance_error",
            field=models.CharField(blank=True, max_length=300),
        ),
    ]
