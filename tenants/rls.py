"""Row-level security: the second wall between tenants (DESIGN.md invariant 1).

Every tenant-owned table gets, through its migration, the operation
``EnableTenantRLS``: RLS enabled and forced (so even the owner is subject to
it), and one policy that admits a row only when its ``tenant_id`` equals the
connection's ``ciclo.tenant_id``, or when the connection explicitly opted into
platform-wide access (``ciclo.platform = 'on'``). A connection with no tenant
set sees nothing and can write nothing.

``tests/tenants/test_rls.py`` checks that every ``TenantOwned`` model's table
has the policy, so a forgotten operation fails the build.
"""

from typing import Any

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

POLICY_NAME = "tenant_isolation"
POLICY_PREDICATE = (
    "tenant_id = NULLIF(current_setting('ciclo.tenant_id', true), '')::bigint "
    "OR current_setting('ciclo.platform', true) = 'on'"
)


class EnableTenantRLS(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def _table(self, app_label: str, state: ProjectState) -> str:
        model = state.apps.get_model(app_label, self.model_name)
        return model._meta.db_table

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, to_state))
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY {POLICY_NAME} ON {table} "
            f"USING ({POLICY_PREDICATE}) WITH CHECK ({POLICY_PREDICATE})"
        )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, from_state))
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Enable tenant row-level security on {self.model_name}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})


def ensure_app_role(*, app_user: str, app_password: str = "", grant_truncate: bool = False) -> None:
    """Create the application role if missing and grant it the data, not the tables.

    Runs as the owner after every ``migrate``. The role never owns a table, so
    the forced RLS policies bind it.
    """
    if connection.vendor != "postgresql" or not app_user:
        return
    qn = connection.ops.quote_name
    role = qn(app_user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_user])
        if cursor.fetchone() is None:
            # Roles belong to the cluster: another database's migrate (a parallel
            # test worker's) may create it between the check and here.
            cursor.execute(
                "DO $role$ BEGIN "
                f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; "
                "END $role$"
            )
        if app_password:
            cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [app_password])
        cursor.execute("SELECT current_database()")
        database = qn(cursor.fetchone()[0])
        privileges = "SELECT, INSERT, UPDATE, DELETE" + (", TRUNCATE" if grant_truncate else "")
        cursor.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
