"""Activity and revisions: the record of who changed what, written by every write in its own transaction.

Every write records what it did on its transaction (``Transaction.record`` for the change events of item,
account and schema writes; ``Transaction.note`` for actions that change no item, such as a login or a
content version's save). When the transaction ends, ``Transaction.log_events`` hands that list here as one of
its last statements, before the event log, so history commits or rolls back with the data and no write path
can forget it: a new service that records its events gets its history too.

What is written follows Directus's ``ItemsService`` and each collection's ``accountability`` setting
(``directus_collections``; for a system collection without a row, Directus's own default):

| ``accountability`` | ``directus_activity`` | ``directus_revisions`` |
| --- | --- | --- |
| ``"all"`` (default) | one row per item and action | one per created or updated item |
| ``"activity"`` | one row per item and action | none |
| ``null`` | none | none |

A revision's ``delta`` is the payload as the caller sent it (hash and concealed fields masked); its ``data``
is the payload too for a create, and the whole item as it is after the change for an update (read in the same
transaction), as Directus stores them. Deletes get activity only. The system's own writes (bootstrap, the CLI:
a context that is not ``tracked``) are not recorded, as Directus records nothing for a service without
accountability. Each row written is itself a create event of its collection, as on Directus.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool import chunked, eventlog
from tidepool.db import pg_writes, sqlite_thread, system, system_meta
from tidepool.db.schema import SchemaOverview
from tidepool.db.sqlite_writes import compiled_insert
from tidepool.events import ChangeEvent, Tracked
from tidepool.query.model import Query
from tidepool.query.values import CONCEALED, conceal, serializer_for
from tidepool.services import pg_logged
from tidepool.services.base import TxContext
from tidepool.services.items import ItemsService

Swap = tuple[str, str]  # (what stands for a key's text in the rows, the key's text)
TRACKING_MODES = ("all", "activity")
_UPDATE_SPECIALS = frozenset({"date-updated", "user-updated", "role-updated"})
_REVISED = frozenset({"create", "update", "version_save"})  # actions that keep a revision under "all"


def tracking(schema: SchemaOverview, collection: str) -> str | None:
    """The collection's ``accountability``: ``"all"``, ``"activity"`` or None (nothing recorded)."""
    info = schema.collection(collection)
    meta = info.meta if info is not None else None
    if meta is not None and "accountability" in meta:
        value = meta["accountability"]
        return value if value in TRACKING_MODES else None
    value = system_meta.default(collection, "accountability")  # the history tables and presets: None
    return value if value in TRACKING_MODES else None


async def write(tx: TxContext, entries: Sequence[Tracked]) -> None:
    """Write the activity (and revisions) of ``entries`` inside ``tx``, skipped per collection setting; each
    row written is itself a create event of ``directus_activity`` / ``directus_revisions``, as on Directus
    (subscribers of those collections hear of it, permission-checked like any collection)."""
    for event in await _write_planned(tx, await _planned(tx, entries)):
        tx.tx.record(event)


async def _write_planned(tx: TxContext, planned: Sequence[Planned]) -> list[ChangeEvent]:
    """Insert the ``planned`` rows; their create events."""
    return [
        event for activity, revisions in planned for event in _created(*await _insert(tx.conn, activity, revisions))
    ]


async def sqlite_rows(
    tx: TxContext, entries: Sequence[Tracked]
) -> Callable[[sqlite3.Connection, Swap | None], list[ChangeEvent]] | None:
    """SQLite: ``write``'s rows as a function to run on aiosqlite's thread, in the write's last hand-off with
    the event log's append (``services/sqlite_finish.py``); it answers their create events. ``swap`` replaces a
    text standing for a key not yet known (``fast_create.Pending``) by the key's text. None when the statements
    cannot be sent that way (``write`` then runs as usual)."""
    pace = chunked.Pacer()
    batches = []
    for activity, revisions in await _planned(tx, entries):  # one per created item: the loop is let in between
        batches.append(await _sqlite_batch(tx.conn, activity, revisions))
        await pace.tick()
    ready = [batch for batch in batches if batch is not None]
    if len(ready) != len(batches):
        return None

    def run(db: sqlite3.Connection, swap: Swap | None) -> list[ChangeEvent]:
        return [event for batch in ready for event in _created(*batch(db, swap))]

    return run


