"""State machines as data: each status lists the statuses it may move to.

Services move an object with ``transition``; an illegal move raises a domain
error that the API turns into a 409 and the UI into a message.
"""

from collections.abc import Mapping
from typing import Any

from core.errors import StateConflict


class IllegalTransition(StateConflict):
    code = "illegal_transition"


def ensure_transition(
    allowed: Mapping[str, frozenset[str]],
    current: str,
    to: str,
    *,
    what: str,
    code: str | None = None,
) -> None:
    if to not in allowed.get(current, frozenset()):
        raise IllegalTransition(f"A {current} {what} cannot become {to}.", code=code)


def transition(obj: Any, to: str, allowed: Mapping[str, frozenset[str]], *, what: str) -> None:
    """Move ``obj.status`` to ``to`` if the machine allows it (not saved)."""
    ensure_transition(allowed, obj.status, to, what=what)
    obj.status = to
