"""``seq`` follows commit order (issue 8, part 2), checked against PostgreSQL's own record of when each
transaction committed: ``pg_xact_commit_timestamp(xmin)`` of every ``tidepool_events`` row.

``track_commit_timestamp`` needs a server restart, so the module starts a **private PostgreSQL cluster**
(initdb into a temporary directory, its own port, ``fsync=off``) and removes it at the end; it skips only
when the PostgreSQL server binaries are not installed. It therefore runs in every suite run, whatever
``TIDEPOOL_TEST_DB`` says.

* Many concurrent writers (REST creates, updates and deletes, WebSocket ``items`` creates) through two
  Tidepool servers on one database: in ``seq`` order the commit timestamps never go backwards, the numbers
  are ``1..n`` with no gap and no duplicate, and every acknowledged write has exactly its events.
* The same check fails for a numbering given in reply order (what numbering at publish, after the commit,
  amounts to): the assertion can tell the two designs apart.
* Two transactions built by hand on two connections: one that began after another committed gets higher
  numbers; one that began earlier but numbers later waits for the other's commit and numbers above it; a
  rolled-back numbering leaves no gap.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, base_env, free_port, live_server
from tests.support.seed import seed_messages
from tidepool import eventlog
from tidepool.config import load_settings
from tidepool.db.engine import create_engine
from tidepool.db.migrations import migrate
from tidepool.events import ChangeEvent

REST_WRITERS = 8
REST_WRITES = 50  # per REST writer
WS_WRITERS = 2
WS_WRITES = 50  # per WebSocket writer

pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------------------------- private cluster


def _server_binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory holding ``initdb``, ``pg_ctl`` and ``psql``."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parent.name.split(".") if part.isdigit())

    found = glob.glob("/usr/lib/postgresql/*/bin")
    usable = [p for p in found if all(os.path.exists(f"{p}/{tool}") for tool in ("initdb", "pg_ctl", "psql"))]
    return Path(max(usable, key=version)) if usable else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as the ``postgres`` OS user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int

    def sql(self, statement: str, database: str = "postgres") -> str:
        command = [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        done = subprocess.run(
            [*command, "-d", database, "-At", "-c", statement], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def db_env(self, database: str) -> dict[str, str]:
        return {
            "DB_CLIENT": "pg",
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.port),
            "DB_USER": "postgres",
            "DB_DATABASE": database,
        }


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this module's own, with ``track_commit_timestamp=on``; removed afterwards."""
    bindir = _server_binaries()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin: initdb, pg_ctl, psql) to start a cluster"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    home = Path(tempfile.mkdtemp(prefix="tp-commit-order-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data = home / "data"
    cluster = Cluster(bindir, data, free_port())
    try:
        _run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]))
        options = (
            f"-p {cluster.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={home}"
            " -c track_commit_timestamp=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
        _run(_as_postgres([*pg_ctl, "-o", options, "-l", str(home / "log"), "-w", "-t", "30", "start"]))
        try:
            assert cluster.sql("SHOW track_commit_timestamp") == "on"
            yield cluster
        finally:
            _run(_as_postgres([*pg_ctl, "-m", "immediate", "-w", "stop"]))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command[0]}: {done.stdout}{done.stderr}"


@contextmanager
def database(cluster: Cluster) -> Iterator[dict[str, str]]:
    """A new empty database in the private cluster: the environment a Tidepool server needs for it."""
    name = f"tp_order_{uuid.uuid4().hex[:10]}"
    cluster.sql(f"CREATE DATABASE {name}")
    try:
        yield cluster.db_env(name)
    finally:
        cluster.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# ------------------------------------------------------------------------------------------ the log


@dataclass(frozen=True)
class Logged:
    seq: int
    collection: str
    action: str
    keys: tuple[str, ...]
    committed: datetime  # pg_xact_commit_timestamp(xmin): when PostgreSQL committed the writing transaction


LOG_QUERY = sa.text(
    "SELECT seq, collection, action, body, pg_xact_commit_timestamp(xmin) AS committed"
    " FROM tidepool_events ORDER BY seq"
)


async def read_log(engine: AsyncEngine) -> list[Logged]:
    async with engine.connect() as conn:
        rows = (await conn.execute(LOG_QUERY)).all()
    return [
        Logged(int(seq), name, action, tuple(str(k) for k in orjson.loads(body)["keys"]), committed)
        for seq, name, action, body, committed in rows
    ]