async def write_postgresql_logged(
    tx: TxContext, entries: Sequence[Tracked], events: Sequence[ChangeEvent], origin: str | None
) -> list[ChangeEvent] | None:
    """PostgreSQL on asyncpg: ``write``, then the event log's ``append`` of ``events`` and the rows' own create
    events; for a single entry of a single key (a create, an update or a delete of one item) in ONE statement
    (``services/pg_logged.py``). The numbered events, or None when asyncpg is not used directly (then
    the caller runs ``write`` and ``eventlog.append``)."""
    if not pg_writes.serves(tx.conn):
        return None
    planned = await _planned(tx, entries)
    if len(planned) == 1 and len(planned[0][0]) == 1:
        activity, revisions = planned[0]
        numbered = await pg_logged.append_with_history(
            tx.conn, events, origin, activity[0], revisions[0] if revisions else None
        )
        if numbered is not None:
            return numbered
    created = await _write_planned(tx, planned)
    return await eventlog.append(tx.conn, [*events, *created], origin)


def creation_rows(schema: SchemaOverview, entry: Tracked) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """What ``write`` inserts for ``entry``, the create of ONE item whose key the database gives, without that
    key (the rows' ``item``: ``services/pg_create.py`` puts the new key there in SQL): the activity row and
    the revision (None when the collection keeps none); None when the collection records nothing."""
    mode = tracking(schema, entry.collection)
    if mode is None:
        return None
    activity = _activity(entry, None, dt.datetime.now(dt.UTC))
    del activity["item"]
    if mode != "all":
        return activity, None
    sent = _masked(schema, entry.collection, entry.delta)
    return activity, _revision(entry, sent, sent)


Planned = tuple[list[dict[str, Any]], list[dict[str, Any]] | None]  # activity rows, and their revisions


async def _planned(tx: TxContext, entries: Sequence[Tracked]) -> list[Planned]:
    """The rows to write per entry that its collection's ``accountability`` keeps."""
    now = dt.datetime.now(dt.UTC)
    planned: list[Planned] = []
    pace = chunked.Pacer()
    for entry in entries:  # one per created item of a batch: the event loop is let in between (``chunked``)
        await pace.tick()
        mode = tracking(tx.schema, entry.collection)
        if mode is None or not entry.keys:
            continue
        activity = await chunked.build(entry.keys, functools.partial(_activities, entry, now))
        revisions = await _revisions(tx, entry) if mode == "all" and entry.action in _REVISED else None
        planned.append((activity, revisions))
    return planned


def _created(activity_ids: list[Any], revision_ids: list[Any]) -> list[ChangeEvent]:
    """The create events of the rows written."""
    return [ChangeEvent(system.activity.name, "create", (key,)) for key in activity_ids] + [
        ChangeEvent(system.revisions.name, "create", (key,)) for key in revision_ids
    ]


async def _revisions(tx: TxContext, entry: Tracked) -> list[dict[str, Any]]:
    """One revision per key: the delta as sent (masked), and for an update the whole item after it."""
    after = await _after(tx, entry) if entry.read_after else {}
    sent = _masked(tx.schema, entry.collection, entry.delta)

    def revision(key: Any) -> dict[str, Any]:
        item = after.get(str(key))
        delta = sent if item is None else _with_generated(tx.schema, entry.collection, sent, item)
        return {**_revision(entry, sent if item is None else item, delta), "item": str(key)}

    return await chunked.build(entry.keys, lambda keys: [revision(key) for key in keys])


def _revision(entry: Tracked, data: Any, delta: Any) -> dict[str, Any]:
    """A revision row of ``entry`` but its ``item`` (the key's text)."""
    return {"collection": entry.collection, "data": data, "delta": delta, "version": entry.version}


