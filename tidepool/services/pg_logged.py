"""PostgreSQL: rows inserted and their events logged in ONE statement, on asyncpg directly.

A PostgreSQL write paid one round trip per statement: the item's INSERT, the history's activity and revision
(one statement), the event log's numbering and rows (one statement), between a BEGIN and a COMMIT. Each trip
costs the server's event loop a wake-up and the driver's work, and the event log's counter row, locked from
its UPDATE to the COMMIT, is held across every trip that follows its UPDATE: with 16 writers, 5-9 backends
waited on it (bench/README.md, ``workers``). Here the statements that follow one another become the CTEs of
one statement (PostgreSQL runs a data-modifying CTE once and to completion even if nothing reads it):

- ``append_with_history``: a write's single history entry (one activity row, its revision if kept) and the
  log's append of the write's events followed by those rows' own create events, in the write's transaction;
- ``history_ctes`` and ``log_ctes``, which ``services/pg_create.py`` puts after a create's INSERT: a create
  then is one statement in a transaction of its own (no BEGIN, no COMMIT trip), and the counter row is held
  only while that statement finishes and commits, never across a round trip.

The events of rows inserted in the statement need the rows' new ids, which the database gives: their bodies
are ``eventlog.encode_body``'s text around the id (``CAST(id AS TEXT)``, an integer, as JSON writes it). Every
value is a bound parameter; each statement is compiled once per column set by SQLAlchemy, and run with its
bind processors (``db/pg_writes.py``). The numbering is the log's own: the counter moved by the number of
events, in the statement, so numbers follow commit order and stay gap-free (``tidepool.eventlog``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool import eventlog
from tidepool.db import pg_writes, system
from tidepool.events import ChangeEvent

CREATE: Final = "create"
HISTORY = (system.activity.name, system.revisions.name)  # the collections of the history rows' events
_ACTIVITY, _REVISION = "activity", "revision"  # the history CTEs' parameters' prefixes (names: tidepool_...)
_BODY_START = '{"keys":['


def body_around_id(origin: str | None) -> tuple[str, str]:
    """The text before and after the id in the body of a create event of one row (``encode_body`` of it)."""
    body = encode_without_keys(origin)
    assert body.startswith(_BODY_START + "]")  # the keys first: the id goes right after the bracket
    return _BODY_START, body[len(_BODY_START) :]


@functools.lru_cache(maxsize=64)
def encode_without_keys(origin: str | None) -> str:
    """``encode_body`` of a create event without keys, per origin (one per process)."""
    return eventlog.encode_body(ChangeEvent("", CREATE, (), origin=origin)).decode()


def history_ctes(
    activity: Sequence[str], revision: Sequence[str] | None, item: sa.ColumnElement[Any] | None = None
) -> list[tuple[str, Any]]:
    """The activity row's INSERT (``activity_<column>`` parameters) and its revision's (``revision_<column>``),
    when kept, as CTEs named after them, each RETURNING ``id``; ``item``: the SQL the rows' ``item`` column
    takes (a created row's new key), instead of a parameter. In the order their events are logged."""
    made = _inserted(system.activity, _ACTIVITY, activity, item)
    ctes: list[tuple[str, Any]] = [(system.activity.name, made)]
    if revision is not None:
        ctes.append((system.revisions.name, _inserted(system.revisions, _REVISION, revision, item, made.c.id)))
    return ctes


def _inserted(
    table: sa.Table,
    prefix: str,
    names: Sequence[str],
    item: sa.ColumnElement[Any] | None,
    activity: sa.ColumnElement[Any] | None = None,
) -> Any:
    """``table``'s INSERT of one row as a CTE named ``tidepool_<prefix>``, RETURNING ``id``: each of ``names``
    from its ``<prefix>_<name>`` parameter, ``item`` (when given) from that SQL instead, and ``activity`` (when
    given: the activity row's new id) first."""
    named = [name for name in names if name != "item" or item is None]
    columns: list[str] = [*(["activity"] if activity is not None else []), *named]
    values: list[Any] = [
        *([activity] if activity is not None else []),
        *(sa.bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in named),
    ]
    if item is not None:
        columns, values = [*columns, "item"], [*values, item]
    return sa.insert(table).from_select(columns, sa.select(*values)).returning(table.c.id).cte(f"tidepool_{prefix}")


def history_values(activity: Mapping[str, Any], revision: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters of ``history_ctes`` for these rows."""
    values = {f"{_ACTIVITY}_{name}": value for name, value in activity.items()}
    return values | {f"{_REVISION}_{name}": value for name, value in (revision or {}).items()}


def log_ctes(made: Sequence[Any], given: bool) -> tuple[Any, Any]:
    """The counter's move (CTE ``bump``, RETURNING ``value``) and the log's INSERT (CTE ``logged``): the given
    events (when ``given``: ``log_values``'s arrays) numbered first, then one create event per CTE of ``made``,
    in order, whose body carries that CTE's ``id``."""
    log, counters = system.event_log, system.event_counters
    count = sa.bindparam("log_count", type_=sa.BigInteger)
    bump = (
        sa.update(counters)
        .where(counters.c.name == sa.bindparam("log_name", type_=counters.c.name.type))
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
        .cte("tidepool_bump")
    )
    head, tail = sa.bindparam("log_head", type_=sa.Text), sa.bindparam("log_tail", type_=sa.Text)
    action = sa.bindparam("log_create", type_=sa.Text)
    parts: list[Any] = [_given()] if given else []
    for i, cte in enumerate(made):
        collection = sa.bindparam(f"log_{i}_collection", type_=sa.Text)
        number = sa.bindparam(f"log_{i}_n", type_=sa.BigInteger)
        body = head + sa.cast(cte.c.id, sa.Text) + tail
        parts.append(
            sa.select(collection.label("collection"), action.label("action"), body.label("body"), number.label("n"))
        )
    union: Any = sa.union_all(*parts) if len(parts) > 1 else parts[0]
    rows = union.subquery("tidepool_events")
    now = sa.bindparam("log_now", type_=sa.BigInteger)
    numbered = sa.select(bump.c.value - count + rows.c.n, rows.c.collection, rows.c.action, rows.c.body, now)
    columns = ["seq", "collection", "action", "body", "created_at"]
    logged = sa.insert(log).from_select(columns, numbered.select_from(bump.join(rows, sa.true())))
    return bump, logged.cte("tidepool_logged")


def _given() -> Any:
    """The given events' rows: ``unnest`` of their collections, actions and bodies, numbered from 1."""
    texts = sa.ARRAY(sa.Text)
    arrays = [sa.bindparam(f"log_{name}", type_=texts) for name in ("collections", "actions", "bodies")]
    named = [sa.column(name, sa.Text) for name in ("collection", "action", "body")]
    given = sa.func.unnest(*arrays).table_valued(*named, with_ordinality="n").render_derived()
    return sa.select(given.c.collection, given.c.action, given.c.body, given.c.n)


def log_values(rows: Sequence[Mapping[str, Any]], made: Sequence[str], origin: str | None) -> dict[str, Any]:
    """The parameters of ``log_ctes`` for the given events' ``rows`` (``eventlog.stamp``'s) and the rows
    inserted in the statement, by collection (``made``)."""
    head, tail = body_around_id(origin)
    values: dict[str, Any] = {
        "log_count": len(rows) + len(made),
        "log_name": eventlog.LAST,
        "log_head": head,
        "log_tail": tail,
        "log_create": CREATE,
        "log_now": int(time.time() * 1000),
        "log_collections": [row["collection"] for row in rows],
        "log_actions": [row["action"] for row in rows],
        "log_bodies": [row["body"] for row in rows],
    }
    for i, collection in enumerate(made):
        values[f"log_{i}_collection"] = collection
        values[f"log_{i}_n"] = len(rows) + 1 + i
    return values


@functools.lru_cache(maxsize=16)
def _with_history(
    activity: tuple[str, ...], revision: tuple[str, ...] | None, dialect: sa.Dialect
) -> pg_writes.Statement | None:
    """The history CTEs and the log's, SELECTing the counter's new value and the history rows' ids."""
    made = history_ctes(activity, revision)
    bump, logged = log_ctes([cte for _, cte in made], given=True)
    answer = sa.select(bump.c.value, *(cte.c.id for _, cte in made)).add_cte(logged)
    try:
        return pg_writes.Statement.of(answer, dialect)
    except (ValueError, sa.exc.CompileError):
        return None


async def append_with_history(
    conn: AsyncConnection,
    events: Sequence[ChangeEvent],
    origin: str | None,
    activity: Mapping[str, Any],
    revision: Mapping[str, Any] | None,
) -> list[ChangeEvent] | None:
    """Insert one ``activity`` row and its ``revision`` (or none), then ``eventlog.append`` ``events`` and
    those rows' create events after them, in ONE statement of ``conn``'s transaction; the numbered events, as
    ``append`` answers for ``[*events, <activity's create>, <revision's create>]``. None when this path does
    not serve ``conn`` (then the caller writes the history and appends as usual)."""
    if not pg_writes.serves(conn):
        return None
    statement = _with_history(tuple(activity), tuple(revision) if revision is not None else None, conn.dialect)
    if statement is None:
        return None
    stamped, rows = eventlog.stamp(events, origin)
    made = list(HISTORY if revision is not None else HISTORY[:1])
    values = history_values(activity, revision) | log_values(rows, made, origin)
    answer = await pg_writes.fetchrow(conn, statement, values)
    assert answer is not None  # one counter row, one activity row and its revision: one row
    created = [ChangeEvent(name, CREATE, (key,), origin=origin) for name, key in zip(made, answer[1:], strict=True)]
    return eventlog.number([*stamped, *created], int(answer[0]))