@dataclass(frozen=True)
class OrderCheck:
    pairs: int  # consecutive pairs compared
    ties: int  # pairs committed in the same microsecond (one transaction's events, or a clock tie)
    backwards: list[float]  # for each pair numbered against commit order, how far back in ms
    max_forward_ms: float  # the largest step forward between consecutive numbers

    @property
    def max_backwards_ms(self) -> float:
        return max(self.backwards, default=0.0)


def check_order(committed: Sequence[datetime]) -> OrderCheck:
    """Walk commit timestamps in numbering order: every step must go forward or stay (a tie)."""
    steps = [(b - a).total_seconds() * 1000 for a, b in zip(committed, committed[1:], strict=False)]
    return OrderCheck(
        pairs=len(steps),
        ties=sum(1 for s in steps if s == 0),
        backwards=[-s for s in steps if s < 0],
        max_forward_ms=max(steps, default=0.0),
    )


def assert_gap_free(log: Sequence[Logged]) -> None:
    numbers = [e.seq for e in log]
    duplicates = [n for n, count in collections.Counter(numbers).items() if count > 1]
    assert not duplicates, f"numbers given twice: {duplicates[:10]}"
    assert numbers == list(range(1, len(numbers) + 1)), "the numbers are not the gap-free range 1..n"


# ------------------------------------------------------------------------------------- the writers


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: the event it must have, and where its reply came in the replies of all."""

    action: str
    key: str
    replied: int  # position among all replies, across writers (a publish-order numbering)


class Replies:
    """Hands out reply positions: taken the moment a writer has read its reply."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0

    def take(self) -> int:
        with self._lock:
            self._next += 1
            return self._next


def rest_writer(server: LiveServer, name: str, replies: Replies, start: threading.Barrier) -> list[Ack]:
    """Creates, updates and deletes its own rows: create a, update a, create b, delete b, ..."""
    acks: list[Ack] = []
    key = ""  # the row the last create made: steps 1 and 3 update and delete it
    with server.client() as client:
        start.wait()
        for i in range(REST_WRITES):
            step = i % 4
            if step in (0, 2):
                response = client.post("/items/messages", json={"text": f"{name}-{i}"})
                assert response.status_code == 200, response.text
                key = str(response.json()["data"]["id"])
                acks.append(Ack("create", key, replies.take()))
            elif step == 1:
                response = client.patch(f"/items/messages/{key}", json={"text": f"{name}-{i}-edited"})
                assert response.status_code == 200, response.text
                acks.append(Ack("update", key, replies.take()))
            else:
                response = client.delete(f"/items/messages/{key}")
                assert response.status_code == 204, response.text
                acks.append(Ack("delete", key, replies.take()))
    return acks


def ws_writer(server: LiveServer, name: str, replies: Replies, start: threading.Barrier) -> list[Ack]:
    """``items`` creates on one WebSocket, one after another."""
    acks: list[Ack] = []
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        start.wait()
        for i in range(WS_WRITES):
            message = {"type": "items", "collection": "messages", "action": "create", "data": {"text": f"{name}-{i}"}}
            reply = ws.request(message, timeout=30)
            assert reply.get("status") != "error", reply
            acks.append(Ack("create", str(reply["data"]["id"]), replies.take()))
    return acks


def run_writers(servers: Sequence[LiveServer]) -> tuple[list[Ack], float]:
    """Every writer at once, on threads, spread over the servers; the acknowledged writes and the seconds."""
    replies = Replies()
    jobs: list[Callable[[threading.Barrier], list[Ack]]] = []
    for i in range(REST_WRITERS):
        server = servers[i % len(servers)]
        jobs.append(functools.partial(rest_writer, server, f"rest{i}", replies))
    for i in range(WS_WRITERS):
        server = servers[i % len(servers)]
        jobs.append(functools.partial(ws_writer, server, f"ws{i}", replies))
    start = threading.Barrier(len(jobs) + 1)
    results: list[list[Ack]] = [[] for _ in jobs]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = jobs[index](start)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=work, args=(i,), name=f"writer-{i}") for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    start.wait(timeout=30)
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=90)
    elapsed = time.monotonic() - began
    if errors:
        raise errors[0]
    return [ack for acks in results for ack in acks], elapsed


# ------------------------------------------------------------------------------------------ tests


@pytest.fixture(scope="module")
def two_servers(cluster: Cluster) -> Iterator[tuple[LiveServer, LiveServer]]:
    with database(cluster) as env, live_server(env) as one:
        seed_messages(one)
        with live_server(env) as two:
            yield one, two


