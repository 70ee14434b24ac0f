"""Group commit on SQLite (``services/group_commit.py``), over real sockets and a real SQLite file.

To know which writes share one COMMIT, the test holds the runtime's write gate (as the event log's pruning
does), queues REST and WebSocket creates behind it in a chosen order, waits until the gate counts them all
waiting, and lets go: they then run one after the other in one transaction, and the last one commits them
all (``WriteGate.commits`` moves by one).

- one write in the middle of the group breaks a unique constraint: it alone fails, with Directus's error
  (``RECORD_NOT_UNIQUE``, REST and socket shapes); the others are answered with their rows, which are stored,
  and a subscriber hears each acknowledged create exactly once, in ``seq`` order, the log numbered with no gap;
- the group's COMMIT fails (a deferred foreign key, checked by SQLite only at COMMIT): every write of the
  group fails, none is stored, no event is logged or delivered, and the next write goes through;
- the writer a group was handed to gives up before its turn (its caller cancelled) with nobody else in line:
  the group still commits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import sqlalchemy as sa

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.servers import NO_HEARTBEAT
from tidepool import eventlog
from tidepool.context import Access
from tidepool.db import sqlite_thread
from tidepool.query.model import Query
from tidepool.services.group_commit import Later, WriteGate
from tidepool.services.items import ItemsService

pytestmark = pytest.mark.timeout(120)

CODES = {
    "collection": "codes",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "code", "type": "string", "schema": {"is_unique": True}},
    ],
}
# A child table whose foreign key SQLite checks at COMMIT only: made with SQL, as no Directus field makes one.
DEFERRED = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED, note VARCHAR(255))",
    "INSERT INTO parents (id) VALUES (1)",
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("group-commit")
    with scratch_database(tmp, "sqlite3") as db_env, live_server({**db_env, **NO_HEARTBEAT}) as server:
        with server.client() as admin:
            assert admin.post("/collections", json=CODES).status_code == 200
            assert admin.post("/items/codes", json={"code": "taken"}).status_code == 200
        server.run(_sql(server, DEFERRED))
        server.run(server.runtime.schemas.reload())
        yield server


async def _sql(srv: LiveServer, statements: tuple[str, ...]) -> None:
    async with srv.runtime.engine.begin() as conn:
        for statement in statements:
            await conn.execute(sa.text(statement))


def gate(srv: LiveServer) -> WriteGate:
    return srv.runtime.write_gate


async def _queued(g: WriteGate) -> int:
    return g.queued


def wait_queued(srv: LiveServer, count: int) -> None:
    """Until ``count`` writers wait at the gate (a wait for a condition, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while srv.run(_queued(gate(srv))) < count:
        assert time.monotonic() < deadline, f"{count} writers never queued"
        time.sleep(0.01)


@contextmanager
def held(srv: LiveServer) -> Iterator[None]:
    """The gate held from the server's loop, as work that needs the database to itself holds it."""
    srv.run(gate(srv).__aenter__())
    try:
        yield
    finally:
        srv.run(gate(srv).__aexit__(None, None, None))


Write = Callable[[], tuple[bool, Any]]  # (succeeded, the created row or the error's code)


def rest_create(srv: LiveServer, collection: str, data: dict[str, Any]) -> Write:
    def run() -> tuple[bool, Any]:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60) as c:
            response = c.post(f"/items/{collection}", json=data)
        if response.status_code == 200:
            return True, response.json()["data"]
        return False, (response.status_code, response.json()["errors"][0]["extensions"]["code"])

    return run


def ws_create(srv: LiveServer, collection: str, data: dict[str, Any]) -> Write:
    ws = WS(srv.ws_url)  # connected and authenticated before the writes are queued
    assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"

    def run() -> tuple[bool, Any]:
        with ws:
            message = {"type": "items", "collection": collection, "action": "create", "data": data, "uid": "w"}
            reply = ws.request(message, timeout=60)
        if reply.get("status") == "error":
            return False, ("ws", reply["error"]["code"])
        return True, reply["data"]

    return run


