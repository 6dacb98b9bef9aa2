"""Route regexes made concrete for tests that walk every URL."""

from __future__ import annotations

from collections.abc import Callable


def fill_groups(pattern: str, fill: Callable[[str], str]) -> str:
    """Each named group ``(?P<name>…)`` of a route's regex replaced by
    ``fill(name)``, nested groups (a look-ahead inside one) included."""
    while (start := pattern.find("(?P<")) != -1:
        name = pattern[start + 4 : pattern.index(">", start)]
        depth, end = 0, start
        for end in range(start, len(pattern)):
            escaped = pattern[end - 1] == "\\"
            if pattern[end] == "(" and not escaped:
                depth += 1
            elif pattern[end] == ")" and not escaped:
                depth -= 1
                if depth == 0:
                    break
        pattern = pattern[:start] + fill(name) + pattern[end + 1 :]
    return pattern