def test_concurrent_writes_are_numbered_in_commit_order(two_servers: tuple[LiveServer, LiveServer]) -> None:
    acks, elapsed = run_writers(two_servers)
    log = two_servers[0].run(read_log(two_servers[0].runtime.engine))

    assert_gap_free(log)
    real = check_order([e.committed for e in log])
    assert not real.backwards, (
        f"{len(real.backwards)} of {real.pairs} consecutive numbers go back in commit time, "
        f"up to {real.max_backwards_ms:.3f} ms"
    )

    expected = collections.Counter((a.action, a.key) for a in acks)
    logged = collections.Counter((e.action, key) for e in log if e.collection == "messages" for key in e.keys)
    assert logged == expected, f"missing: {expected - logged}, unexpected: {logged - expected}"
    assert all(len(e.keys) == 1 for e in log if e.collection == "messages")

    # The same check on a numbering in reply order, which is what numbering at publish (after the commit)
    # gives: concurrent writers make it disagree with commit order, so the check above can fail.
    committed = {(e.action, e.keys[0]): e.committed for e in log if e.collection == "messages"}
    wrong = check_order([committed[(a.action, a.key)] for a in sorted(acks, key=lambda a: a.replied)])
    print(
        f"\n{len(acks)} acknowledged writes in {elapsed:.2f} s ({len(acks) / elapsed:.0f}/s) on 2 servers; "
        f"log 1..{len(log)}: {real.pairs} consecutive pairs checked, 0 backwards, {real.ties} ties, "
        f"largest step forward {real.max_forward_ms:.3f} ms; numbered in reply order instead: "
        f"{len(wrong.backwards)} of {wrong.pairs} pairs backwards, up to {wrong.max_backwards_ms:.3f} ms"
    )
    assert wrong.backwards, "reply order agreed with commit order: the writers did not overlap enough"


@asynccontextmanager
async def log_engine(cluster: Cluster) -> AsyncIterator[AsyncEngine]:
    """Tidepool's own engine on a new, migrated database of the private cluster."""
    with database(cluster) as env:
        engine = create_engine(load_settings({**base_env(), **env}, env_file=None))
        try:
            async with engine.begin() as conn:
                await migrate(conn)
            yield engine
        finally:
            await engine.dispose()


def _events(count: int, tag: str) -> list[ChangeEvent]:
    return [ChangeEvent(collection="messages", action="create", keys=(f"{tag}{i}",)) for i in range(count)]


async def _numbers(conn: AsyncConnection, count: int, tag: str) -> list[int]:
    return [int(e.seq or 0) for e in await eventlog.append(conn, _events(count, tag), origin="test")]


async def _transaction(engine: AsyncEngine) -> AsyncConnection:
    """A connection inside a transaction that already has its id (it has begun, in PostgreSQL's eyes)."""
    conn = await engine.connect()
    await conn.begin()
    await conn.execute(sa.text("SELECT txid_current()"))
    return conn


def test_hand_built_transactions(cluster: Cluster) -> None:
    """E begins first and numbers last; A numbers and holds its numbers while C asks for numbers: C waits
    for A's commit and numbers above it; B begins after A committed and numbers above it; R numbers and rolls
    back, and D gets R's numbers; E, which began before them all, numbers above all of them."""

    async def scenario() -> None:
        async with log_engine(cluster) as engine:
            e = await _transaction(engine)
            a, c = await _transaction(engine), await _transaction(engine)
            a_numbers = await _numbers(a, 2, "a")
            c_numbering = asyncio.create_task(_numbers(c, 3, "c"))  # blocks on A's counter lock
            await asyncio.sleep(0.3)
            assert not c_numbering.done(), "C numbered while A, which numbered first, had not committed"
            await a.commit()
            c_numbers = await asyncio.wait_for(c_numbering, 10)
            b = await _transaction(engine)  # begins after A committed
            r = await _transaction(engine)
            await c.commit()
            b_numbers = await _numbers(b, 1, "b")
            await b.commit()
            r_numbers = await _numbers(r, 4, "r")
            await r.rollback()
            d = await _transaction(engine)
            d_numbers = await _numbers(d, 1, "d")
            await d.commit()
            e_numbers = await _numbers(e, 1, "e")
            await e.commit()
            for conn in (a, b, c, d, e, r):
                await conn.close()
            log = await read_log(engine)

        assert (a_numbers, c_numbers, b_numbers) == ([1, 2], [3, 4, 5], [6])
        assert r_numbers == [7, 8, 9, 10] and d_numbers == [7], "a rolled-back numbering is given again"
        assert e_numbers == [8], "numbers follow commit order, not the order transactions began in"
        assert_gap_free(log)
        assert [e.keys[0] for e in log] == ["a0", "a1", "c0", "c1", "c2", "b0", "d0", "e0"]
        assert not check_order([e.committed for e in log]).backwards

    asyncio.run(scenario())