def queue_in_order(srv: LiveServer, pool: ThreadPoolExecutor, writes: list[Write]) -> list[Future[tuple[bool, Any]]]:
    """Start ``writes`` one by one, each only once the one before waits at the (held) gate."""
    futures = []
    for i, write in enumerate(writes):
        futures.append(pool.submit(write))
        wait_queued(srv, i + 1)
    return futures


def counters(srv: LiveServer) -> dict[str, int]:
    async def read() -> dict[str, int]:
        async with srv.runtime.engine.connect() as conn:
            return await eventlog.counters(conn)

    return srv.run(read())


def logged(srv: LiveServer, after: int) -> list[Any]:
    async def read() -> list[Any]:
        async with srv.runtime.engine.connect() as conn:
            return await eventlog.read_after(conn, after, limit=10_000)

    return srv.run(read())


def subscribe(srv: LiveServer, collection: str) -> WS:
    ws = WS(srv.ws_url)
    assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
    ws.send({"type": "subscribe", "collection": collection, "query": {"fields": ["*"]}, "uid": "s"})
    assert ws.recv_until(lambda f: f.get("event") == "init")["type"] == "subscription"
    return ws


def test_a_failing_write_fails_alone_and_the_rest_commit_together(srv: LiveServer) -> None:
    codes = [f"c{i}" for i in range(8)]
    payloads = [{"code": c} for c in codes[:4]] + [{"code": "taken"}] + [{"code": c} for c in codes[4:]]
    before = counters(srv)
    g = gate(srv)
    with subscribe(srv, "codes") as listener, ThreadPoolExecutor(len(payloads)) as pool:
        writes = [(ws_create if i % 2 else rest_create)(srv, "codes", p) for i, p in enumerate(payloads)]
        commits, committed = g.commits, g.committed_writes
        with held(srv):
            futures = queue_in_order(srv, pool, writes)
        outcomes = [f.result(timeout=60) for f in futures]
        bad = outcomes.pop(4)
        assert bad == (False, (400, "RECORD_NOT_UNIQUE")) or bad == (False, ("ws", "RECORD_NOT_UNIQUE"))
        assert all(ok for ok, _ in outcomes), outcomes
        assert sorted(row["code"] for _, row in outcomes) == codes
        assert (g.commits - commits, g.committed_writes - committed) == (1, 8)  # one COMMIT for the eight
        keys = {row["id"] for _, row in outcomes}
        heard: list[Any] = []
        seqs: list[int] = []  # one per frame: events that queue up for the socket fold, their newest seq on it
        while len(heard) < len(keys):
            frame = listener.recv_until(lambda f: f.get("event") == "create", timeout=10)
            heard += [item["id"] for item in frame["data"]]
            seqs.append(frame["seq"])
        listener.quiet(0.3)  # nothing else: no create heard twice, none for the failed write
    assert sorted(heard) == sorted(keys)
    assert seqs == sorted(set(seqs))  # in seq order, each once
    after = counters(srv)
    assert [e.seq for e in logged(srv, before["last"])] == list(range(before["last"] + 1, after["last"] + 1))
    with srv.client() as admin:
        stored = admin.get("/items/codes", params={"fields": "code", "limit": -1}).json()["data"]
    assert sorted(row["code"] for row in stored) == sorted([*codes, "taken"])


def test_a_failed_commit_fails_every_write_of_the_group(srv: LiveServer) -> None:
    payloads = [{"parent": 1, "note": f"n{i}"} for i in range(3)] + [{"parent": 999, "note": "dangling"}]
    payloads += [{"parent": 1, "note": f"n{i}"} for i in range(3, 6)]
    before = counters(srv)
    g = gate(srv)
    with subscribe(srv, "children") as listener, ThreadPoolExecutor(len(payloads)) as pool:
        writes = [(ws_create if i % 2 else rest_create)(srv, "children", p) for i, p in enumerate(payloads)]
        commits = g.commits
        with held(srv):
            futures = queue_in_order(srv, pool, writes)
        outcomes = [f.result(timeout=60) for f in futures]
        assert not any(ok for ok, _ in outcomes), outcomes
        assert g.commits == commits
        listener.quiet(0.3)  # no event for a write that did not commit
    assert counters(srv) == before  # nothing numbered
    with srv.client() as admin:
        assert admin.get("/items/children").json()["data"] == []
        after = admin.post("/items/children", json={"parent": 1, "note": "after"})
    assert after.status_code == 200 and after.json()["data"]["note"] == "after"


