"""Database errors a client may cause, mapped to Directus's constraint errors naming field and collection:
the database rows of ``tidepool.seams``, the one table of foreign errors.

Each engine reports a broken constraint differently: SQLite in the message text (``UNIQUE constraint
failed: table.column``), PostgreSQL in SQLSTATE codes with structured fields (asyncpg's ``column_name``,
``detail``), MySQL/MariaDB in numeric error codes with the column in quotes. One small parser per
(engine, kind) turns them into the same ``DatabaseConstraintError``; anything unrecognised stays a 500.

Where the engine does not say which field failed (SQLite foreign keys, PostgreSQL length and range errors),
the caller passes ``candidates``: the fields the failed statement wrote that could have caused it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tidepool.db.schema import CollectionInfo
from tidepool.errors import (
    DatabaseConstraintError,
    InvalidForeignKeyError,
    InvalidPayloadError,
    InvalidQueryError,
    NotNullViolationError,
    RecordNotUniqueError,
    ServiceUnavailableError,
    TidepoolError,
    ValueOutOfRangeError,
    ValueTooLongError,
)


@dataclass(frozen=True)
class Candidates:
    """Fields the failed statement wrote, by what they could have broken."""

    foreign_keys: Sequence[str] = ()
    strings: Sequence[str] = ()
    numbers: Sequence[str] = ()


Parser = Callable[[BaseException, str, CollectionInfo, Candidates], DatabaseConstraintError | None]

_PARENS = re.compile(r"\(([^)]+)\)")
_QUOTED = re.compile(r"'([^']*)'")
_TICKED = re.compile(r"`([^`]+)`")


def constraint_error(
    exc: sa.exc.DBAPIError,
    collection: CollectionInfo,
    dialect: str,
    candidates: Candidates | Callable[[], Candidates] = Candidates(),
    values: Mapping[str, Any] | None = None,
) -> DatabaseConstraintError | None:
    """The Directus error for ``exc`` on ``dialect`` (SQLAlchemy's name), or None when not recognised.

    ``candidates`` may be given as a function, called only here, so that a write that succeeds (nearly all of
    them) never works them out. ``values`` are what the statement wrote: a unique violation names the value,
    as Directus's does (``Value "A" for field "code" in collection "x" has to be unique.``)."""
    parser = _PARSERS.get(dialect)
    if parser is None or exc.orig is None:
        return None
    found = candidates() if callable(candidates) else candidates
    error = parser(exc.orig, str(exc.orig), collection, found)
    field = error.extensions.get("field") if error is not None else None
    if isinstance(error, RecordNotUniqueError) and values and isinstance(field, str) and field in values:
        return RecordNotUniqueError(collection.name, field, value=values[field])
    return error


def _first(names: Sequence[str]) -> str | None:
    return names[0] if names else None


# --- SQLite: "<KIND> constraint failed: table.column" -------------------------------------------------

_SQLITE: tuple[tuple[str, type[DatabaseConstraintError]], ...] = (
    ("UNIQUE constraint failed", RecordNotUniqueError),
    ("NOT NULL constraint failed", NotNullViolationError),
)


def _sqlite(orig: BaseException, text: str, info: CollectionInfo, cand: Candidates) -> DatabaseConstraintError | None:
    for prefix, error in _SQLITE:
        if text.startswith(prefix):
            column = text.rsplit(" ", 1)[-1].rsplit(".", 1)[-1]
            return error(info.name, column)
    if text.startswith("FOREIGN KEY constraint failed"):
        return InvalidForeignKeyError(info.name, _first(cand.foreign_keys))
    return None


# --- PostgreSQL: SQLSTATE codes; asyncpg's exception (the cause) carries column/detail -----------------


def _pg_detail_field(orig: BaseException) -> str | None:
    detail = getattr(orig.__cause__, "detail", None) or ""
    match = _PARENS.search(detail)
    return match.group(1) if match else None


def _pg_column(orig: BaseException) -> str | None:
    column: str | None = getattr(orig.__cause__, "column_name", None)
    return column


_PG: dict[str, Callable[[BaseException, CollectionInfo, Candidates], DatabaseConstraintError]] = {
    "23505": lambda o, i, c: RecordNotUniqueError(i.name, _pg_detail_field(o)),
    "23502": lambda o, i, c: NotNullViolationError(i.name, _pg_column(o)),
    "23503": lambda o, i, c: InvalidForeignKeyError(i.name, _pg_detail_field(o)),
    "22001": lambda o, i, c: ValueTooLongError(i.name, _first(c.strings)),
    "22003": lambda o, i, c: ValueOutOfRangeError(i.name, _first(c.numbers)),
}


def _postgres(orig: BaseException, text: str, info: CollectionInfo, cand: Candidates) -> DatabaseConstraintError | None:
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if code == "22000" and "out of int" in text:  # asyncpg's own range check, before the server sees it
        return ValueOutOfRangeError(info.name, _first(cand.numbers))
    handler = _PG.get(str(code))
    return handler(orig, info, cand) if handler else None


# character_not_in_repertoire, untranslatable_character: text PostgreSQL cannot hold, which from a Python
# string (always valid Unicode) means a NUL character (U+0000), storable on SQLite and MySQL but in no
# PostgreSQL text type.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
UNSTORABLE_TEXT_REASON = "Text cannot contain the character U+0000 (NUL) in this database"


def unstorable_text(exc: BaseException, reading: bool) -> TidepoolError | None:
    """The client's error for a text value the database cannot take (see ``_UNSTORABLE_TEXT``): in a read's
    filter or search, ``INVALID_QUERY``; in a write, ``INVALID_PAYLOAD``. None for any other error. A value
    the client sent is its mistake, a 400 on every path, not the 500 of an unrecognised database error."""
    for link in _chain(exc):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if code in _UNSTORABLE_TEXT:
            return InvalidQueryError(UNSTORABLE_TEXT_REASON) if reading else InvalidPayloadError(UNSTORABLE_TEXT_REASON)
    return None


def stale_plan(exc: BaseException) -> ServiceUnavailableError | None:
    """asyncpg's ``InvalidCachedStatementError``: a statement a connection kept prepared no longer fits its
    table, because another server changed the schema and this one has not seen it yet (``CACHE_SYNC_INTERVAL``).
    Inside a write's transaction asyncpg cannot prepare it again and retry; the connections' kept statements
    are dropped (``pg_writes``, and SQLAlchemy's adapter on its own path), so the client may simply try again:
    a 503 that says so, not a 500."""
    stale = _loaded("asyncpg.exceptions", ("InvalidCachedStatementError",))
    if stale and any(isinstance(link, stale) for link in _chain(exc)):
        return ServiceUnavailableError("database", _SCHEMA_MOVED, f"{type(exc).__name__}: {exc}")
    return None


OVERFLOW_REASON = "A numeric value the query computes is out of range"
_SQLITE_OVERFLOW = "integer overflow"  # sqlite3's words for sum() past 64 bits
_PG_OVERFLOW = "22003"  # numeric_value_out_of_range: sum()/avg() of doubles past their range
_MYSQL_OVERFLOW = 1690  # ER_DATA_OUT_OF_RANGE: "BIGINT value is out of range in ..."


def computed_overflow(exc: BaseException) -> TidepoolError | None:
    """A read whose own arithmetic overflows its type (an aggregate's sum of stored values, all of them in
    range): ``INVALID_QUERY``, a 400 that says why, instead of an unrecognised database error's 500. None
    for any other error. A write's overflow is a written value's (``constraint_error``)."""
    for link in _chain(exc):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        sqlite_overflow = isinstance(link, sqlite3.Error) and str(link) == _SQLITE_OVERFLOW
        mysql_overflow = bool(getattr(link, "args", None)) and link.args[0] == _MYSQL_OVERFLOW
        if code == _PG_OVERFLOW or sqlite_overflow or mysql_overflow:
            return InvalidQueryError(OVERFLOW_REASON)
    return None


def statement_error(exc: BaseException, reading: bool) -> TidepoolError | None:
    """A failed statement that is not a lost connection, as the client hears it (``tidepool.seams``,
    ``database value``): a value the database cannot hold, a read's computed value past its type, or a kept
    plan the schema moved under; else None."""
    overflow = computed_overflow(exc) if reading else None
    return unstorable_text(exc, reading) or overflow or stale_plan(exc) or locked(exc)


def write_error(exc: sa.exc.DBAPIError, **context: Any) -> TidepoolError | None:
    """A refused write as the client hears it (``tidepool.seams``, ``database write``): a broken constraint
    (``constraint_error``), a text value the database cannot store, or a kept plan the schema moved under."""
    return constraint_error(exc, **context) or statement_error(exc, reading=False)


# --- MySQL / MariaDB: (errno, message) -----------------------------------------------------------------


def _mysql_quoted(text: str, index: int = 0) -> str | None:
    found = _QUOTED.findall(text)
    return found[index] if len(found) > index else None


def _mysql_unique_field(text: str, info: CollectionInfo) -> str | None:
    """MySQL names the index, not the column: map the index name back to a field of the collection."""
    key = (_mysql_quoted(text, 1) or "").rsplit(".", 1)[-1]
    if key == "PRIMARY":
        return info.primary_key
    if key in info.fields:
        return key
    for suffix in ("_unique", "_key", "_idx"):
        if key.startswith(f"{info.name}_") and key.endswith(suffix):
            name = key[len(info.name) + 1 : -len(suffix)]
            if name in info.fields:
                return name
    matching = sorted((f for f in info.fields if f in key), key=len, reverse=True)
    return matching[0] if matching else None


def _mysql_fk_field(text: str) -> str | None:
    match = re.search(r"FOREIGN KEY \(`([^`]+)`\)", text)
    return match.group(1) if match else None


_MYSQL: dict[int, Callable[[str, CollectionInfo], DatabaseConstraintError]] = {
    1062: lambda t, i: RecordNotUniqueError(i.name, _mysql_unique_field(t, i)),
    1048: lambda t, i: NotNullViolationError(i.name, _mysql_quoted(t)),
    1364: lambda t, i: NotNullViolationError(i.name, _mysql_quoted(t)),  # "Field 'x' doesn't have a default"
    1452: lambda t, i: InvalidForeignKeyError(i.name, _mysql_fk_field(t)),
    1406: lambda t, i: ValueTooLongError(i.name, _mysql_quoted(t)),
    1264: lambda t, i: ValueOutOfRangeError(i.name, _mysql_quoted(t)),
}


def _mysql(orig: BaseException, text: str, info: CollectionInfo, cand: Candidates) -> DatabaseConstraintError | None:
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) < 2 or not isinstance(args[0], int):
        return None
    handler = _MYSQL.get(args[0])
    return handler(str(args[1]), info) if handler else None


