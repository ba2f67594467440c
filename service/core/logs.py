"""Log setup: text or one JSON object per line (LOG_FORMAT), each record carrying the edition and delivery ids."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

from service.core.config import Settings

edition_id: ContextVar[int | None] = ContextVar("edition_id", default=None)
delivery_id: ContextVar[int | None] = ContextVar("delivery_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s %(edition_id)s %(delivery_id)s"


class ContextFilter(logging.Filter):
    """Copies the ids of the work in hand onto every record, so a line can be traced to its edition and reader."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record; only annotates it."""
        record.edition_id = edition_id.get()
        record.delivery_id = delivery_id.get()
        return True


@contextmanager
def log_context(*, edition: int | None = None, delivery: int | None = None) -> Iterator[None]:
    """Within the block, every log line names this edition and delivery (None: none); both are restored after."""
    tokens = [(edition_id, edition_id.set(edition)), (delivery_id, delivery_id.set(delivery))]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def formatter(settings: Settings) -> logging.Formatter:
    """The formatter LOG_FORMAT asks for."""
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "processName": "process"},
        )
    return logging.Formatter(TEXT_FORMAT)


def apply_format(logger: logging.Logger, settings: Settings) -> None:
    """Give a logger's existing handlers (Celery's) our format when JSON is asked for, and the ids filter."""
    for handler in logger.handlers:
        if settings.log_format == "json":
            handler.setFormatter(formatter(settings))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


def configure_logging(
    settings: Settings,
    *,
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    logger: logging.Logger | None = None,
) -> logging.Handler:
    """Install (once, replacing an earlier one) our handler on the root logger, or on `logger`."""
    target = logger or logging.getLogger()
    for old in [h for h in target.handlers if getattr(h, "_newsletter", False)]:
        target.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._newsletter = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(settings))
    handler.addFilter(ContextFilter())
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    return handler
