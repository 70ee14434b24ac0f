"""Logging setup from ``LOG_LEVEL`` and ``LOG_STYLE`` (pretty lines or one JSON object per line)."""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

from tidepool.config import Settings
from tidepool.ratelimit import RateLimiter

_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
    "silent": logging.CRITICAL + 10,
}


# Directus's logger writes this in place of an ``access_token`` query value (``@directus/utils`` REDACTED_TEXT).
REDACTED = "--redacted--"
_TOKEN_IN_URL = re.compile(r"([?&]access_token=)[^&#\s\"']*", re.IGNORECASE)
# Every logger that may print a request URL: uvicorn's access log and its WebSocket "[accepted]" lines.
_URL_LOGGERS = ("uvicorn.access", "uvicorn.error", "tidepool")


def redact(text: str) -> str:
    """``text`` with every ``access_token=`` query value (static token, JWT) replaced by ``--redacted--``."""
    return _TOKEN_IN_URL.sub(rf"\g<1>{REDACTED}", text) if "access_token=" in text.lower() else text


class RedactTokens(logging.Filter):
    """Redacts tokens in a record's message and arguments in place; the arguments keep their shape, because
    uvicorn's access formatter unpacks them by position."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_redaction() -> None:
    """Attach ``RedactTokens`` to the loggers that print URLs (once). Called at app start-up, after uvicorn
    has configured its loggers, so it holds for ``tidepool start`` and for an app embedded elsewhere."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname.lower(),
            "time": int(record.created * 1000),
            "name": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["err"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.LOG_STYLE == "json":
        handler.setFormatter(JSONFormatter())
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    root = logging.getLogger("tidepool")
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[settings.LOG_LEVEL])
    root.propagate = False


UNEXPECTED_LOG_WINDOW = 60.0  # seconds during which one kind of unexpected error is logged at most once


class UnexpectedLog:
    """Logs an unexpected error (a bug, or a database error nothing maps) once per kind per window.

    The kind is the exception's type and the place it was raised (innermost frame), so one broken query
    repeated on every request gives one traceback a minute, not one per request, while two different faults
    are both seen. The client is answered the same way every time (``INTERNAL_SERVER_ERROR``); only the log is
    rate-limited.
    """

    def __init__(self, window: float = UNEXPECTED_LOG_WINDOW) -> None:
        self._limiter = RateLimiter(1, window)

    def report(self, where: str, exc: BaseException) -> None:
        """Log ``exc`` (raised while serving ``where``) with its traceback, unless its kind was logged lately."""
        frame = exc.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        origin = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame is not None else "?"
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}@{origin}"
        if self._limiter.consume(kind) is not None:
            return
        logging.getLogger("tidepool").error(
            "unexpected error on %s (answered INTERNAL_SERVER_ERROR; this kind is not logged again for %.0f s)",
            where,
            self._limiter.duration,
            exc_info=exc,
        )


UNEXPECTED = UnexpectedLog()
