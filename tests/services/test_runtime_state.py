"""Two runtimes in one process share no state: each server holds its own access cache, write gate, plan cache
and schema-change lock (``Runtime``), and SQLite gets Tidepool's SQL functions from ``create_engine``.

Before, these lived in modules: dropping the access caches of one runtime dropped every runtime's, every
SQLAlchemy engine got ``tidepool_lower`` when ``query/operators.py`` was imported (tests imported it for that
alone), and tests switched batching for every server at once. Here two live servers run in this process,
each on its own scratch database (SQLite by default, ``TIDEPOOL_TEST_DB=pg|mysql`` for the others).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

import tidepool.query.operators  # noqa: F401  (imported on purpose: the import must register nothing)
from tests.services import items_server
from tests.support.live import LiveServer, base_env
from tidepool.config import load_settings
from tidepool.db.engine import create_engine
from tidepool.services.base import WriteGate


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    with items_server(tmp_path_factory.mktemp("a")) as a, items_server(tmp_path_factory.mktemp("b")) as b:
        yield a, b


class TableReads:
    """Counts the statements a server's engine runs on one table (from any thread)."""

    def __init__(self, server: LiveServer, table: str) -> None:
        self.engine = server.runtime.engine.sync_engine
        self.table = table
        self.count = 0
        self.lock = threading.Lock()

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.table in statement:
            with self.lock:
                self.count += 1

    def __enter__(self) -> TableReads:
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)


def _read(server: LiveServer) -> None:
    with server.client() as admin:
        response = admin.get("/items/articles")
        assert response.status_code == 200, response.text


def test_an_access_invalidation_on_one_runtime_leaves_the_others_cache(pair: tuple[LiveServer, LiveServer]) -> None:
    """Authenticating reads the access snapshot (``directus_policies``); after dropping A's caches, A reads
    it again on its next request and B, whose caches were not dropped, does not."""
    a, b = pair
    _read(a)
    _read(b)
    generation_b = b.runtime.access_cache.generation
    with TableReads(a, "directus_policies") as on_a, TableReads(b, "directus_policies") as on_b:
        a.runtime.access_cache.invalidate()
        _read(b)
        _read(a)
    assert on_a.count >= 1  # A's snapshot was dropped: reloaded
    assert on_b.count == 0  # B's was not
    assert b.runtime.access_cache.generation == generation_b


def test_each_runtime_has_its_own_write_gate(pair: tuple[LiveServer, LiveServer]) -> None:
    """While A's gate is held, a write on B goes through; a write on A waits for the gate on SQLite (one
    writer at a time) and does not wait on the engines that lock rows."""
    a, b = pair
    gate = a.runtime.write_gate
    assert gate is not b.runtime.write_gate
    a.run(gate.__aenter__())
    try:
        blocked = _writing(a)
        _write(b)  # not held up by A's gate
        blocked.join(timeout=1.0)
        assert blocked.is_alive() == (a.runtime.engine.dialect.name == "sqlite")
    finally:
        a.run(gate.__aexit__(None, None, None))
    blocked.join(timeout=10)
    assert not blocked.is_alive()
    assert blocked.status == 200


class _Writing(threading.Thread):
    def __init__(self, server: LiveServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.status = 0

    def run(self) -> None:
        with self.server.client() as admin:
            self.status = admin.post("/items/articles", json={"title": "gated"}).status_code


def _writing(server: LiveServer) -> _Writing:
    thread = _Writing(server)
    thread.start()
    return thread


def _write(server: LiveServer) -> None:
    with server.client() as admin:
        response = admin.post("/items/articles", json={"title": "free"}, timeout=5.0)
        assert response.status_code == 200, response.text


def test_plans_are_kept_by_the_runtime_that_made_them(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    a.runtime.plans.clear()
    b.runtime.plans.clear()
    _read(a)
    assert a.runtime.plans.size() >= 1
    assert b.runtime.plans.size() == 0


def test_schema_changes_and_dispatchers_are_per_runtime(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    assert a.runtime.schemas.changing is not b.runtime.schemas.changing
    dispatcher_a, dispatcher_b = a.app.state.realtime.dispatcher, b.app.state.realtime.dispatcher
    assert dispatcher_a.plain_forms is not dispatcher_b.plain_forms
    assert dispatcher_a.batching and dispatcher_b.batching  # the default: on


# ------------------------------------------------------------------------------ SQLite's functions


async def _lower(engine: Any) -> Any:
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text("SELECT tidepool_lower('ÄÖ İ')"))).scalar()
    finally:
        await engine.dispose()


def test_sqlite_functions_come_with_create_engine_not_with_an_import(tmp_path: Path) -> None:
    """``create_engine``'s SQLite connections fold with ``tidepool_lower`` (``İ`` kept, as PostgreSQL and
    MySQL do); an engine made by SQLAlchemy alone has no such function, although ``query/operators.py`` is
    imported in this process."""
    settings = load_settings(
        {**base_env(), "DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "f.db")}, env_file=None
    )
    assert asyncio.run(_lower(create_engine(settings))) == "äö İ"
    plain = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}")
    with pytest.raises(sa.exc.OperationalError, match="no such function: tidepool_lower"):
        asyncio.run(_lower(plain))


def test_a_gate_only_queues_writers_on_sqlite(tmp_path: Path) -> None:
    sqlite = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    postgres = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1/none")

    async def check() -> tuple[bool, bool]:
        gates = WriteGate(sqlite), WriteGate(postgres)
        for gate in gates:
            await gate.__aenter__()
        held = tuple(gate.locked() for gate in gates)
        for gate in gates:
            await gate.__aexit__(None, None, None)
        await sqlite.dispose()
        await postgres.dispose()
        return held[0], held[1]

    assert asyncio.run(check()) == (True, False)
