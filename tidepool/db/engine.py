"""The async SQLAlchemy engine for the configured database, and what differs per engine at connect time.

SQLite runs in WAL mode with foreign keys on and a busy timeout (``DB_SQLITE_BUSY_TIMEOUT``), so readers never
block the writer and a second process (the CLI next to a running server) waits instead of failing (past the
timeout the write is answered 503, ``tidepool.db.errors.locked``); every connection also gets
Tidepool's SQL functions (``tidepool.db.sqlite_functions``), which filters compile to. Every engine keeps a
pool sized by ``DB_POOL_SIZE`` (``pool_size``). PostgreSQL and MySQL connect within ``DB_CONNECT_TIMEOUT``,
and are hooked so that a database that cannot be reached is one ``ServiceUnavailableError`` everywhere
(``tidepool.db.errors``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidepool.config import Settings
from tidepool.db import sqlite_functions
from tidepool.db.errors import OutageLog, on_engine, unavailable
from tidepool.errors import ConfigError
from tidepool.seams import translate, translated

_DRIVERS = {"sqlite3": "sqlite+aiosqlite", "pg": "postgresql+asyncpg", "mysql": "mysql+asyncmy"}
_DEFAULT_PORTS = {"pg": 5432, "mysql": 3306}

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> URL:
    client = settings.db_client
    conn_string = settings.DB_CONNECTION_STRING
    if conn_string:
        url = make_url(conn_string)
        backend = url.get_backend_name()
        return url.set(drivername=_DRIVERS["pg" if backend.startswith("postgres") else backend.replace("3", "")])
    if client == "sqlite3":
        return URL.create(_DRIVERS[client], database=str(Path(settings.DB_FILENAME)))
    if client not in _DRIVERS:
        raise ConfigError("DB_CLIENT", f"unsupported client {client!r}")
    return URL.create(
        _DRIVERS[client],
        username=settings.DB_USER or ("postgres" if client == "pg" else "root"),
        password=settings.DB_PASSWORD,
        host=settings.DB_HOST,
        port=settings.DB_PORT or _DEFAULT_PORTS[client],
        database=settings.DB_DATABASE,
        query={"charset": "utf8mb4"} if client == "mysql" else {},
    )


def pool_size(settings: Settings) -> int:
    """How many connections a process opens at most, and keeps once opened: twice ``DB_POOL_SIZE``.

    Every connection opened is kept (no "overflow" connections closed on their return): under a load of more
    concurrent requests than the kept part of a pool, SQLAlchemy's overflow connections were opened and closed
    again all the time, and opening one is dear (SQLite: a thread, the pragmas, the SQL functions and the
    schema parsed again; PostgreSQL: a backend process and asyncpg's set-up). With 16 clients reading, that
    churn was 40 % of a REST read's server CPU on SQLite and 30 % on PostgreSQL (bench/README.md). The peak
    stays what it was (``DB_POOL_SIZE`` kept plus as many overflow).
    """
    return 2 * settings.DB_POOL_SIZE


def create_engine(settings: Settings, outages: OutageLog | None = None) -> AsyncEngine:
    """The engine; ``outages`` is the log its outages go to (the runtime's: ``tidepool.db.errors.outages_of``
    finds it from the engine or a connection of it), else a fresh one, quiet until armed."""
    url = database_url(settings)
    outages = outages or OutageLog()
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool_size(settings), settings.DB_SQLITE_BUSY_TIMEOUT, outages)
    engine = create_async_engine(
        url,
        pool_size=pool_size(settings),
        max_overflow=0,
        pool_recycle=1800,
        pool_reset_on_return=None,  # ``_reset_quietly`` does it
        execution_options=on_engine(outages),
    )
    _map_outages(engine, settings.DB_CONNECT_TIMEOUT, outages)
    _ping_when_idle(engine)
    _reset_quietly(engine, outages)
    return engine


def _reset_quietly(engine: AsyncEngine, outages: OutageLog) -> None:
    """Roll back a returned connection as SQLAlchemy's pool would, but discard one that fails without a
    traceback in the log.

    A connection the database dropped while it sat in the pool, or while its request ran (MariaDB's
    ``KILL CONNECTION``, a restart, a network cut), fails that rollback; SQLAlchemy's own reset then logs
    "Exception during reset or similar" with the whole traceback, for an outage the client was already told
    of (a 503) and ``tidepool.db.errors`` already logs once per interval. Here the failure is the same outage
    line (``unavailable``), or one warning for any other error, and the connection is discarded (invalidated)
    just as SQLAlchemy does: the pool opens a new one on its next checkout."""

    @sa.event.listens_for(engine.sync_engine.pool, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if not state.asyncio_safe or state.transaction_was_reset:
            return
        try:
            dbapi_connection.rollback()
        except Exception as exc:
            lost = unavailable(exc)
            if lost is None:
                log.warning("a returned connection failed its rollback, discarded: %s: %s", type(exc).__name__, exc)
            outages.note(lost)
            record.invalidate(exc)


PING_AFTER_IDLE = 1.0  # seconds a pooled connection may rest and still be taken without a ping


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it rested for ``PING_AFTER_IDLE`` or longer.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one more round trip to the database for every
    request and every write, a fifth of what a WebSocket create sends PostgreSQL (bench/README.md, ``create``).
    A connection in steady use has just shown it works; one that rested may have been dropped meanwhile (a
    database restart, an idle timeout), and that one is pinged and, if dead, replaced before anyone uses it.
    A connection lost within the last second fails its statement instead: ``_map_outages`` makes that a 503
    and SQLAlchemy then replaces every connection of the pool that is older than the failure."""

    @sa.event.listens_for(engine.sync_engine, "checkin")
    def _rested(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool replaces the connection and tries again
            raise sa.exc.DisconnectionError("a pooled connection did not answer its ping") from exc


def _map_outages(engine: AsyncEngine, timeout: float, outages: OutageLog) -> None:
    """Connect failures and dropped connections become ``ServiceUnavailableError`` at the engine itself.

    A failed connect never reaches SQLAlchemy's error events (the driver raises a bare ``OSError``), so the
    connect is made here, bounded as a whole by ``DB_CONNECT_TIMEOUT`` (asyncmy's own timeout covers only
    the TCP connect, not a server that accepts and then stalls); a connection lost mid-statement is seen by
    ``handle_error``, which replaces the error after SQLAlchemy has invalidated the connection. Pre-ping
    failures are left alone: the pool handles them by reconnecting, which lands in ``_connect`` again. So is a
    cancellation (SQLAlchemy counts one mid-statement as a disconnect): replaced by an ordinary exception it
    would be swallowed, and a cancelled task (the version watcher at shutdown) would carry on. Any other
    failed statement is seen there too, and the one a client's value causes (text PostgreSQL cannot hold, in a
    filter or a written value) becomes that client's 400 (the ``database value`` seam), not a 500.
    """

    @sa.event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        driver_connect = getattr(dialect.loaded_dbapi, dialect.driver).connect  # asyncpg.connect, asyncmy.connect
        cparams["async_creator_fn"] = _bounded(driver_connect, timeout)
        try:
            with translated("database connect"):
                connection = dialect.connect(*cargs, **cparams)
        except Exception as exc:
            outages.note(exc)
            raise
        outages.recovered()
        return connection

    @sa.event.listens_for(engine.sync_engine, "handle_error")
    def _lost(context: sa.engine.ExceptionContext) -> BaseException | None:
        if context.is_pre_ping or not isinstance(context.original_exception, Exception):  # a cancellation...
            return None
        if not context.is_disconnect:  # a client's value the database cannot hold is the client's 400
            refused = translate("database value", context.original_exception, reading=_reading(context))
        else:
            refused = translate("database statement", context.original_exception)
        outages.note(refused)
        return refused


def _reading(context: sa.engine.ExceptionContext) -> bool:
    """The failed statement reads (a filter's value, an aggregate's result), as opposed to a write's."""
    run = context.execution_context
    return run is None or not (run.isinsert or run.isupdate or getattr(run, "isdelete", False))


def _bounded(connect: Callable[..., Awaitable[Any]], timeout: float) -> Callable[..., Awaitable[Any]]:
    """``connect`` within ``timeout``, safe to cancel at any moment.

    The attempt runs as a task of its own and is waited on, not awaited through ``asyncio.wait_for``: on
    Python 3.11 a cancel that lands just as the connection is made drops the connection with its open
    socket (nobody holds it any more, so nobody closes it). For the same reason an attempt whose caller was
    cancelled (a client gone mid-request, a request's task ended) is not cancelled with it: cancelled inside
    the driver's connect, asyncpg left its SSL negotiation's answer unread and asyncio logged "Future
    exception was never retrieved" with a traceback. It finishes on its own, still within ``timeout``, and
    whatever connection it yields is closed at once. Only an attempt past ``timeout`` is cancelled (the
    server accepts and never answers: nothing was made that could be dropped).
    """

    async def bounded(*args: Any, **kwargs: Any) -> Any:
        attempt = asyncio.ensure_future(connect(*args, **kwargs))
        try:
            done, _ = await asyncio.wait({attempt}, timeout=timeout)
        except asyncio.CancelledError:
            _abandon(attempt, after=timeout)
            raise
        if not done:
            _abandon(attempt)
            raise TimeoutError(f"no connection within DB_CONNECT_TIMEOUT ({timeout:g}s)")
        return attempt.result()

    return bounded


def _abandon(attempt: asyncio.Future[Any], after: float = 0.0) -> None:
    """Give ``attempt`` up: cancelled ``after`` seconds if it has not ended by then, its connection closed."""
    if after > 0:
        late = asyncio.get_running_loop().call_later(after, attempt.cancel)
        attempt.add_done_callback(lambda _: late.cancel())
    else:
        attempt.cancel()
    attempt.add_done_callback(_close_if_connected)


def _close_if_connected(attempt: asyncio.Future[Any]) -> None:
    """Close a driver connection nobody will use (asyncpg's ``terminate``, asyncmy's ``close``: both sync)."""
    if attempt.cancelled() or attempt.exception() is not None:
        return
    connection = attempt.result()
    getattr(connection, "terminate", connection.close)()


def _sqlite_engine(url: URL, size: int, busy_timeout: float, outages: OutageLog) -> AsyncEngine:
    on_file = bool(url.database) and url.database != ":memory:"
    if on_file:
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Any] = {"pool_size": size, "max_overflow": 0} if on_file else {}  # memory: one connection
    engine = create_async_engine(
        url,
        connect_args={"timeout": busy_timeout},
        json_deserializer=_stored_json,
        pool_reset_on_return=None,  # ``_reset`` below does it
        execution_options=on_engine(outages),
        **pool,
    )

    @sa.event.listens_for(engine.sync_engine.pool, "reset")
    def _reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        """Roll back a returned connection only when it is in a transaction: outside one, SQLite's rollback
        does nothing, yet asking aiosqlite's thread to do it cost a thread hop on every read."""
        if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @sa.event.listens_for(engine.sync_engine, "handle_error")
    def _overflow(context: sa.engine.ExceptionContext) -> BaseException | None:
        """A read whose sum() passes 64 bits (SQLite's "integer overflow") is the query's 400; SQLite's other
        errors keep their own handling (a write's lock wait is ``group_commit``'s, on the driver's thread)."""
        if not _reading(context) or not isinstance(context.original_exception, Exception):
            return None
        return translate("database computed", context.original_exception)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        busy = f"busy_timeout={int(busy_timeout * 1000)}"  # how long a write waits for another's lock
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", busy, "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        sqlite_functions.install(dbapi_connection)

    return engine


def _stored_json(text: str) -> Any:
    """SQLite keeps any text in a JSON column: a value that is not JSON (written by SQL by hand or another
    tool) is read back as its text, so one such row never fails a whole read (PostgreSQL and MySQL refuse
    to store it at all)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def dialect_name(engine: AsyncEngine) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB reports ``mysql`` too)."""
    return engine.dialect.name