async def _insert(
    conn: AsyncConnection, activity: list[dict[str, Any]], revisions: list[dict[str, Any]] | None
) -> tuple[list[Any], list[Any]]:
    """Insert the activity rows and their revisions (row ``i`` of each for key ``i``); their ids. Statements do
    not grow with the keys: one INSERT per table (PostgreSQL: one in all for a single key, the activity's
    INSERT ... RETURNING feeding the revision's)."""
    if revisions is not None and len(activity) == 1 and conn.dialect.name == "postgresql":
        activity_id, revision_id = await _insert_pair(conn, activity[0], revisions[0])
        return [activity_id], [revision_id]
    if conn.dialect.name == "sqlite":
        inserted = await _insert_sqlite(conn, activity, revisions)
        if inserted is not None:
            return inserted
    activity_ids = await _insert_rows(conn, system.activity, activity, "item")
    if revisions is None:
        return activity_ids, []
    for row, activity_id in zip(revisions, activity_ids, strict=True):
        row["activity"] = activity_id
    return activity_ids, await _insert_rows(conn, system.revisions, revisions, "activity")


async def _insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]], by: str) -> list[Any]:
    """Insert ``rows``; the id of each, in order. Several rows go in one INSERT ... RETURNING where the dialect
    has it, its ids matched to the rows by the ``by`` column (an order of returned rows is not promised)."""
    if len(rows) == 1:
        return [_inserted_key(await conn.execute(sa.insert(table), rows[0]))]
    if conn.dialect.insert_executemany_returning:  # a chunk per statement: each binds its rows in one step
        ids: dict[str, Any] = {}
        for chunk in chunked.slices(rows):
            result = await conn.execute(sa.insert(table).returning(table.c.id, table.c[by]), list(chunk))
            ids.update((str(row[1]), row[0]) for row in result)
        return [ids[str(row[by])] for row in rows]
    return [_inserted_key(await conn.execute(sa.insert(table), row)) for row in rows]


async def _insert_pair(
    conn: AsyncConnection, activity: Mapping[str, Any], revision: Mapping[str, Any]
) -> tuple[Any, Any]:
    """One activity row and its revision in one statement (``_pair``); on asyncpg run by the driver directly
    (``db/pg_writes.py``: this statement was a third of a create's SQLAlchemy time)."""
    values = {f"a_{name}": value for name, value in activity.items()} | {
        f"r_{name}": value for name, value in revision.items()
    }
    if pg_writes.serves(conn):
        prepared = _pair_prepared(tuple(activity), tuple(revision), conn.dialect)
        if prepared is not None:
            row = await pg_writes.fetchrow(conn, prepared, values)
            assert row is not None
            return row[1], row[0]
    made = (await conn.execute(_pair(tuple(activity), tuple(revision)), values)).one()
    return made.activity, made.id


@functools.lru_cache(maxsize=8)
def _pair(activity: tuple[str, ...], revision: tuple[str, ...]) -> sa.Insert:
    """INSERT the activity row (``a_<column>`` parameters), and from its new id the revision (``r_<column>``);
    RETURNING the revision's ``id`` and ``activity``."""
    act, rev = system.activity.c, system.revisions.c
    made = (
        sa.insert(system.activity)
        .values({name: sa.bindparam(f"a_{name}", type_=act[name].type) for name in activity})
        .returning(act.id)
        .cte("made")
    )
    values = [sa.bindparam(f"r_{name}", type_=rev[name].type) for name in revision]
    return (
        sa.insert(system.revisions)
        .from_select(["activity", *revision], sa.select(made.c.id, *values))
        .returning(rev.id, rev.activity)
    )


@functools.lru_cache(maxsize=8)
def _pair_prepared(
    activity: tuple[str, ...], revision: tuple[str, ...], dialect: sa.Dialect
) -> pg_writes.Statement | None:
    try:
        return pg_writes.Statement.of(_pair(activity, revision), dialect)
    except ValueError:
        return None


async def _insert_sqlite(
    conn: AsyncConnection, activity: list[dict[str, Any]], revisions: list[dict[str, Any]] | None
) -> tuple[list[Any], list[Any]] | None:
    """SQLite: every activity row and its revision in ONE hand-off to aiosqlite's thread (``db.sqlite_thread``),
    statements compiled once: through SQLAlchemy each row cost three or four trips to that thread, each waiting
    for a turn of the event loop while the write holds the database (bench/README.md, ``create``). None when
    the statements cannot be sent that way (then the portable path runs)."""
    batch = await _sqlite_batch(conn, activity, revisions)
    return None if batch is None else await sqlite_thread.run(conn, lambda db: batch(db, None))


