"""Structured logs: one JSON object a line in production, readable in a terminal.

Every line carries the request id and tenant id bound by
``core.middleware.RequestContextMiddleware`` and the tenant context, through
structlog's contextvars.
"""

import logging.config
from collections.abc import Mapping
from typing import Any

import structlog

PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def build_formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
        foreign_pre_chain=PRE_CHAIN,
    )


def configure(options: Mapping[str, Any]) -> None:
    level = str(options.get("level", "INFO"))
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {"()": build_formatter, "fmt": options.get("format", "console")}
            },
            "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["stdout"], "level": level},
            "loggers": {"django.db.backends": {"level": "INFO"}},
        }
    )
    structlog.configure(
        processors=[*PRE_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
