# TestClock now lives in customers (customers/migrations/0006_testclock.py).
# State only: its table, rows and RLS policy stay as they are.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_segunda_via"),
        ("customers", "0006_testclock"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TestClock")],
            database_operations=[],
        ),
    ]
