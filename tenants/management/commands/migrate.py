"""``migrate`` as the tables' owner, then grant the application role its data.

Wraps Django's command: on PostgreSQL it connects as the owner
(``DATABASE_URL``) for the schema changes, creates the application role if it
is missing and grants it read/write on the data, never ownership.
"""

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS

from tenants.db.postgresql.base import owner_mode
from tenants.rls import ensure_app_role


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES[options.get("database") or DEFAULT_DB_ALIAS]
        if db.get("APP_USER") is None:
            super().handle(*args, **options)
            return
        with owner_mode():
            super().handle(*args, **options)
            ensure_app_role(
                app_user=db["APP_USER"],
                app_password=db.get("APP_PASSWORD", ""),
            )
