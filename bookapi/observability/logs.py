"""Logging for every process (API and worker): one line per event, JSON lines in production
and readable lines in development, each carrying the request id and job id of the work at
hand (`request_id_var`, `job_id_var`), so one search finds a request from its HTTP line to
the last log line of the job it started.

Nothing secret is logged: no code here or elsewhere logs headers or bodies, and the request
line (web/middleware/request_log.py) names the caller by id only.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from settings import Config

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
CONTEXT_FIELDS = ("request_id", "job_id")


class WorkContext(logging.Filter):
    """Puts the request id and job id of the running work on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        return True


def json_line(created: float, level: str, logger: str, message: str, **fields: object) -> str:
    """One JSON log line; `fields` that are empty are left out. The one way a JSON line is
    written, by the formatter and by the request log's batched writes alike."""
    entry: dict[str, object] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(),
        "level": level,
        "logger": logger,
        "message": message,
    }
    entry.update((name, value) for name, value in fields.items() if value)
    return orjson.dumps(entry, default=str).decode()


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {name: getattr(record, name, None) for name in (*CONTEXT_FIELDS, "http")}
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json_line(
            record.created, record.levelname, record.name, record.getMessage(), **fields
        )


class ReadableLines(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None)
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def configure_logging(settings: Config) -> None:
    """Send every log record of this process to stderr in the configured format."""
    json_lines = settings.LOG_FORMAT == "json" or (
        settings.LOG_FORMAT == "" and not (settings.DEBUG or settings.TESTING)
    )
    handler = OurHandler(sys.stderr)
    handler.addFilter(WorkContext())
    handler.setFormatter(JsonLines() if json_lines else ReadableLines())
    root = logging.getLogger()
    # Replace our own handler (an app built twice in one process), keep anyone else's
    # (pytest's log capture, say).
    root.handlers = [other for other in root.handlers if not isinstance(other, OurHandler)]
    root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL)
    logging.captureWarnings(True)  # a library's warnings as log lines too, in our format
    # What no line shows, so no record pays for it (the logging HOWTO's "Optimization"):
    # the caller's file and line (a stack walk per record). Thread and process ids stay:
    # servers' own formats print them as numbers (hypercorn: `[%(process)d]`).
    logging._srcfile = None


# The loggers ASGI servers write their own lines to (start, stop, transport errors). Their
# access logs stay off: the app logs one line per request itself.
SERVER_LOGGERS = ("_granian", "hypercorn.error", "uvicorn")


def server_logging_config() -> dict[str, Any]:
    """A `logging.config.dictConfig` for a server's own loggers: no handler of their own,
    so their lines go up to the one `configure_logging` installs, in our format (JSON lines
    in production, not a second format mixed in), and are written once, not twice."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"handlers": [], "propagate": True} for name in SERVER_LOGGERS},
    }


class OurHandler(logging.StreamHandler[TextIO]):
    """The stderr handler this module installs."""


def json_stream() -> OurHandler | None:
    """Our handler, when it is the only one and writes JSON lines: then a batch of lines may
    be written to it directly (otherwise, a test's capture say, they go through logging)."""
    handlers = logging.getLogger().handlers
    if len(handlers) == 1 and isinstance(handlers[0], OurHandler):
        if isinstance(handlers[0].formatter, JsonLines):
            return handlers[0]
    return None
