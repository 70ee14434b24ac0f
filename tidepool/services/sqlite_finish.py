"""A write's last statements on SQLite in ONE hand-off to aiosqlite's thread: a create's INSERT and its reply's
read when they were left for it (``fast_create.Pending``), the history rows, and the event log's append.

Each hand-off to aiosqlite's thread costs the event loop CPU (queueing, a future, the thread's wake-up and its
GIL hand-back) and, while a write holds the database, a turn of the loop: py-spy put a fifth to a quarter of the
loop's samples in them with two per create (bench/README.md, ``create``). Here a create is one: the deferred
``BEGIN IMMEDIATE`` or ``SAVEPOINT`` (``sqlite_thread.defer``), the INSERT, the reply's SELECT, the activity and
revision rows, the log's counter UPDATE and INSERT, all in the write's transaction and in that order.

The key of a pending create is known on the thread only: the write's event and history entry carry the
``Pending`` in its place (its text in the history rows), and the thread puts the key in before the rows are
inserted and the events encoded and numbered. The INSERT's own error is raised as the create's
(``ItemsService._translated``: a broken constraint answers the same Directus error); anything else as before.
Nothing of this changes what commits: the write's statements are the same and run in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

from tidepool import eventlog
from tidepool.db import sqlite_thread
from tidepool.events import ChangeEvent, Tracked
from tidepool.services import history
from tidepool.services.base import TxContext
from tidepool.services.fast_create import Pending
from tidepool.services.group_commit import Later, Slot


class _InsertFailed(Exception):
    """The pending INSERT's driver error, told apart from the history's or the log's on its way to the loop."""

    def __init__(self, error: sqlite3.Error) -> None:
        super().__init__(error)
        self.error = error


async def finish(ctx: TxContext, pending: Pending | None, origin: str | None, slot: Slot | None = None) -> bool:
    """Run ``pending`` (if any), write the history of ``ctx.tx.actions`` and append ``ctx.tx.events`` to the log
    (numbered, they replace ``ctx.tx.events``), in one hand-off: now, or, when the write ran no statement before
    (``slot.may_wait``), in its group's batch with the other waiting writes (``group_commit.Later``). False when
    nothing ran (the history's statements cannot be sent this way: then ``settle`` and the usual path run)."""
    tx = ctx.tx
    rows = await history.sqlite_rows(ctx, tx.actions) if tx.actions else None
    if tx.actions and rows is None:
        return False
    events = tx.events
    conn = ctx.conn

    def run(db: sqlite3.Connection) -> tuple[Any, list[Any] | None, list[ChangeEvent]]:
        key, read, swap = None, None, None
        if pending is not None:
            try:
                key, read = pending.run(db)
            except sqlite3.Error as exc:
                raise _InsertFailed(exc) from exc
            swap = (pending.token, str(key))
        created = rows(db, swap) if rows is not None else []
        keyed = events if pending is None else [_keyed(event, pending, key) for event in events]
        return key, read, eventlog.append_in_sqlite_thread(db, [*keyed, *created], origin)

    def landed(done: tuple[Any, list[Any] | None, list[ChangeEvent]]) -> None:
        key, read, logged = done
        if pending is not None:
            pending.done(key, read)
        tx.events = logged

    def failed(exc: Exception) -> NoReturn:
        if isinstance(exc, _InsertFailed) and pending is not None:
            pending.failed(conn, exc.error)
        raise exc

    if slot is not None and slot.may_wait():
        slot.later = Later(run, landed, failed)
        return True
    try:
        done = await sqlite_thread.run(conn, run)
    except Exception as exc:
        failed(exc)
    if done is None:
        return False
    landed(done)
    return True


async def settle(ctx: TxContext, pending: Pending) -> None:
    """Run ``pending`` on its own (when ``finish`` could not), and put its key in the write's event and
    history entry: the usual path then writes and logs them."""
    try:
        done = await sqlite_thread.run(ctx.conn, pending.run)
    except sqlite3.Error as exc:
        pending.failed(ctx.conn, exc)
    if done is None:
        raise RuntimeError("aiosqlite's connection thread is not reachable")  # checked before a Pending is made
    pending.done(*done)
    tx = ctx.tx
    tx.events = [_keyed(event, pending, pending.key) for event in tx.events]
    tx.actions = [_tracked(entry, pending) for entry in tx.actions]


def _keys(keys: Sequence[Any], pending: Pending, key: Any) -> tuple[Any, ...]:
    return tuple(key if k is pending else k for k in keys)


def _keyed(event: ChangeEvent, pending: Pending, key: Any) -> ChangeEvent:
    return replace(event, keys=_keys(event.keys, pending, key)) if pending in event.keys else event


def _tracked(entry: Tracked, pending: Pending) -> Tracked:
    return replace(entry, keys=_keys(entry.keys, pending, pending.key)) if pending in entry.keys else entry
