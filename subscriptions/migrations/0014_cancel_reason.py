from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0013_subscription_paused_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="cancel_reason_code",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="subscription",
            name="cancel_reason_label",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="subscription",
            name="cancel_comment",
            field=models.TextField(blank=True, default=""),
        ),
    ]
