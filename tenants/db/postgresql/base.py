"""PostgreSQL backend that connects as the application role and carries the tenant.

Two roles share one database: the owner of the tables (``DATABASE_URL``), as
which migrations run, and the application role (``DATABASE_APP_USER``), which
does not own the tables, so the row-level security policies apply to it. The
connection carries the current tenant in ``ciclo.tenant_id`` from the moment it
opens; ``tenants.context`` rewrites it whenever the context changes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.postgresql import base

_owner_mode = False


@contextmanager
def owner_mode() -> Iterator[None]:
    """Connect as the tables' owner inside the block (migrations, test set-up)."""
    global _owner_mode
    previous = _owner_mode
    connections.close_all()
    _owner_mode = True
    try:
        yield
    finally:
        connections.close_all()
        _owner_mode = previous


def set_owner_mode(active: bool) -> None:
    global _owner_mode
    connections.close_all()
    _owner_mode = active


def owner_mode_active() -> bool:
    return _owner_mode


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        app_user = self.settings_dict.get("APP_USER")
        if app_user and not _owner_mode:
            params["user"] = app_user
            params.pop("password", None)
            if self.settings_dict.get("APP_PASSWORD"):
                params["password"] = self.settings_dict["APP_PASSWORD"]
        return params

    def init_connection_state(self) -> None:
        super().init_connection_state()
        from tenants.context import apply_to_connection

        apply_to_connection(self)
        if not self.get_autocommit():
            # Keep Django's expectation that a fresh connection has no open
            # transaction when autocommit is off.
            self.connection.commit()
