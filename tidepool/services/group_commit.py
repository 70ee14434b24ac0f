"""Where a runtime's write transactions queue, and on SQLite, how queued writes share one COMMIT.

SQLite lets one writer in at a time. Writers that collide on the database lock wait in its busy handler, which
sleeps with growing back-off (measured: p99 of WebSocket creates 1.0 s with 16 writers), so a runtime queues
its writers on a lock of its own. And while one write holds the database, each of its statements waits for a
turn of the event loop (aiosqlite runs them in a thread): opening and committing a transaction per write
doubled what a write held the database for. So the writes that queue up behind each other are **group
committed**: the first opens a transaction (``BEGIN IMMEDIATE``), each later one runs inside it under a
``SAVEPOINT`` of its own, and the last in line (or the 64th) commits them all at once.

**The batch.** A write that ran no statement before its last hand-off (a create: its INSERT, reply, history
rows and event log are one function of the driver's connection, ``services/sqlite_finish.py``) leaves that
function to the group (``Later``): the group runs its waiting writes, each under a savepoint of its own, with
the next statement of the group or with its COMMIT, in one hand-off. Neither the database's write lock nor
the writer lock between processes (``db/write_lock.py``, taken on the driver's thread just before ``BEGIN
IMMEDIATE``) is held while the event loop prepares the writes: only while SQLite runs them, which is what
lets another process write in between (``tidepool start --workers``). Per write:

- **isolation**: a write that fails rolls back to its savepoint alone (a first write without one rolls back
  the whole transaction, which holds nothing else) and raises its own error to its caller; the others go on
  (a write of the batch keeps its error until the COMMIT, then raises it);
- **after the commit only**: a write's ``transaction()`` returns when the COMMIT did, never before, so a write
  is answered as done only once it is durable; if the COMMIT (or the connection) fails, every write of the
  group raises that error and none is reported as done;
- **events in commit order**: each write appends its events to the event log in its turn (numbered in
  order, ``tidepool.eventlog``), and after the COMMIT the gate runs each write's follow-up (caches, events to
  the bus) in that same order before the next group can begin;
- a write whose caller is cancelled while it waits for the COMMIT still commits and still emits its events;
  a writer cancelled while it waits for its turn leaves no group open behind it (``_settle``), and one
  cancelled while its statements run is rolled back alone (``_undo``);
- a COMMIT once queued for the driver's thread is waited for whatever happens to the task that sent it (a
  loop's teardown cancels every task): a group that committed is reported committed and its follow-ups run;
  only a COMMIT that failed or was never sent fails the group's writes (``_close``).

Work that needs the database to itself (the event log's pruning, through ``async with gate``) commits the
open group first. PostgreSQL and MySQL lock rows, not the database: there every write is its own transaction,
all at once, and the gate holds nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidepool.db import pg_writes, sqlite_thread
from tidepool.db.errors import commit_unknown, outages_of
from tidepool.db.write_lock import FileWriteLock
from tidepool.errors import ServiceUnavailableError
from tidepool.seams import translated

GROUP_LIMIT = 64  # writes per COMMIT at most: the last one's wait is bounded
_SAVEPOINT = "tidepool_write"
_BATCHED = "tidepool_batched"
_LOCK_WAIT = translated("database lock")

log = logging.getLogger(__name__)


@dataclass
class Later:
    """A write's statements left for its group's batch (``Slot.may_wait``): ``run`` goes to the driver's thread
    with the group's other waiting writes in one hand-off, under a savepoint of its own (an error rolls back to
    it and fails this write alone). Once the group committed, ``landed`` gets what ``run`` answered (before the
    write's follow-up); if ``run`` failed, the writer raises what ``failed`` makes of its error."""

    run: Callable[[sqlite3.Connection], Any]
    landed: Callable[[Any], None]
    failed: Callable[[Exception], NoReturn]
    result: Any = None
    error: Exception | None = None  # set on the driver's thread


@dataclass
class Slot:
    """One write's place in the gate: its connection, and what to run once its transaction committed."""

    conn: AsyncConnection
    after_commit: Callable[[], Awaitable[None]] | None = None
    batching: bool = False  # whether its statements may wait for the group's batch (SQLite)
    later: Later | None = None  # its statements, left for the batch

    def may_wait(self) -> bool:
        """Whether the write's last statements may be left for the group's batch (``later``): on SQLite, when the
        write ran none before them; nothing may follow them in the write."""
        return self.batching and sqlite_thread.waiting(self.conn)


@dataclass
class _Group:
    conn: AsyncConnection
    members: list[Slot] = field(default_factory=list)  # the writes done in it, in order
    holds_file_lock: bool = False  # the writer lock between processes, held from BEGIN to the connection's end
    begun: bool = False  # whether its BEGIN IMMEDIATE ran (with the first write that ran a statement)
    batch: list[Later] = field(default_factory=list)  # writes' statements still waiting for a hand-off
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def __post_init__(self) -> None:
        self.done.add_done_callback(_observed)  # a group whose writers were all cancelled logs nothing


def _batched(laters: list[Later]) -> Callable[[sqlite3.Connection], None]:
    """The waiting writes' statements, run on the driver's thread in order, each under a savepoint of its own:
    one that fails is rolled back alone and keeps its error for its writer; the others go on."""

    def run(db: sqlite3.Connection) -> None:
        for later in laters:
            db.execute(f"SAVEPOINT {_BATCHED}")
            try:
                later.result = later.run(db)
            except Exception as exc:
                db.execute(f"ROLLBACK TO {_BATCHED}")
                later.error = exc
            db.execute(f"RELEASE {_BATCHED}")

    return run


def _commit(db: sqlite3.Connection) -> bool:
    db.commit()
    return True


async def _committed(conn: AsyncConnection) -> None:
    """COMMIT a write on PostgreSQL or MySQL (PostgreSQL: on asyncpg right after the event log's numbering,
    then SQLAlchemy's, which has nothing left to end). A connection lost meanwhile leaves the outcome unknown:
    raised as such (``db.errors.commit_unknown``), never as a plain failure."""
    try:
        await pg_writes.commit(conn)
        await conn.commit()
    except Exception as exc:
        unknown = commit_unknown(exc)
        if unknown is None:
            raise
        raise unknown from None


async def _follow_up(slot: Slot) -> None:
    """A committed write's follow-up: what its batched statements answered, then ``after_commit``."""
    if slot.later is not None:
        slot.later.landed(slot.later.result)
    if slot.after_commit is not None:
        await slot.after_commit()


async def _after_commit(what: str, step: Awaitable[None]) -> None:
    """Run one step that follows a COMMIT: its failure or cancellation is logged, never raised (the writes
    committed; the task goes on with the next step, so a cancelled one is uncancelled)."""
    try:
        await step
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        log.warning("%s: cancelled, after the writes committed", what)
    except Exception:
        log.exception("%s failed", what)


def _observed(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class WriteGate:
    """Where one runtime's write transactions queue before they begin: one per engine, held by the runtime."""

    def __init__(self, engine: AsyncEngine, limit: int = GROUP_LIMIT) -> None:
        self.engine = engine
        self.limit = limit
        self._lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._between_processes = FileWriteLock.for_engine(engine)  # several processes on one file (--workers)
        self._outages = outages_of(engine)  # where a write that waited too long for the lock is logged
        self._queued = 0  # writers waiting for the lock
        self._group: _Group | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.commits = 0  # COMMITs of groups so far (how many writes shared one: the tests check it)
        self.committed_writes = 0

    @property
    def queued(self) -> int:
        """Writers waiting for their turn."""
        return self._queued

    def locked(self) -> bool:
        """Whether a writer holds the gate (never, on an engine that needs none)."""
        return self._lock is not None and self._lock.locked()

    async def __aenter__(self) -> None:
        """The database to oneself (one's own transaction on another connection): the open group commits first."""
        if self._lock is None:
            return
        await self._lock.acquire()
        group = self._group
        if group is not None:
            self._group = None
            closing = self._start_closing(group)
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                closing.add_done_callback(lambda _: self._release())
                raise
            except BaseException:
                pass  # the group's writers hear of it; the caller's own transaction can still run
        if self._between_processes is not None:
            try:
                await self._between_processes.acquire()
            except BaseException:
                self._release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        if self._lock is not None and self._between_processes is not None:
            self._between_processes.release()
        self._release()

    def close(self) -> None:
        """Close the writer lock's file (the runtime ends)."""
        if self._between_processes is not None:
            self._between_processes.close()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Slot]:
        """One write transaction: the caller writes through ``slot.conn`` and may set ``slot.after_commit``;
        this returns once that write committed (and its follow-up ran), or raises why it did not."""
        if self._lock is None:
            async with self.engine.begin() as conn:
                slot = Slot(conn)
                yield slot
                await _committed(conn)
            if slot.after_commit is not None:
                await slot.after_commit()
            return
        try:
            with _LOCK_WAIT:  # waited past DB_SQLITE_BUSY_TIMEOUT for another process: a 503, nothing written
                self._queued += 1
                try:
                    await self._lock.acquire()
                except BaseException:  # cancelled while waiting: the writer it was left to may be gone
                    self._queued -= 1
                    self._settle()
                    raise
                self._queued -= 1
                try:
                    group = self._group or await self._open()
                    first = not group.members
                    if not first:
                        self._savepoint(group)
                except BaseException:
                    self._end_turn()
                    raise
                slot = Slot(group.conn, batching=True)
                try:
                    yield slot
                except BaseException:
                    await self._undo(group, first)
                    self._end_turn()
                    raise
                self._settled(group)
                group.members.append(slot)
                if slot.later is not None:
                    group.batch.append(slot.later)
                self._end_turn()
                await asyncio.shield(group.done)
                if slot.later is not None and slot.later.error is not None:
                    slot.later.failed(slot.later.error)
        except ServiceUnavailableError as exc:  # the database locked by another process, past the busy timeout
            self._outages.note(exc)
            raise

    async def _open(self) -> _Group:
        """A new group's connection. The processes' writer lock and ``BEGIN IMMEDIATE`` (the database's write
        lock) go with the first statement the group runs (``_begin``): neither is held while the event loop
        prepares the group's writes, nor costs a trip of its own."""
        conn = await self.engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._group = _Group(conn)
        self._begin(self._group, [])
        return self._group

    def _begin(self, group: _Group, then: list[str]) -> None:
        """Defer ``then`` to the write's first statement, after what the group still owes the database: while
        no statement of the group ran (every write before ran nothing: ``_settled``), the writer lock between
        processes (taken on the driver's thread) and ``BEGIN IMMEDIATE``; then the batch of writes waiting."""
        owed: list[sqlite_thread.Deferred] = []
        if not group.begun:
            owed += [self._lock_on_thread(group), "BEGIN IMMEDIATE"] if self._between_processes else ["BEGIN IMMEDIATE"]
        if group.batch:
            owed.append(_batched(list(group.batch)))
        sqlite_thread.defer(group.conn, [*owed, *then])

    def _lock_on_thread(self, group: _Group) -> Callable[[sqlite3.Connection], None]:
        """The writer lock between processes, taken on the driver's thread just before ``BEGIN IMMEDIATE``."""
        lock = self._between_processes
        assert lock is not None

        def take(_: sqlite3.Connection) -> None:
            lock.acquire_here()
            group.holds_file_lock = True  # read on the loop only after a later hand-off on this thread

        return take

    def _settled(self, group: _Group) -> None:
        """After a write of ``group`` ended: drop what it deferred and never ran; if it ran, the group's
        transaction is open (its BEGIN ran, whatever happened after) and the batch deferred with it ran."""
        if not sqlite_thread.withdraw(group.conn):
            self._ran(group)

    @staticmethod
    def _ran(group: _Group) -> None:
        group.begun = True
        group.batch.clear()

    def _ended(self, group: _Group) -> None:
        """The group's transaction is over (committed, or its connection closed): the next writer, in whichever
        process, may begin."""
        if group.holds_file_lock and self._between_processes is not None:
            group.holds_file_lock = False
            self._between_processes.release()

    def _savepoint(self, group: _Group) -> None:
        """A savepoint for the next write. Never released: a write that succeeds leaves its savepoint open
        (the COMMIT releases them all), which costs no extra trip to the driver's thread. Nor is it a trip of
        its own: it goes with the write's first statement (``sqlite_thread.defer``)."""
        self._begin(group, [f"SAVEPOINT {_SAVEPOINT}"])

    async def _undo(self, group: _Group, first: bool) -> None:
        """Take back the failed write of the turn: its savepoint's work, or the whole group when it was the
        first (it holds nothing else). If that fails, the connection is not to be trusted: the group fails."""
        try:
            if first:
                self._group = None
                sqlite_thread.withdraw(group.conn)  # its BEGIN, if it ran nothing
                await group.conn.rollback()
                await group.conn.close()
                self._ended(group)
            elif not sqlite_thread.withdraw(group.conn):  # else its savepoint never ran: nothing did
                self._ran(group)  # its statements ran, after the group's BEGIN and batch if still to run
                await sqlite_thread.script(group.conn, [f"ROLLBACK TO {_SAVEPOINT}", f"RELEASE {_SAVEPOINT}"])
        except BaseException as exc:
            await self._fail(group, exc)

    def _end_turn(self) -> None:
        """Pass the lock on: to the next writer, who joins the open group; or, when nobody is waiting or the
        group is full, to a task that commits the group and then lets the next writer in."""
        group = self._group
        if group is None or not group.members or (self._queued and len(group.members) < self.limit):
            self._release()
            return
        self._group = None
        self._start_closing(group).add_done_callback(lambda _: self._release())

    def _settle(self) -> None:
        """A group left open for a writer who gave up waiting (its caller was cancelled) with nobody else in line
        and nobody holding the gate: commit it now, or its writers would wait for the next write to come."""
        if self._group is None or self._queued or self.locked():
            return
        flushing = asyncio.get_running_loop().create_task(self._flush())
        self._closing.add(flushing)
        flushing.add_done_callback(self._closing.discard)

    async def _flush(self) -> None:
        async with self:  # takes the gate and commits the open group first
            pass

    def _start_closing(self, group: _Group) -> asyncio.Task[None]:
        """A task that commits ``group`` (``_close``), kept until it is done."""
        closing = asyncio.get_running_loop().create_task(self._close(group))
        self._closing.add(closing)
        closing.add_done_callback(functools.partial(self._closed, group))
        return closing

    def _closed(self, group: _Group, task: asyncio.Task[None]) -> None:
        """A closing task ended. One cancelled before it ran (the loop's teardown cancels tasks that have not
        started too) sent no COMMIT and told nobody: its group is rolled back and its writers fail."""
        self._closing.discard(task)
        if not task.cancelled():
            task.exception()  # reported to the group's writers already
        if not group.done.done():
            failing = asyncio.get_running_loop().create_task(self._fail(group, RuntimeError("write group cancelled")))
            self._closing.add(failing)
            failing.add_done_callback(self._closing.discard)

    async def _close(self, group: _Group) -> None:
        """COMMIT the group, then run each write's follow-up in order; or fail every write of it.

        Once the COMMIT is queued for the driver's thread nothing stops it, not even a cancellation of this task
        (a loop's teardown cancels every task): ``sqlite_thread.run_to_end`` waits for the thread's answer, and
        a group that committed is reported committed, its follow-ups run (``_landed``). Only a COMMIT that
        failed, or that was never sent, fails the group's writes."""
        if self._group is group:
            self._group = None
        sqlite_thread.withdraw(group.conn)  # the last write's savepoint, if it ran no statement
        try:
            await self._commit(group)
        except BaseException as exc:
            await self._fail(group, exc)
            raise
        self._ended(group)  # committed: another process's writer may begin while this connection is returned
        try:
            await self._landed(group)
        finally:
            if not group.done.done():
                group.done.set_result(None)

    async def _commit(self, group: _Group) -> None:
        """The group's COMMIT on the driver's thread, with the batch of waiting writes (and the lock and BEGIN,
        if owed) in the same hand-off; returns once SQLite committed, raises if it did not."""
        batched = bool(group.batch)
        if batched:
            self._begin(group, [])
        if await sqlite_thread.run_to_end(group.conn, _commit) is None:
            if batched:  # never sent: checked before a write's statements are left for the batch
                raise RuntimeError("aiosqlite's connection thread is not reachable")
            await group.conn.commit()
        elif batched:
            self._ran(group)

    async def _landed(self, group: _Group) -> None:
        """After the group's COMMIT: SQLAlchemy's side of it, the connection back to the pool, then each
        write's follow-up in order. The writes committed: no failure here, a cancellation included, is
        reported to them (each is logged), and every follow-up runs."""
        await _after_commit("ending SQLAlchemy's side of a committed group", group.conn.commit())
        self.commits += 1
        self.committed_writes += sum(slot.later is None or slot.later.error is None for slot in group.members)
        await _after_commit("closing a committed group's connection", group.conn.close())
        for slot in group.members:
            later = slot.later
            if later is not None and later.error is not None:
                continue  # rolled back to its savepoint: it raises its error, and has no follow-up
            await _after_commit("after a group commit", _follow_up(slot))

    async def _fail(self, group: _Group, exc: BaseException) -> None:
        """The group cannot commit: roll back what is left, and every write of it raises ``exc``."""
        if self._group is group:
            self._group = None
        try:
            await group.conn.rollback()
        except BaseException:
            log.warning("rolling back a failed group", exc_info=True)
        try:
            await group.conn.close()
        except BaseException:
            log.warning("closing a failed group's connection", exc_info=True)
        self._ended(group)
        if not group.done.done():
            group.done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("write group failed"))
