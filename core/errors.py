"""Domain errors with stable, machine-readable codes.

The API's exception handler and the HTML views turn them into a clear message;
``status`` is the HTTP status an API answers with.
"""

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    type: ClassVar[str] = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code  # type: ignore[misc]


class ValidationFailed(DomainError):
    code = "validation_failed"


class NotFound(DomainError):
    code = "resource_missing"
    status = 404


class StateConflict(DomainError):
    code = "state_conflict"
    status = 409


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    type = "permission_error"


class TenantNotSet(RuntimeError):
    """Tenant-owned data was read or written with no tenant in context.

    A programming error, not bad input: every entry point sets the tenant, and
    code that must see every tenant opts in with ``platform_access()``.
    """
