"""JSON with a nesting limit (issue 12, finding 4).

Python's decoder recurses once per level, so a body nested 10,000 deep raises
``RecursionError``, which no ``except ValueError`` catches: a 500. ``loads``
refuses anything nested deeper than ``MAX_DEPTH`` with a ``ValueError``
(``TooDeep``) before decoding; a drop-in for ``json`` where request bodies
are read (``from core import safejson as json``).
"""

from __future__ import annotations

import json as _json
import re
from typing import Any

JSONDecodeError = _json.JSONDecodeError
dumps = _json.dumps
dump = _json.dump

# Far beyond any body Ciclo takes (its deepest is a handful of levels).
MAX_DEPTH = 64
_TOKENS = re.compile(rb'[\\"\[\]{}]')


class TooDeep(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels.")


def exceeds_depth(data: str | bytes | bytearray, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (strings skipped)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case, without a scan
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _TOKENS.finditer(raw):
        pos = match.start()
        if pos == escaped_at:
            continue
        char = raw[pos]
        if in_string:
            if char == 0x5C:  # backslash: the next character is escaped
                escaped_at = pos + 1
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif char in b"]}":
            depth -= 1
    return False


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    if exceeds_depth(data, max_depth):
        raise TooDeep(max_depth)
    try:
        return _json.loads(data, **kwargs)
    except RecursionError:  # a limit above the interpreter's: still bad input
        raise TooDeep(max_depth) from None