_PARSERS: dict[str, Parser] = {"sqlite": _sqlite, "postgresql": _postgres, "mysql": _mysql}


# --- outages: the database cannot be reached --------------------------------------------------------------
#
# Every driver says "the database is gone" in its own way (an OSError from the socket, asyncpg's
# ConnectionDoesNotExistError, MySQL's 2003/2006/2013, SQLAlchemy's invalidated connection). ``db/engine.py``
# hooks the engine (the "database connect" and "database statement" rows of ``tidepool.seams``) so that all
# of them become one ``ServiceUnavailableError`` (503 ``SERVICE_UNAVAILABLE``)
# wherever the engine is used — REST, WebSocket, health, realtime — and each kind is logged by the runtime's
# ``OutageLog`` once per ``OUTAGE_LOG_INTERVAL`` instead of a traceback per request.

OUTAGE_LOG_INTERVAL = 60.0
_UNREACHABLE = "Could not connect to the database"
_SCHEMA_MOVED = "The database schema changed during this request; try again"
# The drivers' own "connection gone" classes, by module. They are looked up in the modules this process has
# loaded (a driver never imported raised nothing), so a SQLite-only process never pays for importing asyncpg.
_DRIVER_DISCONNECTS = (
    ("asyncpg.exceptions", ("ConnectionDoesNotExistError", "CannotConnectNowError", "ConnectionFailureError")),
)
_MYSQL_ERRORS = ("asyncmy.errors", ("OperationalError",))  # with one of these error numbers:
_MYSQL_DISCONNECTS = frozenset({2003, 2006, 2013, 2055})

