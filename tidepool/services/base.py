"""What every service call carries: the database, the schema, who is asking, and where events go.

Services take a ``ServiceContext`` explicitly; nothing reaches for a global. A write opens a
``Transaction`` through ``ctx.transaction()``, which yields a ``TxContext``: the same context bound to that
transaction, so code that writes takes a ``TxContext`` and its ``tx`` is always there. Nested calls join the
outer transaction, and the events they record are appended to the event log as its last statement
(``tidepool.eventlog``: they commit or roll back with the data) and emitted once, numbered, after the
outermost commit. On SQLite the writes of a runtime are group-committed (``services/group_commit.py``).
Schema changes bind their DDL transaction the same way (``services/schema_tx.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidepool import eventlog
from tidepool.config import Settings
from tidepool.context import Access, Accountability
from tidepool.db import direct
from tidepool.db.introspect import load_schema
from tidepool.db.schema import SchemaOverview
from tidepool.events import ChangeEvent, EventSink, NullSink, Tracked
from tidepool.ratelimit import LoginLimiter
from tidepool.services import versions
from tidepool.services.group_commit import Slot
from tidepool.services.group_commit import WriteGate as WriteGate  # where it was defined before

if TYPE_CHECKING:  # permissions, plans and fast_create build on this module
    from tidepool.services.fast_create import Pending
    from tidepool.services.permissions import AccessCache
    from tidepool.services.plans import PlanCache


@dataclass
class OpenWrites:
    """How many write transactions are open, from ``begin`` until their events are handed to the sink: a
    stopping server waits for none before it closes its sockets (``tidepool/drain.py``), so the events of a
    write that is answered are never cut off."""

    count: int = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


@dataclass
class Transaction:
    conn: AsyncConnection
    events: list[ChangeEvent] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # version markers this transaction moves at its commit
    actions: list[Tracked] = field(default_factory=list)  # what activity and revisions will record
    pending: Pending | None = None  # a create's INSERT left for the last hand-off (``services/sqlite_finish.py``)
    slot: Slot | None = None  # its place in the write gate (``services/group_commit.py``), where it has one

    def record(self, event: ChangeEvent, who: Accountability | None = None) -> None:
        """Record a change: its event, and its history entry unless ``who`` is None (work not tracked)."""
        self.events.append(event)
        if who is not None:
            self.actions.append(Tracked.of_event(event, who))
        kind = versions.KIND_OF_COLLECTION.get(event.collection)
        if kind is not None:
            self.touch(kind)

    def note(self, entry: Tracked) -> None:
        """Record an action that changes no item (a login, a version's save) for the activity log."""
        self.actions.append(entry)

    def touch(self, kind: str) -> None:
        """This transaction changes cached ``kind`` state (see ``tidepool.services.versions``)."""
        self.touched.add(kind)

    async def log_events(self, ctx: TxContext, origin: str | None) -> None:
        """Write the history of what was recorded (``tidepool.services.history``), then append the events to
        the event log (``tidepool.eventlog``), numbered: to be called as the transaction's last statements, so
        the numbering lock is held only until the commit. Every write path ends here, so none can forget its
        activity and revisions."""
        if ctx.dialect == "sqlite" and (self.pending is not None or self.actions or self.events):
            from tidepool.services import sqlite_finish  # a cycle: history reads through ItemsService

            if await sqlite_finish.finish(ctx, self.pending, origin, self.slot):  # one hand-off, or the group's
                return
            if self.pending is not None:
                await sqlite_finish.settle(ctx, self.pending)
        if self.actions:
            from tidepool.services import history as tracker

            if ctx.dialect == "postgresql":  # the history rows and the log in one statement
                numbered = await tracker.write_postgresql_logged(ctx, self.actions, self.events, origin)
                if numbered is not None:
                    self.events = numbered
                    return
            await tracker.write(ctx, self.actions)
        if self.events:
            self.events = await eventlog.append(self.conn, self.events, origin)


class SchemaStore:
    """Holds the current schema overview; DDL services call ``reload`` after their change commits."""

    def __init__(self, engine: AsyncEngine, schema: SchemaOverview, seen: Mapping[str, int] | None = None) -> None:
        self.engine = engine
        self.current = schema
        self.version = 0
        self.seen: dict[str, int] = dict(seen or {})  # the version markers this process's state reflects
        self.sessions_ended = 0  # moved when the ``sessions`` version marker moves (a logout, here or elsewhere)
        self.changing = asyncio.Lock()  # held by each schema change of this runtime (``schema_tx.schema_change``)
        self._reloads_started = 0
        self._reload_applied = 0

    def saw_versions(self, values: Mapping[str, int]) -> set[str]:
        """Record marker values; the kinds that moved past what was seen (markers only ever grow)."""
        moved = {kind for kind, value in values.items() if value > self.seen.get(kind, -1)}
        for kind in moved:
            self.seen[kind] = values[kind]
        return moved

    async def reload(self) -> SchemaOverview:
        """Read the schema again. Reloads may overlap (a DDL's own and the version watcher's): the one that
        started last read the newest state, so an older one that finishes later is dropped, never applied."""
        self._reloads_started += 1
        ticket = self._reloads_started
        schema = await load_schema(self.engine)
        direct.forget_statements(self.engine)  # the driver's kept statements may rest on what changed
        if ticket > self._reload_applied:
            self._reload_applied = ticket
            self.current = schema
            self.version += 1
        return self.current


@dataclass(frozen=True)
class ServiceContext:
    engine: AsyncEngine
    settings: Settings
    schemas: SchemaStore
    access: Access
    events: EventSink = field(default_factory=NullSink)
    login_limiter: LoginLimiter | None = None  # the runtime's; None when RATE_LIMITER_LOGIN_ENABLED is off
    origin: str | None = None  # which process writes (the runtime's id), recorded with its events
    writes: OpenWrites = field(default_factory=OpenWrites)  # the runtime's: shared by every context it makes
    # The runtime's own state, shared by every context it makes (never by another runtime's):
    write_gate: WriteGate = field(kw_only=True)  # where its writers queue
    access_cache: AccessCache = field(kw_only=True)  # its access snapshot (``services/permissions.py``)
    plans: PlanCache = field(kw_only=True)  # its kept read plans (``services/plans.py``)
    # Whether its writes enter the history (``services/history.py``): not for the system's own work (bootstrap,
    # CLI), for which Directus records nothing either (its services run without accountability).
    tracked: bool = True

    @property
    def schema(self) -> SchemaOverview:
        return self.schemas.current

    @property
    def accountability(self) -> Accountability:
        return self.access.accountability

    @cached_property
    def dialect(self) -> str:
        """The engine's dialect name, looked up once per context (through SQLAlchemy's async proxy it cost
        a lookup chain, and a write asks it several times)."""
        return self.engine.dialect.name

    def with_access(self, access: Access) -> Self:
        return replace(self, access=access)

    def as_admin(self) -> Self:
        """The same context with every check bypassed (internal reads such as resolving $CURRENT_USER)."""
        return replace(self, access=Access.full(self.accountability))

    def bound(self, tx: Transaction) -> TxContext:
        """This context bound to ``tx`` (as ``transaction()`` and ``schema_tx.schema_change`` yield it): its
        fields (and its cached ``dialect``) copied as they are, since a frozen dataclass's ``__init__`` sets
        each field through ``object.__setattr__`` and every write pays for one such context."""
        bound = object.__new__(TxContext)
        bound.__dict__.update(self.__dict__)
        bound.__dict__["tx"] = tx
        return bound

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TxContext]:
        """Yield a context bound to one transaction; emit its events after the outermost commit."""
        with self.writes.held():
            async with self.write_gate.write() as slot:
                tx = Transaction(slot.conn, slot=slot)
                bound = self.bound(tx)
                yield bound
                marked = await versions.bump(slot.conn, tx.touched) if tx.touched else None
                await tx.log_events(bound, self.origin)  # the last statement: numbering waits for the commit only
                slot.after_commit = lambda: self._committed(tx, marked)

    async def _committed(self, tx: Transaction, marked: dict[str, int] | None) -> None:
        """What follows a write's commit: caches dropped, events emitted (in commit order: the gate runs this
        for every write of a group commit in turn, before the next group can commit)."""
        if marked is not None:
            versions.committed(self, tx.touched, marked)
        if tx.events:
            await self.events.emit(tx.events)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads: a fresh one (a ``TxContext`` answers its transaction's)."""
        async with self.engine.connect() as conn:
            yield conn


@dataclass(frozen=True)
class TxContext(ServiceContext):
    """A ``ServiceContext`` inside a transaction: ``tx`` is always there, so writers need no check.

    ``transaction()`` joins it and ``connection()`` answers its connection, so a service called with a
    ``TxContext`` reads and writes in the caller's transaction."""

    tx: Transaction = field(kw_only=True)

    @property
    def conn(self) -> AsyncConnection:
        return self.tx.conn

    def record(self, event: ChangeEvent) -> None:
        """Record ``event``: emitted after the outermost commit, and kept in the history unless this context is
        not ``tracked`` (``Transaction.record``)."""
        self.tx.record(event, self.accountability if self.tracked else None)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TxContext]:
        """Nested: join the open transaction."""
        yield self

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        yield self.tx.conn
