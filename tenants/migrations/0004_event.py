# The outbox's Event moves from notifications to tenants so that the outbox writer
# (tenants/outbox.py) imports nothing above it. State only: the table keeps its
# name (notifications_event), its rows, its indexes and its RLS policy.

import functools

import django.db.models.deletion
from django.db import migrations, models

import core.ids


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_idempotency_key"),
        ("notifications", "0003_messages"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Event",
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
                                default=functools.partial(core.ids.new_public_id, *("evt",), **{}),
                                editable=False,
                                max_length=32,
                                unique=True,
                            ),
                        ),
                        ("type", models.CharField(max_length=64)),
                        ("at", models.DateTimeField()),
                        ("subject_type", models.CharField(blank=True, max_length=32)),
                        ("subject_id", models.CharField(blank=True, max_length=32)),
                        ("data", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "notifications_event",
                        "indexes": [
                            models.Index(fields=["tenant", "at", "id"], name="event_tenant_at"),
                            models.Index(
                                fields=["tenant", "subject_id"], name="event_tenant_subject"
                            ),
                            models.Index(
                                fields=["tenant", "created_at", "id"], name="event_tenant_created"
                            ),
                            models.Index(
                                condition=models.Q(("dispatched_at__isnull", True)),
                                fields=["tenant", "id"],
                                name="event_undispatched",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
