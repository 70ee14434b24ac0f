"""A create of one item on PostgreSQL as ONE statement, a transaction of its own: no BEGIN, no COMMIT trip.

A create in a transaction made five round trips on its connection (BEGIN, the item's INSERT, the history's
rows, the event log's numbering, COMMIT), each a wake-up of the event loop and the driver's work, and the
event log's counter row was held from its UPDATE across the COMMIT's trip: under 16 writers backends queued
on it (bench/README.md, ``create`` and ``workers``). Here the item's INSERT ... RETURNING, the history rows
that name its new key, the counter's move and the log's rows are the CTEs of one statement
(``services/pg_logged.py``), sent outside any transaction: PostgreSQL runs it as its own transaction and
commits it when it is done, so the counter is held only while that statement finishes and commits, never
across a round trip, and the whole write is one trip. The reply's read follows on the same connection, after
the commit (``fast_create.Reply``; if it fails, the caller reads back as usual: the write stands).

What stays as it was: the payload's checks, values and their binding (the caller's, as for any create); the
database's refusals, raised as ``pg_writes.fetchrow`` raises them (``ItemsService._translated`` maps them);
the events, numbered in commit order with the same bodies, emitted after the commit (the write counts among
the runtime's open writes until then, and a caller cancelled meanwhile does not stop it); the history rows.

Only a create that needs nothing else takes this path (``create`` answers None before anything is sent, and
the caller runs the transaction as before): asyncpg used directly (``pg_writes.serves``), no transaction to
join, a key the database generates as an integer (the events' bodies and the history's ``item`` are its text
in SQL), values that are no SQL expressions, no column default computed in Python, and no collection whose
writes move a version marker (``services/versions.py``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tidepool import eventlog
from tidepool.db import direct, pg_writes
from tidepool.db.schema import CollectionInfo
from tidepool.events import ChangeEvent, Tracked
from tidepool.services import fast_create, pg_logged, versions
from tidepool.services.base import ServiceContext, TxContext

log = logging.getLogger(__name__)
_ITEM = "item"  # the item's CTE's name and its parameters' prefix


def serves(ctx: ServiceContext, info: CollectionInfo, values: Mapping[str, Any]) -> bool:
    """Whether a create of ``values`` (bindable) in ``info``'s table may be one statement (see the module)."""
    engine = ctx.engine
    if isinstance(ctx, TxContext) or engine.dialect.driver != "asyncpg" or not direct.supported(engine):
        return False
    key = info.table.c[info.primary_key]
    if values.get(info.primary_key) is not None or not info.fields[info.primary_key].auto_increment:
        return False
    if not isinstance(key.type, sa.Integer) or info.name in versions.KIND_OF_COLLECTION:
        return False
    return not any(isinstance(value, sa.sql.ClauseElement) for value in values.values())


async def create(
    ctx: ServiceContext,
    info: CollectionInfo,
    item: Mapping[str, Any],
    values: Mapping[str, Any],
    reply: fast_create.Reply | None,
) -> tuple[Any] | None:
    """Create the row of ``values`` (bindable, ``serves``) and record it as ``ItemsService._insert`` does
    (``item``: the payload as sent, for its event and revision), in one statement; ``(key,)``, with ``reply``
    read, or None when the statement cannot be made (nothing was sent)."""
    from tidepool.services import history  # a cycle: history reads through ItemsService, which calls this

    rows = history.creation_rows(ctx.schema, _tracked(ctx, info, item)) if ctx.tracked else None
    activity, revision = rows if rows is not None else (None, None)
    statement = _statement(
        info.table,
        tuple(values),
        info.primary_key,
        tuple(activity) if activity is not None else None,
        tuple(revision) if revision is not None else None,
        ctx.engine.dialect,
    )
    if statement is None:
        return None
    made = [info.name, *pg_logged.HISTORY[: (activity is not None) + (revision is not None)]]
    parameters = {f"{_ITEM}_{name}": value for name, value in values.items()}
    parameters |= pg_logged.history_values(activity or {}, revision) | pg_logged.log_values([], made, ctx.origin)
    then = _reading(reply) if reply is not None else None
    run = asyncio.ensure_future(_written(ctx, statement, parameters, made, item, then))
    run.add_done_callback(_observed)
    return await asyncio.shield(run)  # a caller cancelled now leaves the write to finish and emit its events


def _observed(run: asyncio.Future[tuple[Any]]) -> None:
    """A write whose caller was cancelled: its failure, if any, was nobody's to hear (the log has it)."""
    if not run.cancelled() and run.exception() is not None:
        log.debug("a create whose caller left failed", exc_info=run.exception())


async def _written(
    ctx: ServiceContext,
    statement: pg_writes.Statement,
    parameters: Mapping[str, Any],
    made: list[str],
    item: Mapping[str, Any],
    then: pg_writes.Then | None,
) -> tuple[Any]:
    """Run the statement, then emit its events, numbered; the new key."""
    with ctx.writes.held():  # a stopping server waits for the events of this write
        answer = await pg_writes.fetchrow_alone(ctx.engine, statement, parameters, then)
        assert answer is not None  # the counter row, the item and its history rows: one row
        last, key, *history_keys = answer
        events = [ChangeEvent(made[0], "create", (key,), payload=dict(item), origin=ctx.origin)]
        events += [
            ChangeEvent(name, pg_logged.CREATE, (made_key,), origin=ctx.origin)
            for name, made_key in zip(made[1:], history_keys, strict=True)
        ]
        await ctx.events.emit(eventlog.number(events, int(last)))
    return (key,)


def _tracked(ctx: ServiceContext, info: CollectionInfo, item: Mapping[str, Any]) -> Tracked:
    """The history entry of the create (its key left out: ``history.creation_rows`` does not use it)."""
    return Tracked.of_event(ChangeEvent(info.name, "create", (None,), payload=dict(item)), ctx.accountability)


def _reading(reply: fast_create.Reply) -> pg_writes.Then:
    """Read ``reply`` for the created row, on the write's connection after its commit."""

    async def read(driver: Any, answer: list[Any] | None) -> None:
        assert answer is not None
        statement = reply.read.statement(answer[1])
        reply.items = [] if statement is None else reply.read.items(await driver.fetch(statement[0], *statement[1]))

    return read


@functools.lru_cache(maxsize=256)
def _statement(
    table: sa.Table,
    keys: tuple[str, ...],
    key: str,
    activity: tuple[str, ...] | None,
    revision: tuple[str, ...] | None,
    dialect: sa.Dialect,
) -> pg_writes.Statement | None:
    """The item's INSERT (``item_<key>`` parameters) RETURNING its key, its history rows naming that key, and
    the log's CTEs; SELECTing the counter's new value, the key and the history rows' ids. None when it cannot
    be run that way (a column default computed in Python)."""
    row = {name: sa.bindparam(f"{_ITEM}_{name}", type_=table.c[name].type) for name in keys}
    inserted = sa.insert(table).values(row).returning(table.c[key].label("id")).cte(f"tidepool_{_ITEM}")
    history = pg_logged.history_ctes(activity, revision, sa.cast(inserted.c.id, sa.Text)) if activity else []
    made = [inserted, *(cte for _, cte in history)]
    bump, logged = pg_logged.log_ctes(made, given=False)
    answer = sa.select(bump.c.value, *(cte.c.id for cte in made)).add_cte(logged)
    try:
        return pg_writes.Statement.of(answer, dialect)
    except (ValueError, sa.exc.CompileError):
        return None
