"""A database outage (issue 7 #18), made by cutting a TCP proxy between the server and a scratch database
on a real server — PostgreSQL, or MariaDB under ``TIDEPOOL_TEST_DB=mysql`` — while that server keeps running
for everyone else (SQLite has no server to lose, so the SQLite run uses PostgreSQL).

While the database is away: REST reads and writes answer 503 ``SERVICE_UNAVAILABLE``; ``/server/health``
answers 503 naming the failed check; a new socket is told ``SERVICE_UNAVAILABLE`` (not ``AUTH_FAILED``); the
log gets one line per kind of failure, without a traceback, however many requests fail. When the database
is back, everything works again without a restart, and the log says so once."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets.exceptions

from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.proxy import TcpProxy, tcp_proxy
from tidepool.config import load_settings
from tidepool.db.engine import create_engine
from tidepool.runtime import open_runtime
from tidepool.services.versions import VersionWatcher

OUTAGE_LOGGER = "tidepool.db"
ENGINE = live.test_db_client() if live.test_db_client() != "sqlite3" else "pg"
CHECK = {"pg": "pg:responseTime", "mysql": "mysql:responseTime"}[ENGINE]


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[LiveServer, TcpProxy]]:
    with scratch_database(tmp_path, ENGINE) as db_env, tcp_proxy("127.0.0.1", int(db_env["DB_PORT"])) as proxy:
        with live_server({**db_env, "DB_PORT": str(proxy.port)}) as server:
            yield server, proxy


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["errors"][0]
    assert error == {
        "message": 'Service "database" is unavailable. Could not connect to the database.',
        "extensions": {
            "service": "database",
            "reason": "Could not connect to the database",
            "code": "SERVICE_UNAVAILABLE",
        },
    }


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The "database unavailable" lines (not a "reachable again" from the server's own start)."""
    return [
        r
        for r in caplog.records
        if r.name == OUTAGE_LOGGER
        and r.levelno >= logging.WARNING
        and r.getMessage().startswith("database unavailable")
    ]


def _kinds(lines: list[logging.LogRecord]) -> list[str]:
    """The failure kind each line names: ``database unavailable: <kind>: <detail>``."""
    return [r.getMessage().split(": ")[1] for r in lines]


def _new_socket_auth(server: LiveServer, **credentials: str) -> dict[str, Any]:
    with WS(server.ws_url) as ws:
        frame: dict[str, Any] = ws.request({"type": "auth", **credentials})
        return frame


