"""Where other libraries' errors become Tidepool's: one table, read at every seam.

A seam is a place where Tidepool calls a library whose errors a client can cause or must hear about: the
database driver (through SQLAlchemy), PyJWT, orjson reading a request body or a WebSocket frame, Redis.
``SEAMS`` says, per seam, which foreign exception becomes which ``TidepoolError``; the code at the seam only
says which seam it is (``with translated("access token"): ...``), as httpx's ``_transports/default.py`` maps
httpcore's exceptions to its own around every transport call. An exception no row matches is not translated:
it is a bug, logged by the transports and answered ``INTERNAL_SERVER_ERROR``.

Rows are tried in order and the first whose class matches wins, so a subclass comes before its base (a test
holds the table to that). A row's factory gets the exception and the seam's context (a write's collection
and values) and may answer ``None``: not one of ours after all (an unrecognised database error stays a 500).

The database rows lean on ``tidepool.db.errors``, which reads each engine's own codes (SQLSTATE, MySQL's
errno, SQLite's text) to name the broken constraint's field, and tells an outage from an ordinary error.

Not seams: parsers that read a value's syntax (a query's JSON, a filter's regular expression, a cast) word
their error for where the value was, so they catch the library's error on the line that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import jwt
import orjson
import sqlalchemy as sa
from redis.exceptions import RedisError

from tidepool.db.errors import computed_overflow, locked, outage, statement_error, unavailable, write_error
from tidepool.errors import (
    InvalidPayloadError,
    InvalidTokenError,
    ParseError,
    ServiceUnavailableError,
    TidepoolError,
    TokenExpiredError,
)

Factory = Callable[..., TidepoolError | None]  # (foreign exception, **the seam's context) -> ours, or None
Rows = tuple[tuple[type[BaseException], Factory], ...]


def _redis_down(exc: BaseException) -> TidepoolError:
    """``tidepool start`` prints it as one line (with the driver's words) and exits."""
    return ServiceUnavailableError("redis", "Could not connect to Redis", str(exc))


SEAMS: dict[str, Rows] = {
    # db/engine.py's ``do_connect`` hook: any failure to connect (an OSError, a timeout, the server refusing).
    "database connect": ((Exception, outage),),
    # db/engine.py's ``handle_error`` hook, for what SQLAlchemy calls a disconnect mid-statement.
    "database statement": ((Exception, lambda exc: unavailable(exc) or outage(exc)),),
    # db/engine.py's ``handle_error`` hook, for any other failed statement: a client's value the database
    # cannot hold (``db/errors.py``), as ``reading`` (a filter's value) or not (a written value), or a kept
    # statement the schema moved under (another server's change not seen yet); else None.
    "database value": ((Exception, statement_error),),
    # db/engine.py's ``handle_error`` hook on SQLite, for a failed read: its own arithmetic past its type.
    "database computed": ((Exception, computed_overflow),),
    # services/items.py: a write the database refused; context: collection, dialect, candidates, values.
    "database write": ((sa.exc.DBAPIError, write_error),),
    # services/group_commit.py: a SQLite write (its statements, or its group's BEGIN or COMMIT on the driver's
    # thread) that waited for another process's write lock longer than DB_SQLITE_BUSY_TIMEOUT; else None.
    "database lock": ((Exception, locked),),
    # services/authn.py: checking a JWT's signature, issuer and expiry.
    "access token": (
        (jwt.ExpiredSignatureError, lambda exc: TokenExpiredError()),
        (jwt.PyJWTError, lambda exc: InvalidTokenError()),
    ),
    # http/requests.py: a JSON request body.
    "request body": ((orjson.JSONDecodeError, lambda exc: InvalidPayloadError("Request body is not valid JSON")),),
    # realtime/protocol.py: one WebSocket frame.
    "websocket frame": ((orjson.JSONDecodeError, lambda exc: ParseError()),),
    # realtime/bus/redis.py's start-up check (later outages are the bus's own business: it reads the log).
    "redis": ((RedisError, _redis_down), (OSError, _redis_down)),
    # storage/upload.py: a storage location that cannot take an object (a disk error, S3 unreachable or
    # refusing); any driver's error, as the drivers differ (OSError, botocore's); context: the object's key.
    "storage write": ((Exception, lambda exc, key: _storage_down("files", f"Couldn't save file {key}", exc)),),
    # services/assets.py: a storage location that cannot say whether an object is there.
    "storage read": ((Exception, lambda exc: _storage_down("assets", "Couldn't reach the storage location", exc)),),
}


def _storage_down(service: str, reason: str, exc: BaseException) -> TidepoolError:
    """Directus's words; the driver's own (paths, bucket names) go to the log only."""
    return ServiceUnavailableError(service, reason, f"{type(exc).__name__}: {exc}")


def translate(seam: str, exc: BaseException, **context: Any) -> TidepoolError | None:
    """Ours for ``exc`` raised at ``seam``, or ``None`` when no row takes it."""
    return _first(SEAMS[seam], exc, context)


def _first(rows: Rows, exc: BaseException, context: dict[str, Any]) -> TidepoolError | None:
    for kind, factory in rows:
        if isinstance(exc, kind):
            return factory(exc, **context)
    return None


class translated:  # lower case: it reads as part of a statement, ``with translated("request body"):``
    """Run the block as ``seam``: a foreign exception a row takes is raised as ours (its traceback is not
    carried along: the client's error stands alone, and the driver's text may hold the statement's values).
    Anything else passes through unchanged; nothing is ever swallowed. It keeps no state of one use, so a hot
    path may build it once and reuse it."""

    __slots__ = ("rows", "context")

    def __init__(self, seam: str, **context: Any) -> None:
        self.rows = SEAMS[seam]  # an unknown seam fails at once, not only when something goes wrong
        self.context = context

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, TidepoolError):
            return
        mapped = _first(self.rows, exc, self.context)
        if mapped is not None:
            raise mapped from None