async def _sqlite_batch(
    conn: AsyncConnection, activity: list[dict[str, Any]], revisions: list[dict[str, Any]] | None
) -> Callable[[sqlite3.Connection, Swap | None], tuple[list[Any], list[Any]]] | None:
    """What ``_insert_sqlite`` runs in the driver's thread (the activity ids and the revision ids, in order),
    each value equal to ``swap[0]`` sent as ``swap[1]``; None when the statements cannot be sent that way. The
    rows' values go through their bind processors (a revision's JSON) a chunk at a time (``tidepool.chunked``):
    for 10,000 items that was one step of half a second during which no other client was served."""
    act = compiled_insert(system.activity, tuple(activity[0]), conn.dialect)
    rev = (
        compiled_insert(system.revisions, ("activity", *(k for k in revisions[0] if k != "activity")), conn.dialect)
        if revisions
        else None
    )
    if act.positions is None or (rev is not None and rev.positions is None):
        return None
    act_rows = await chunked.build(activity, act.rows)
    rev_rows = (
        await chunked.build(revisions or [], lambda rows: rev.rows([{**row, "activity": None} for row in rows]))
        if rev is not None
        else []
    )
    link = list(rev.positions or ()).index("activity") if rev is not None else 0

    def run(db: sqlite3.Connection, swap: Swap | None) -> tuple[list[Any], list[Any]]:
        activity_ids: list[Any] = []
        revision_ids: list[Any] = []
        for i, params in enumerate(act_rows):
            activity_ids.append(db.execute(act.sql, _swapped(params, swap)).lastrowid)
            if rev is not None:
                linked = _swapped((*rev_rows[i][:link], activity_ids[-1], *rev_rows[i][link + 1 :]), swap)
                revision_ids.append(db.execute(rev.sql, linked).lastrowid)
        return activity_ids, revision_ids

    return run


def _swapped(params: Sequence[Any], swap: Swap | None) -> Sequence[Any]:
    if swap is None:
        return params
    stand_in, key = swap
    return tuple(key if value == stand_in else value for value in params)


def _inserted_key(result: sa.CursorResult[Any]) -> Any:
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT always reports it
    return key[0]


def _activities(entry: Tracked, now: dt.datetime, keys: Sequence[Any]) -> list[dict[str, Any]]:
    return [_activity(entry, key, now) for key in keys]


def _activity(entry: Tracked, key: Any, now: dt.datetime) -> dict[str, Any]:
    who = entry.who
    return {
        "action": entry.action,
        "user": who.user,
        "timestamp": now,
        "ip": who.ip,
        "user_agent": who.user_agent,
        "collection": entry.collection,
        "item": str(key),
        "origin": who.origin,
    }


async def _after(tx: TxContext, entry: Tracked) -> dict[str, dict[str, Any]]:
    """The items as they are now (every field, admin view, as the API serializes them), by key as text."""
    info = tx.schema.collection(entry.collection)
    if info is None:
        return {}
    # keys as the column stores them: a schema event's key may be no key of its table (a field's name)
    rows = await ItemsService(tx.as_admin(), entry.collection).read_many(list(entry.keys), Query(limit=-1))
    return {str(row.get(info.primary_key)): row for row in rows}


def _with_generated(
    schema: SchemaOverview, collection: str, delta: Mapping[str, Any] | None, item: Mapping[str, Any]
) -> dict[str, Any] | None:
    """An update's delta with the values the server filled in (``date-updated``, ``user-updated``), as
    Directus's delta holds the payload after its special fields were applied."""
    info = schema.collection(collection)
    if info is None:
        return dict(delta) if delta else None
    filled = {
        name: item[name]
        for name, field in info.fields.items()
        if name in item and _UPDATE_SPECIALS.intersection(field.special)
    }
    merged = {**(delta or {}), **filled}
    return merged or None


def _masked(schema: SchemaOverview, collection: str, delta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The delta as Directus stores it: None when empty, secrets (hash and concealed fields) masked."""
    if not delta:
        return None
    info = schema.collection(collection)
    if info is None:
        return dict(delta)
    out = dict(delta)
    for name, value in delta.items():
        field = info.fields.get(name)
        if field is not None and value is not None and serializer_for(field, collection) is conceal:
            out[name] = CONCEALED
    return out