def test_a_group_handed_to_a_writer_who_gave_up_still_commits(srv: LiveServer) -> None:
    """The first writer of a group ends its turn and hands the gate to the one waiting behind it, whose caller
    is cancelled before it runs (a client gone): nobody else is in line, so the gate commits the open group at
    once instead of leaving the first writer waiting for some later write (and the database locked)."""

    async def scenario() -> tuple[bool, bool]:
        g = gate(srv)

        async def write(code: str) -> None:
            async with g.write() as slot:
                await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES (:code)"), {"code": code})

        await g.__aenter__()
        first = asyncio.create_task(write("handed-a"))
        while g.queued < 1:
            await asyncio.sleep(0)
        second = asyncio.create_task(write("handed-b"))
        while g.queued < 2:
            await asyncio.sleep(0)
        await g.__aexit__(None, None, None)
        while not g.locked():  # the first writer takes the gate ...
            await asyncio.sleep(0)
        while g.locked():  # ... and hands it on; the second has not run yet (it was woken after this task)
            await asyncio.sleep(0)
        second.cancel()
        await asyncio.wait({first}, timeout=20)  # a bound on a hang, not a measurement
        with contextlib.suppress(asyncio.CancelledError):
            await second
        return first.done() and first.exception() is None, second.cancelled()

    assert srv.run(scenario()) == (True, True)
    with srv.client() as admin:
        stored = admin.get("/items/codes", params={"filter[code][_starts_with]": "handed-", "fields": "code"})
    assert [row["code"] for row in stored.json()["data"]] == ["handed-a"]


