"""``POST /utils/sort/{collection}``: Directus's manual sort, moving one item to another's place in the
collection's sort field (``directus_collections.sort_field``).

As in Directus: rows without a sort value are numbered after the highest one, duplicate values renumber the
whole collection 1..n, then ``item`` takes ``to``'s value and the rows between close up by one. A non-admin
needs update permission on the collection including the sort field, as in Directus; unlike Directus (which
applies no item rule here), every row the move would change must also be inside the caller's update rule,
else FORBIDDEN and nothing moves: permissions are checked on every write, and a renumbering is one.

Unlike Directus, which writes with raw SQL and emits only the ``items.sort`` hook, every changed row is
written through ``ItemsService`` in one transaction: payload casting, special fields and one ``update``
event per moved row, so subscribers see the new order. As on Directus, a move leaves no activity and no
revisions (the context is not ``tracked``): Directus's raw writes record none, and its activity log would
otherwise list every renumbered row as an update the caller made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.items import ItemsService

Key = Any


def require_collection(ctx: ServiceContext, collection: str) -> None:
    """Directus's first check, before the body is read: the collection exists (whoever asks)."""
    if ctx.schema.collection(collection) is None:
        raise ForbiddenError.collection(collection)


def sort_field_of(ctx: ServiceContext, collection: str) -> str:
    require_collection(ctx, collection)
    info = ctx.schema.collection(collection)
    assert info is not None
    field = (info.meta or {}).get("sort_field")
    if not field or field not in info.fields:
        raise InvalidPayloadError(f'Collection "{collection}" doesn\'t have a sort field')
    return str(field)


def check_access(ctx: ServiceContext, collection: str, field: str) -> None:
    """Update on the collection, and on the sort field itself."""
    if ctx.access.admin:
        return
    rules = ctx.access.rules(collection, Action.UPDATE)
    if not rules:
        raise ForbiddenError.action("update", collection)
    if not any(rule.fields is None or "*" in rule.fields or field in rule.fields for rule in rules):
        raise ForbiddenError()


async def move(ctx: ServiceContext, collection: str, item: Key, to: Key) -> None:
    field = sort_field_of(ctx, collection)
    check_access(ctx, collection, field)
    async with replace(ctx.as_admin(), tracked=False).transaction() as tx:
        order = await _current_order(tx, collection, field)
        values = _renumbered(order)
        source, target = _value_of(values, item), _value_of(values, to)
        moved = _moved(values, str(item), source, target)
        originals = {str(key): (key, value) for key, value in order.items()}
        changes = {originals[text][0]: value for text, value in moved.items() if originals[text][1] != value}
        await ItemsService(ctx, collection).lock_in_rule(tx, list(changes), Action.UPDATE)
        service = ItemsService(tx, collection)
        for key, value in changes.items():
            await service.update_one(key, {field: value})


async def _current_order(tx: TxContext, collection: str, field: str) -> dict[Key, int | None]:
    """Every row's key and sort value, in sort order (NULLs last), keys as the table gives them: every row
    locked first, in key order, until the move commits.

    A move renumbers from the order it reads, so two moves must not read the same order: the second one waits
    here, then reads what the first one left (PostgreSQL's READ COMMITTED takes a new snapshot per statement;
    InnoDB's locking read sees the latest commit). Locked in key order, so two moves (and the item writes they
    make, ``ItemsService``'s ``FOR UPDATE`` in key order) never wait on each other in a cycle; a move's own
    ``UPDATE`` statements come in another order, which deadlocked two moves before. SQLite runs one writer at
    a time and ignores ``FOR UPDATE``."""
    info = tx.schema.collection(collection)
    assert info is not None
    table = info.table
    pk, sort = table.c[info.primary_key], table.c[field]
    await tx.conn.execute(sa.select(pk).order_by(pk).with_for_update())
    statement = sa.select(pk, sort).order_by(sort.is_(None), sort, pk).with_for_update()
    rows = (await tx.conn.execute(statement)).all()
    return {row[0]: row[1] for row in rows}


def _renumbered(order: Mapping[Key, int | None]) -> dict[str, int]:
    """Sort values with no NULL and no duplicate, keyed by the key's text (how a request names it)."""
    values = {str(key): value for key, value in order.items()}
    highest = max((v for v in values.values() if v is not None), default=0)
    for key, value in values.items():
        if value is None:
            highest += 1
            values[key] = highest
    numbers = list(values.values())
    if len(set(numbers)) != len(numbers):
        return {key: position for position, key in enumerate(values, start=1)}
    return {key: int(value) for key, value in values.items() if value is not None}


def _value_of(values: Mapping[str, int], key: Key) -> int:
    value = values.get(str(key))
    if value is None:
        raise ForbiddenError()
    return value


def _moved(values: Mapping[str, int], item: str, source: int, target: int) -> dict[str, int]:
    moved = dict(values)
    moved[item] = target
    for key, value in values.items():
        if key == item:
            continue
        if source < target and source < value <= target:
            moved[key] = value - 1
        elif target < source and target <= value <= source:
            moved[key] = value + 1
    return moved