def _wait_for(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def _create_notes(admin: httpx.Client, *texts: str) -> None:
    """The ``notes`` collection (one ``text`` field), with a row per text."""
    fields = [{"field": "text", "type": "string"}]
    assert (
        admin.post("/collections", json={"collection": "notes", "schema": {}, "meta": {}, "fields": fields}).status_code
        == 200
    )
    for text in texts:
        assert admin.post("/items/notes", json={"text": text}).status_code == 200


def test_outage_answers_503_tells_sockets_logs_once_and_recovers(
    proxied: tuple[LiveServer, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    server, proxy = proxied
    caplog.set_level(logging.INFO)
    with server.client() as admin:
        _create_notes(admin, "before")
        with WS(server.ws_url) as open_socket:
            assert open_socket.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"

            proxy.cut()
            for _ in range(3):
                _unavailable(admin.post("/items/notes", json={"text": "during"}))
                _unavailable(admin.get("/items/notes"))
            health = admin.get("/server/health")
            assert health.status_code == 503
            assert health.headers["content-type"].startswith("application/health+json")
            body = health.json()
            assert body["status"] == "error"
            check = body["checks"][CHECK][0]
            assert (check["status"], check["componentType"], check["output"]) == (
                "error",
                "datastore",
                "Can't connect to the database.",
            )
            frame = _new_socket_auth(server, email="admin@example.com", password="admin-pass")
            assert (frame["status"], frame["error"]["code"]) == ("error", "SERVICE_UNAVAILABLE"), frame
            # A token may still be recognised from the access snapshot for a few seconds; once that ends,
            # the socket is told the database is unavailable, not that its token is bad.
            _wait_for(lambda: _new_socket_auth(server, access_token=ADMIN_TOKEN)["status"] != "ok")
            frame = _new_socket_auth(server, access_token=ADMIN_TOKEN)
            assert frame["type"] == "auth" and frame["status"] == "error"
            assert frame["error"]["code"] == "SERVICE_UNAVAILABLE", frame
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}")
            assert refused.value.response.status_code == 503
            reply = open_socket.request({"type": "items", "collection": "notes", "action": "read", "uid": "r"})
            assert (reply["status"], reply["error"]["code"]) == ("error", "SERVICE_UNAVAILABLE")

            lines = _outage_lines(caplog)
            assert lines, "the outage is logged"
            kinds = _kinds(lines)  # which kinds a cut shows (refused, reset, dropped) depends on timing
            assert len(set(kinds)) == len(kinds), [r.getMessage() for r in lines]
            for _ in range(5):
                _unavailable(admin.post("/items/notes", json={"text": "during"}))
            later = _kinds(_outage_lines(caplog))
            assert len(set(later)) == len(later), "rate-limited: no kind logged again within the interval"
            assert not [r for r in caplog.records if r.exc_info], "no traceback"

            proxy.restore()
            _wait_for(lambda: admin.get("/server/health").status_code == 200)
            assert admin.post("/items/notes", json={"text": "after"}).status_code == 200
            assert [n["text"] for n in admin.get("/items/notes").json()["data"]] == ["before", "after"]
            with WS(server.ws_url) as fresh:
                assert fresh.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
            assert any("reachable again" in r.getMessage() for r in caplog.records if r.name == OUTAGE_LOGGER)


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[tuple[LiveServer, TcpProxy]]:
    with scratch_database(tmp_path, ENGINE) as db_env, tcp_proxy("127.0.0.1", int(db_env["DB_PORT"])) as proxy:
        with live_server({**db_env, "DB_PORT": str(proxy.port), "DB_CONNECT_TIMEOUT": "0.5"}) as server:
            yield server, proxy


def test_a_database_that_stops_answering_is_503_not_a_hang(impatient: tuple[LiveServer, TcpProxy]) -> None:
    """Connections accepted but never answered end at ``DB_CONNECT_TIMEOUT`` (asyncpg alone waits 60 s;
    the client here gives up after 10 s, so a pass means the bound held)."""
    server, proxy = impatient
    with server.client() as admin:
        admin.timeout = httpx.Timeout(10)
        _create_notes(admin)
        proxy.stall()
        _unavailable(admin.post("/items/notes", json={"text": "during"}))
        assert admin.get("/server/health").status_code == 503
        proxy.restore()
        _wait_for(lambda: admin.get("/server/health").status_code == 200)
        assert admin.post("/items/notes", json={"text": "after"}).status_code == 200


# A statement long enough to be cancelled in the middle, per engine. (SQLite's run in aiosqlite's thread: a
# cancel waits for the statement there, and no disconnect is involved.)
SLOW_STATEMENT = {"postgresql": "SELECT pg_sleep(5)", "mysql": "SELECT SLEEP(5)"}


def test_a_cancelled_statement_stays_a_cancellation_not_an_outage(tmp_path: Path) -> None:
    """SQLAlchemy counts a cancellation mid-statement as a disconnect (it drops the connection); the outage
    mapping must let it through as ``CancelledError``. Turned into a 503 ``ServiceUnavailableError``, it was
    swallowed: the version watcher, cancelled at shutdown while polling, kept polling and the server never
    stopped."""
    if live.test_db_client() == "sqlite3":
        pytest.skip("needs TIDEPOOL_TEST_DB=pg or mysql")

    async def run(env: dict[str, str]) -> None:
        engine = create_engine(load_settings({**live.base_env(), **env}, env_file=None))
        try:
            async with engine.connect() as conn:  # the pool holds a connection: the cancel hits the statement
                await conn.execute(sa.text("SELECT 1"))

            async def slow() -> None:
                async with engine.connect() as conn:
                    await conn.execute(sa.text(SLOW_STATEMENT[engine.dialect.name]))

            task = asyncio.create_task(slow())
            await asyncio.sleep(0.3)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, "the cancelled statement did not end"
            assert task.cancelled(), task.exception()
        finally:
            await engine.dispose()

    with scratch_database(tmp_path) as env:
        asyncio.run(run(env))


def test_connections_cancelled_while_they_are_made_leave_nothing_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Requests cancelled at any moment (a client gone, a socket's message handler stopped) while the pool opens
    connections for them. The connect was cancelled with its caller: inside asyncpg's SSL negotiation that left
    a future's error unread, and asyncio logged "Future exception was never retrieved" with a traceback (about
    500 lines in 150 rounds here, PostgreSQL). Now the connect finishes on its own and its connection is closed
    (``db/engine._bounded``); nothing reaches the log."""
    caplog.set_level(logging.INFO)
    pauses = random.Random(5)

    async def run(env: dict[str, str]) -> None:
        engine = create_engine(load_settings({**live.base_env(), **env}, env_file=None))

        async def reading() -> None:
            while True:
                async with engine.connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))

        try:
            for _ in range(150):
                tasks = [asyncio.create_task(reading()) for _ in range(3)]
                await asyncio.sleep(pauses.random() * 0.005)
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks)
            await asyncio.sleep(0.5)  # the connects left to finish end (local: milliseconds)
        finally:
            await engine.dispose()

    with scratch_database(tmp_path, ENGINE) as env:
        asyncio.run(run(env))
    gc.collect()  # a future's unread error is logged when it is collected
    assert [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_version_watcher_stops_whenever_it_is_cancelled(tmp_path: Path) -> None:
    """The server's shutdown cancels the version watcher and waits for it. Cancelled at 200 moments spread
    over its rounds (a check polls the database continuously here), it must end every time: a cancel lost
    inside a check (see above; also Python 3.11's ``wait_for``) once left it polling and the shutdown hung."""
    delays = random.Random(7)

    async def run(env: dict[str, str]) -> None:
        async with open_runtime(load_settings({**live.base_env(), **env}, env_file=None)) as runtime:
            for attempt in range(200):
                task = asyncio.create_task(
                    VersionWatcher(runtime.engine, runtime.schemas, runtime.access_cache, 0.0).run()
                )
                await asyncio.sleep(delays.random() * 0.01)
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=3)
                assert done and task.cancelled(), f"cancel {attempt}: {task!r}"

    with scratch_database(tmp_path) as env:
        asyncio.run(run(env))


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.mark.skipif(ENGINE != "mysql", reason="needs TIDEPOOL_TEST_DB=mysql")
def test_a_connection_dropped_before_its_rollback_is_discarded_without_a_traceback(
    proxied: tuple[LiveServer, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    """A pooled connection is rolled back when it is returned; one the database dropped mid-request, after the
    request's statements and before that rollback (here: the link cut at the ROLLBACK itself), and one dropped
    while it sat idle in the pool, fail it. SQLAlchemy's own reset logged each as "Exception during reset or
    similar" with a whole traceback (seen on MariaDB under ``KILL CONNECTION``): an outage the client was already
    answered for. Now it is the usual outage line, the connection is discarded, and the next request works.
    (PostgreSQL's requests return their connections with no ROLLBACK to cut: reads outside a transaction,
    writes committed.)"""
    server, proxy = proxied
    caplog.set_level(logging.INFO)
    with server.client() as admin:
        _create_notes(admin, "before")
        statuses, cuts = [], 0
        for round_ in range(6):
            proxy.cut_on(b"ROLLBACK")
            if round_ % 3 == 0:
                reply = admin.post("/items/notes", json={"text": f"new {round_}"})
            elif round_ % 3 == 1:
                reply = admin.patch("/items/notes/1", json={"text": f"edit {round_}"})
            else:
                reply = admin.get("/items/notes")
            statuses.append(reply.status_code)
            cuts += proxy.marker_cut.is_set()
            proxy.restore()  # also cuts the connections idle in the pool
            time.sleep(1.2 if round_ % 2 else 0.1)  # past PING_AFTER_IDLE or not: both kinds of next checkout
        assert cuts, "no ROLLBACK was cut: the test proves nothing"
        assert set(statuses) <= {200, 204, 503}, statuses  # 204: a write committed, its reply not read
        _wait_for(lambda: admin.get("/items/notes").status_code == 200)
        assert admin.patch("/items/notes/1", json={"text": "after"}).status_code == 200
    assert _tracebacks(caplog) == []


def test_each_server_logs_its_own_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The outage log (one line per kind per interval, quiet until the server has started) is each runtime's
    own: two servers in one process whose databases both go away each log theirs. With one log for the whole
    process (``db/errors.OUTAGES``, a module global) the second server's outage went unlogged for a minute, and
    a server that had started armed the log of every other runtime in the process (the CLI's included)."""
    caplog.set_level(logging.INFO)
    with (
        scratch_database(tmp_path, ENGINE) as env_a,
        scratch_database(tmp_path, ENGINE) as env_b,
        tcp_proxy("127.0.0.1", int(env_a["DB_PORT"])) as proxy_a,
        tcp_proxy("127.0.0.1", int(env_b["DB_PORT"])) as proxy_b,
        live_server({**env_a, "DB_PORT": str(proxy_a.port)}) as server_a,
        live_server({**env_b, "DB_PORT": str(proxy_b.port)}) as server_b,
    ):
        proxy_a.cut()
        proxy_b.cut()
        for server in (server_a, server_b):
            with server.client() as admin:
                _unavailable(admin.get("/users"))
        servers = {server_a.thread.name, server_b.thread.name}  # each server logs from a thread of its own

        def refused_by() -> set[str]:  # a request's reconnect, or the server's own polls (every 0.25 s)
            return {str(r.threadName) for r in _outage_lines(caplog) if "Connection refused" in r.getMessage()}

        _wait_for(lambda: refused_by() == servers, timeout=10)
        proxy_a.restore()
        proxy_b.restore()