def _free(srv: LiveServer) -> bool:
    """Whether another connection to the file could take the database's write lock right now (without waiting)."""
    probe = sqlite3.connect(str(srv.runtime.engine.url.database), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()  # rolls back what it began
    return True


def test_a_group_takes_the_database_lock_with_its_first_statement(srv: LiveServer) -> None:
    """A group's ``BEGIN IMMEDIATE`` goes with its first write's first statement: a first write that fails
    before running any leaves the database unlocked and nothing behind, and the next write commits; a write
    that ran nothing does not open the transaction for the writes after it, which still begin it, and a later
    write that fails after its INSERT takes back only its own."""

    class Refused(Exception):
        pass

    async def scenario() -> list[Any]:
        g = gate(srv)
        seen: list[Any] = []
        with contextlib.suppress(Refused):
            async with g.write():
                seen.append(_free(srv))  # the gate is held, the group open, its BEGIN not run yet
                raise Refused
        seen.append(_free(srv))
        async with g.write() as slot:
            await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES ('lock-a')"))
            seen.append(_free(srv))  # its INSERT went after the BEGIN IMMEDIATE
        seen.append(_free(srv))  # committed

        commits = g.commits

        async def nothing() -> None:
            async with g.write():
                pass

        async def fails() -> None:
            async with g.write() as slot:
                await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES ('lock-b')"))
                raise Refused

        async def inserts() -> None:
            async with g.write() as slot:
                await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES ('lock-c')"))

        await g.__aenter__()  # the three queue behind the held gate and run in one group, in this order
        tasks = []
        for i, work in enumerate((nothing, fails, inserts)):
            tasks.append(asyncio.create_task(work()))
            while g.queued < i + 1:
                await asyncio.sleep(0)
        await g.__aexit__(None, None, None)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        seen.append([type(outcome).__name__ for outcome in outcomes])
        seen.append(g.commits - commits)
        return seen

    assert srv.run(scenario()) == [True, True, False, True, ["NoneType", "Refused", "NoneType"], 1]
    with srv.client() as admin:
        stored = admin.get("/items/codes", params={"filter[code][_starts_with]": "lock-", "fields": "code"})
    assert sorted(row["code"] for row in stored.json()["data"]) == ["lock-a", "lock-c"]


def _file_lock_free(srv: LiveServer) -> bool:
    """Whether another process could take the writer lock between processes (``db/write_lock.py``) right now."""
    with open(f"{srv.runtime.engine.url.database}-writer.lock", "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
    return True


def test_a_group_of_creates_locks_the_database_only_to_run_them(srv: LiveServer) -> None:
    """Creates whose statements wait for the group (``group_commit.Later``) leave the database and the writer
    lock between processes free while the event loop prepares the writes after them; the group then runs
    them in one hand-off with its COMMIT: the failing one (a taken code, first in the group) fails alone with
    Directus's error, the others are stored, answered with their rows and logged in order."""

    async def scenario() -> list[Any]:
        g = gate(srv)
        service = ItemsService(srv.runtime.context(Access.full()), "codes")
        seen: list[Any] = []

        async def create(code: str) -> Any:
            return await service.create_and_read({"code": code}, Query(fields=("id", "code")))

        async def probe() -> None:
            async with g.write():
                seen.append((_free(srv), _file_lock_free(srv)))  # two creates were done before this one

        async def direct() -> None:  # a statement through SQLAlchemy: the creates waiting before it run first
            async with g.write() as slot:
                await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES ('batch-direct')"))

        commits = g.commits
        await g.__aenter__()  # the five queue behind the held gate and run in one group, in this order
        tasks = []
        for i, work in enumerate((create("taken"), create("batch-a"), probe(), direct(), create("batch-b"))):
            tasks.append(asyncio.create_task(work))
            while g.queued < i + 1:
                await asyncio.sleep(0)
        await g.__aexit__(None, None, None)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        seen.append([getattr(o, "code", None) if isinstance(o, Exception) else o for o in outcomes])
        seen.append(g.commits - commits)
        return seen

    before = counters(srv)
    probed, outcomes, commits = srv.run(scenario())
    assert probed == (True, True)  # old code: the first create's INSERT had locked both
    assert outcomes[0] == "RECORD_NOT_UNIQUE" and outcomes[2:4] == [None, None] and commits == 1
    (key_a, [row_a]), (key_b, [row_b]) = outcomes[1], outcomes[4]
    assert (row_a, row_b) == ({"id": key_a, "code": "batch-a"}, {"id": key_b, "code": "batch-b"})
    events = [(e.collection, e.keys) for e in logged(srv, before["last"])]
    assert [keys for collection, keys in events if collection == "codes"] == [(key_a,), (key_b,)]
    assert len(events) == 6  # each create's own, its activity row's and its revision's, numbered in order
    with srv.client() as admin:
        stored = admin.get("/items/codes", params={"filter[code][_starts_with]": "batch-", "fields": "id,code"})
    stored_rows = stored.json()["data"]  # in the order they ran: the waiting create before the direct INSERT
    assert [row["code"] for row in sorted(stored_rows, key=lambda row: row["id"])] == [
        "batch-a",
        "batch-direct",
        "batch-b",
    ]
    assert [row for row in stored_rows if row["code"] != "batch-direct"] == [row_a, row_b]


def _blocking_create(code: str, entered: threading.Event, release: threading.Event) -> Callable[[Any], str]:
    """A write's statements for the driver's thread that insert ``code`` and then wait there for ``release``:
    whatever the event loop does meanwhile happens while the group is on the thread."""

    def run(db: Any) -> str:
        db.execute("INSERT INTO codes (code) VALUES (?)", (code,))
        entered.set()
        release.wait(30)
        return code

    return run


async def _until_set(event: threading.Event) -> None:
    deadline = time.monotonic() + 30
    while not event.is_set():
        assert time.monotonic() < deadline, "the driver's thread never ran the write"
        await asyncio.sleep(0.001)


def _stored_codes(srv: LiveServer, prefix: str) -> list[str]:
    with srv.client() as admin:
        stored = admin.get("/items/codes", params={"filter[code][_starts_with]": prefix, "fields": "code"})
    return sorted(row["code"] for row in stored.json()["data"])


def test_a_group_whose_closing_task_is_cancelled_during_its_commit_is_reported_committed(srv: LiveServer) -> None:
    """The task that commits a group is cancelled (the loop's teardown cancels every task; so may whatever
    cancels its caller) while the group's batch and COMMIT run on the driver's thread. The thread commits
    anyway: the write must be answered as committed, its row stored, its follow-up (where its events are
    emitted) run, and the gate left ready for the next write. Before the fix the cancellation rolled back
    nothing (the COMMIT was already queued) yet failed the write ("write group failed") and skipped its
    follow-up: a committed write reported failed, its event left to the next poll of the log."""
    entered, release = threading.Event(), threading.Event()

    async def scenario() -> tuple[list[str], list[str], int]:
        g = gate(srv)
        seen: list[str] = []

        def failed(exc: Exception) -> NoReturn:
            raise exc

        async def followed() -> None:
            seen.append("after_commit")

        async def write() -> None:
            async with g.write() as slot:
                assert slot.may_wait()
                slot.later = Later(_blocking_create("cancelled-close", entered, release), seen.append, failed)
                slot.after_commit = followed

        writer = asyncio.create_task(write())
        await _until_set(entered)
        closing = list(g._closing)  # the task committing the group (the writer ended its turn alone)
        for task in closing:
            task.cancel()
        await asyncio.sleep(0.05)  # the cancellation lands while the COMMIT waits behind the batch
        release.set()
        outcome = await asyncio.wait_for(asyncio.gather(writer, return_exceptions=True), 30)
        async with g.write() as slot:  # the gate takes the next write
            await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES ('cancelled-next')"))
        return [type(o).__name__ for o in outcome], seen, len(closing)

    try:
        outcome, seen, closing = srv.run(scenario())
    finally:
        release.set()
    assert closing == 1
    assert _stored_codes(srv, "cancelled-") == ["cancelled-close", "cancelled-next"]
    assert (outcome, seen) == (["NoneType"], ["cancelled-close", "after_commit"])
    assert _free(srv)


def test_a_writer_cancelled_before_the_commit_leaves_nothing_behind(srv: LiveServer) -> None:
    """A writer whose caller is cancelled (a client gone) while its statement runs on the driver's thread, first
    in its group or after another write: its statement is rolled back, the other write commits, no group stays
    open (the database is unlocked) and the next write commits."""
    entered, release = threading.Event(), threading.Event()

    async def scenario(first: bool) -> list[str]:
        g = gate(srv)
        entered.clear()
        release.clear()

        async def blocked() -> None:
            async with g.write() as slot:
                await sqlite_thread.run(slot.conn, _blocking_create(f"gone-{first}", entered, release))

        async def plain(code: str) -> None:
            async with g.write() as slot:
                await slot.conn.execute(sa.text("INSERT INTO codes (code) VALUES (:code)"), {"code": code})

        await g.__aenter__()
        tasks = [
            asyncio.create_task(work)
            for work in ((blocked(), plain(f"kept-{first}")) if first else (plain(f"kept-{first}"), blocked()))
        ]
        for i in range(len(tasks)):
            while g.queued < i + 1:
                await asyncio.sleep(0)
        await g.__aexit__(None, None, None)
        await _until_set(entered)
        victim = tasks[0] if first else tasks[1]
        victim.cancel()
        await asyncio.sleep(0.05)
        release.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        await plain(f"next-{first}")
        return [type(o).__name__ for o in outcomes]

    try:
        for first in (True, False):
            outcomes = srv.run(scenario(first))
            assert sorted(outcomes) == ["CancelledError", "NoneType"], (first, outcomes)
            assert _free(srv)
    finally:
        release.set()
    assert _stored_codes(srv, "gone-") == []
    assert _stored_codes(srv, "kept-") == ["kept-False", "kept-True"]
    assert _stored_codes(srv, "next-") == ["next-False", "next-True"]
