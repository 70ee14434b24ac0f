"""The shared shape of the account collections' services (users, roles, policies, permissions, access).

Each is a thin layer over ``ItemsService`` for its ``directus_*`` table, so every list gets the full query
language and every write the payload casting, validation and constraint errors. What this layer adds:

- writes are admin-only (``FORBIDDEN`` otherwise), reads go through the reader with the caller's access;
- ``prepare`` hooks per collection (password/token hashing, generated uuid keys);
- o2m aliases written inline (``users.policies``, ``roles.policies``, ``policies.permissions``): a list
  replaces the related set (rows left out are deleted, as Directus's ``one_deselect_action: delete``), an
  object ``{"create": [...], "update": [...], "delete": [...]}`` edits it;
- every write records events on its ``directus_*`` collection, which moves the ``access`` version marker in the
  same transaction; after the commit this process drops its access caches at once, and every other process
  within ``CACHE_SYNC_INTERVAL`` (``tidepool.services.versions``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.items import ItemsService

Key = Any


class AccountItems:
    """Admin-written, permission-read items of one account collection."""

    collection: ClassVar[str]
    # alias -> (related collection, its foreign key pointing here)
    o2m: ClassVar[Mapping[str, tuple[str, str]]] = {}
    uuid_key: ClassVar[bool] = True
    # Column defaults the table declares on the Python side only (so introspection cannot see them).
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.items = ItemsService(ctx, self.collection)

    # ---- reads --------------------------------------------------------------------------------------

    async def read_by_query(self, query: Query) -> list[dict[str, Any]]:
        return await self.items.read_by_query(query)

    async def read_one(self, key: Key, query: Query | None = None) -> dict[str, Any]:
        return await self.items.read_one(key, query)

    async def read_many(self, keys: Sequence[Key], query: Query | None = None) -> list[dict[str, Any]]:
        return await self.items.read_many(keys, query)

    async def read_meta(self, query: Query) -> dict[str, Any]:
        return await self.items.read_meta(query)

    # ---- writes -------------------------------------------------------------------------------------

    async def create_one(self, data: Any) -> Key:
        return (await self.create_many([data]))[0]

    async def create_many(self, items: Any) -> list[Key]:
        batch = _list(items)
        self._require_admin()
        async with self.ctx.transaction() as tx:
            service = ItemsService(tx, self.collection)
            keys = []
            for item in batch:
                values, nested = self._split(self.prepare(_object(item), creating=True))
                key = await service.create_one(values)
                await self._write_nested(tx, key, nested)
                keys.append(key)
        return keys

    async def update_one(self, key: Key, data: Any) -> Key:
        return (await self.update_many([key], data))[0]

    async def update_many(self, keys: Sequence[Key], data: Any) -> list[Key]:
        self._require_admin()
        key_list = _list(keys)
        values, nested = self._split(self.prepare(_object(data), creating=False))
        async with self.ctx.transaction() as tx:
            service = ItemsService(tx, self.collection)
            if values or not nested:
                key_list = await service.update_many(key_list, values)
            else:
                await self._require_existing(tx, key_list)
            for key in key_list:
                await self._write_nested(tx, key, nested)
        return key_list

    async def update_batch(self, items: Any) -> list[Key]:
        self._require_admin()
        pk = self._primary_key()
        keys: list[Key] = []
        async with self.ctx.transaction() as tx:
            scoped = type(self)(tx)
            for item in _list(items):
                row = dict(_object(item))
                if row.get(pk) is None:
                    raise InvalidPayloadError(f'"{pk}" is required')
                key = row.pop(pk)
                keys.extend(await scoped.update_many([key], row))
        return keys

    async def update_by_query(self, query: Query, data: Any) -> list[Key]:
        self._require_admin()
        keys = await self._keys_by_query(query)
        return await self.update_many(keys, data) if keys else []

    async def delete_one(self, key: Key) -> Key:
        return (await self.delete_many([key]))[0]

    async def delete_many(self, keys: Sequence[Key]) -> list[Key]:
        self._require_admin()
        deleted = await self.items.delete_many(_list(keys))
        return deleted

    async def delete_by_query(self, query: Query) -> list[Key]:
        self._require_admin()
        deleted = await self.items.delete_by_query(query)
        return deleted

    # ---- hooks and helpers --------------------------------------------------------------------------

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """Collection-specific changes to a payload before it is written; default: generate uuid keys."""
        values = {**self.defaults, **data} if creating else dict(data)
        if creating and self.uuid_key and values.get(self._primary_key()) is None:
            values[self._primary_key()] = str(uuid.uuid4())
        return values

    def _require_admin(self) -> None:
        if not self.ctx.access.admin:
            raise ForbiddenError()

    def _primary_key(self) -> str:
        info = self.ctx.schema.collection(self.collection)
        if info is None:
            raise ForbiddenError.collection(self.collection)
        return info.primary_key

    def _split(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        nested = {alias: values.pop(alias) for alias in list(values) if alias in self.o2m}
        return values, nested

    async def _keys_by_query(self, query: Query) -> list[Key]:
        pk = self._primary_key()
        rows = await self.items.read_by_query(query.replace(fields=(pk,), limit=query.limit or -1))
        return [row[pk] for row in rows]

    async def _require_existing(self, tx: TxContext, keys: Sequence[Key]) -> None:
        found = await ItemsService(tx, self.collection).read_many(keys, Query(fields=(self._primary_key(),)))
        if len(found) != len(set(map(str, keys))):
            raise ForbiddenError()

    async def _write_nested(self, tx: TxContext, key: Key, nested: Mapping[str, Any]) -> None:
        for alias, value in nested.items():
            related, fk = self.o2m[alias]
            await write_o2m(tx, related, fk, key, value, alias)


async def write_o2m(tx: TxContext, related: str, fk: str, parent: Key, value: Any, alias: str) -> None:
    """Apply an o2m alias value to the rows of ``related`` whose ``fk`` is ``parent``."""
    if value is None:
        value = []
    if isinstance(value, Mapping):
        await _o2m_detailed(tx, related, fk, parent, value)
        return
    if not isinstance(value, list):
        raise InvalidPayloadError(f'"{alias}" must be an array')
    service = ItemsService(tx, related)
    info = tx.schema.collection(related)
    assert info is not None
    pk = info.primary_key
    kept: list[Key] = []
    for item in value:
        if isinstance(item, Mapping) and item.get(pk) is not None:
            data = {k: v for k, v in item.items() if k != pk}
            kept.append(await service.update_one(item[pk], {**data, fk: parent}))
        elif isinstance(item, Mapping):
            kept.append(await service.create_one(_with_uuid(info.fields, pk, {**item, fk: parent})))
        else:
            kept.append(await service.update_one(item, {fk: parent}))
    await _delete_others(tx, related, fk, parent, kept)


async def _o2m_detailed(tx: TxContext, related: str, fk: str, parent: Key, value: Mapping[str, Any]) -> None:
    service = ItemsService(tx, related)
    info = tx.schema.collection(related)
    assert info is not None
    pk = info.primary_key
    for item in _list(value.get("create") or []):
        await service.create_one(_with_uuid(info.fields, pk, {**_object(item), fk: parent}))
    for item in _list(value.get("update") or []):
        row = dict(_object(item))
        await service.update_one(row.pop(pk), {**row, fk: parent})
    deletes = _list(value.get("delete") or [])
    if deletes:
        await service.delete_many(deletes)


async def _delete_others(tx: TxContext, related: str, fk: str, parent: Key, kept: Sequence[Key]) -> None:
    info = tx.schema.collection(related)
    assert info is not None
    table, pk = info.table, info.table.c[info.primary_key]
    condition = table.c[fk] == parent
    if kept:
        condition = sa.and_(condition, pk.not_in([str(k) if isinstance(k, uuid.UUID) else k for k in kept]))
    stale = [row[0] for row in await tx.conn.execute(sa.select(pk).where(condition))]
    if stale:
        await ItemsService(tx, related).delete_many(stale)


def _with_uuid(fields: Mapping[str, Any], pk: str, item: dict[str, Any]) -> dict[str, Any]:
    field = fields.get(pk)
    if field is not None and field.type == "uuid" and item.get(pk) is None:
        item[pk] = str(uuid.uuid4())
    return item


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidPayloadError('"value" must be an array')
    return list(value)
