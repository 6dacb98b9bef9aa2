"""PostgreSQL backend that connects as the application role and carries the tenant.

Two roles share one database: the owner of the tables (``DATABASE_URL``), as
which migrations run, and the application role (``DATABASE_APP_USER``), which
does not own the tables, so the row-level security policies apply to it.

Every statement runs with the current context on its session (``ciclo.tenant_id``,
``ciclo.platform``): before a statement is sent, the connection compares the
context with what it last wrote to the session and writes it only when they
differ (one ``set_config`` round trip, usually none: a worker thread serves
one tenant after another on the same connection). Entering and leaving a
context costs nothing by itself. What the session holds is only trusted while
nothing could have undone it: a rollback (of the transaction or to a savepoint)
restores the session values of before, so it makes the connection write them
again before its next statement.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper

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


class ContextCursorWrapper(CursorWrapper):
    """Brings the session up to the current context before each statement."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        self.db.sync_session_context()
        return super().execute(sql, params)

    def executemany(self, sql: Any, param_list: Any) -> Any:
        self.db.sync_session_context()
        return super().executemany(sql, param_list)

    def callproc(self, procname: Any, params: Any = None, kparams: Any = None) -> Any:
        self.db.sync_session_context()
        return super().callproc(procname, params, kparams)

    def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        self.db.sync_session_context()
        return self.cursor.copy(statement, *args, **kwargs)


class ContextCursorDebugWrapper(base.CursorDebugWrapper):
    def execute(self, sql: Any, params: Any = None) -> Any:
        self.db.sync_session_context()
        return super().execute(sql, params)

    def executemany(self, sql: Any, param_list: Any) -> Any:
        self.db.sync_session_context()
        return super().executemany(sql, param_list)

    def callproc(self, procname: Any, params: Any = None, kparams: Any = None) -> Any:
        self.db.sync_session_context()
        return super().callproc(procname, params, kparams)

    def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        self.db.sync_session_context()
        return super().copy(statement, *args, **kwargs)  # type: ignore[misc]  # private in Django, absent from the stubs


class DatabaseWrapper(base.DatabaseWrapper):
    # What this connection's session was last told: (tenant id, platform), or
    # None when unknown (a new connection, or after a rollback).
    session_context: tuple[str, str] | None = None

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
        self.session_context = None
        self.sync_session_context()
        if not self.get_autocommit():
            # Keep Django's expectation that a fresh connection has no open
            # transaction when autocommit is off.
            self.connection.commit()

    def sync_session_context(self) -> None:
        """Write the current tenant context onto the session unless it holds it already."""
        from tenants.context import connection_settings, write_session_context

        wanted = connection_settings()
        if wanted == self.session_context or self.connection is None:
            return
        self.session_context = None  # unknown until the write succeeds
        if write_session_context(self.connection, wanted):
            self.session_context = wanted

    # Any cursor, also one whose raw psycopg cursor is used directly (core/bulk.py).
    def _cursor(self, name: str | None = None) -> Any:
        cursor = super()._cursor(name)  # type: ignore[misc]  # private in Django, absent from the stubs
        self.sync_session_context()
        return cursor

    def make_cursor(self, cursor: Any) -> CursorWrapper:
        return ContextCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor: Any) -> base.CursorDebugWrapper:
        return ContextCursorDebugWrapper(cursor, self)

    # A rollback restores the session values of before the transaction (or
    # savepoint): whatever was written since is no longer there.
    def _rollback(self) -> None:
        self.session_context = None
        try:
            super()._rollback()  # type: ignore[misc]  # private in Django, absent from the stubs
        finally:
            self.session_context = None

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in Django, absent from the stubs
        finally:
            self.session_context = None

    def _close(self) -> None:
        self.session_context = None
        super()._close()  # type: ignore[misc]  # private in Django, absent from the stubs
