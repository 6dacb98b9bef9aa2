# TestClock moves from billing to customers, so that a customer's foreign key
# points down to it. State only: the table keeps its name (billing_testclock),
# its rows and its RLS policy.

import functools

import django.db.models.deletion
from django.db import migrations, models

import core.ids


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_marketing_opt_out"),
        ("billing", "0011_segunda_via"),
        ("tenants", "0004_event"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TestClock",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "public_id",
                            models.CharField(
                                default=functools.partial(
                                    core.ids.new_public_id, *("clock",), **{}
                                ),
                                editable=False,
                                max_length=32,
                                unique=True,
                            ),
                        ),
                        ("name", models.CharField(blank=True, max_length=200)),
                        ("frozen_time", models.DateTimeField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={"db_table": "billing_testclock"},
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="test_clock",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customers",
                        to="customers.testclock",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
