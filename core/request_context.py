"""Who is acting and from where, for the audit log and the logs.

Set by ``core.middleware.RequestContextMiddleware`` for each request and by the
tenant-aware Celery task class for each task.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


# RequestOrigin is a frozen dataclass, so sharing the default is safe.
_origin: ContextVar[RequestOrigin] = ContextVar("ciclo_request_origin", default=RequestOrigin())  # noqa: B039


def current_origin() -> RequestOrigin:
    return _origin.get()


def set_origin(origin: RequestOrigin) -> object:
    return _origin.set(origin)


def reset_origin(token: object) -> None:
    _origin.reset(token)  # type: ignore[arg-type]