log = logging.getLogger("tidepool.db")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what it wraps (``orig``) and what caused it, without cycles."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def _is_disconnect(exc: BaseException) -> bool:
    if isinstance(exc, OSError | ServiceUnavailableError):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if any(isinstance(exc, _loaded(module, names)) for module, names in _DRIVER_DISCONNECTS):
        return True
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return bool(args) and isinstance(exc, _loaded(*_MYSQL_ERRORS)) and args[0] in _MYSQL_DISCONNECTS


def _loaded(module: str, names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    """The classes ``names`` of ``module`` if this process has imported it, else none."""
    found = sys.modules.get(module)
    return () if found is None else tuple(getattr(found, name) for name in names)


def unavailable(exc: BaseException) -> ServiceUnavailableError | None:
    """The outage ``exc`` stands for, or ``None`` when it is an ordinary error (a constraint, a bad query)."""
    for link in _chain(exc):
        if isinstance(link, ServiceUnavailableError):
            return link
    return outage(exc) if any(_is_disconnect(link) for link in _chain(exc)) else None


_COMMIT_UNKNOWN = "The connection was lost while the write was being committed; it may have been saved"


def commit_unknown(exc: BaseException) -> ServiceUnavailableError | None:
    """A COMMIT whose connection was lost (``exc`` is an outage, ``unavailable``): the database may have
    committed before the answer was lost, so the client is told the outcome is unknown (a 503 it should not
    blindly retry: read the row first), never a plain failure for a write that may stand. If it committed,
    its event is delivered from the event log like any other."""
    lost = unavailable(exc)
    return None if lost is None else ServiceUnavailableError("database", _COMMIT_UNKNOWN, lost.detail)


_LOCKED = "The database is locked by another writer; try again"
_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED: the primary result codes (an extended one's low byte)


def locked(exc: BaseException) -> ServiceUnavailableError | None:
    """SQLite's "database is locked": another process (a second server, the CLI, a ``sqlite3`` shell) held the
    write lock longer than ``DB_SQLITE_BUSY_TIMEOUT``. Nothing of the write happened (SQLite refuses the
    statement, or the COMMIT, and the transaction is rolled back), so the client hears a 503 it may retry,
    not a 500; the cause is logged as an outage is (once per interval, ``OutageLog.note``)."""
    for link in _chain(exc):
        code = getattr(link, "sqlite_errorcode", None)
        if isinstance(link, sqlite3.OperationalError) and isinstance(code, int) and code & 0xFF in _SQLITE_BUSY:
            return ServiceUnavailableError("database", _LOCKED, f"{type(link).__name__}: {link}")
    return None


def _root(exc: BaseException) -> BaseException:
    """The driver's own exception at the bottom of SQLAlchemy's wrappers (``orig``, then ``__cause__``)."""
    while (inner := getattr(exc, "orig", None) or exc.__cause__) is not None and inner is not exc:
        exc = inner
    return exc


def outage(exc: BaseException) -> ServiceUnavailableError:
    """The client's error for a database that cannot be reached (any cause); its ``detail`` names the cause
    (``OutageLog.note`` logs it, rate-limited)."""
    root = _root(exc)
    detail = f"{type(root).__name__}: {str(root).splitlines()[0]}" if str(root) else type(root).__name__
    return ServiceUnavailableError("database", _UNREACHABLE, detail)


class OutageLog:
    """One log line per kind of failure per interval, and one line when the database answers again: one per
    runtime, on its engine (``create_engine``), so two runtimes in one process (tests, the CLI beside a server)
    neither silence nor arm each other's.

    Quiet until ``arm`` (the server's start-up is done): before that a failure is the command's own one-line
    error (``tidepool start``, the CLI), and a log line would only repeat it.
    """

    def __init__(self, interval: float = OUTAGE_LOG_INTERVAL) -> None:
        self.interval = interval
        self.armed = False
        self._last: dict[str, float] = {}

    def arm(self) -> None:
        self.armed = True

    def note(self, error: BaseException | None) -> None:
        """Log ``error`` if it is the database's outage (``outage``, ``locked``): the kind is the cause's type
        (the ``detail``'s first word)."""
        if isinstance(error, ServiceUnavailableError) and error.extensions.get("reason") in _OUTAGE_REASONS:
            detail = error.detail or ""
            self.failed(detail.split(":", 1)[0], detail)

    def failed(self, kind: str, detail: str) -> None:
        if not self.armed:
            return
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            return
        self._last[kind] = now
        log.error("database unavailable: %s", detail)

    def recovered(self) -> None:
        if self._last:
            self._last.clear()
            log.warning("database reachable again")


_OUTAGE_REASONS = frozenset({_UNREACHABLE, _LOCKED})  # not a schema moved under a kept plan, nor a lost COMMIT
_ON_ENGINE = "tidepool_outages"  # the engine's execution option that holds its runtime's ``OutageLog``


def on_engine(outages: OutageLog) -> dict[str, Any]:
    """The execution options that make ``outages`` the log of the engine created with them."""
    return {_ON_ENGINE: outages}


def outages_of(engine: Any) -> OutageLog:
    """The ``OutageLog`` of ``engine`` (an ``AsyncEngine``, ``Engine`` or either's connection); an engine made
    elsewhere (a test's own) has none: a fresh, unarmed one, which logs nothing."""
    found = engine.get_execution_options().get(_ON_ENGINE)
    return found if isinstance(found, OutageLog) else OutageLog()
