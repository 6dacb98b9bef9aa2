"""The API's JSON parser: DRF's, with a nesting limit (issue 12, finding 4)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from core import safejson


class JSONParser(parsers.JSONParser):
    """A body nested deeper than ``safejson.MAX_DEPTH`` is a 400 ``parse_error``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = stream.read().decode(encoding)
            parse_constant = drf_json.strict_constant if self.strict else None
            return safejson.loads(text, parse_constant=parse_constant)
        except ValueError as exc:  # UnicodeDecodeError and TooDeep included
            raise ParseError(f"JSON parse error - {exc}") from None
