"""The shared shape of the account collections' services (users, roles, policies, permissions, access).

Each is a thin layer over ``ItemsService`` for its ``directus_*`` table, so every list gets the full query
language and every write the payload casting, validation and constraint errors. What this layer adds:

- writes are admin-only (``FORBIDDEN`` otherwise), reads go through the reader with the caller's access;
- ``prepare`` hooks per collection (password/token hashing, generated uuid keys);
- o2m aliases written inline (``users.policies``, ``roles.policies``, ``roles.users``,
  ``policies.permissions``): a list replaces the related set (rows left out are deleted, as Directus's
  ``one_deselect_action: delete``, or detached for ``roles.users``, ``nullify``), an object
  ``{"create": [...], "update": [...], "delete": [...]}`` edits it;
- related rows are written by their own account service when they have one (so a nested user's token is
  hashed and a nested policy's ``permissions`` are written too), and an m2o value given as an object is
  created (or, with its key, updated) first and replaced by its key: the Data Studio saves a role's new
  policy as ``{"policies": {"create": [{"policy": {"name": ..., "permissions": {...}}}]}}``. All of it in the
  one transaction of the outer write;
- every write records events on its ``directus_*`` collection, which moves the ``access`` version marker in the
  same transaction; after the commit this process drops its access caches at once, and every other process
  within ``CACHE_SYNC_INTERVAL`` (``tidepool.services.versions``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from tidepool.db import system_meta
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
    # aliases whose deselected rows are detached (foreign key set to null) rather than deleted
    nullify: ClassVar[frozenset[str]] = frozenset()
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
                key = await service.create_one(await resolve_m2o(tx, self.collection, values))
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
            values = await resolve_m2o(tx, self.collection, values)
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
            await write_o2m(tx, related, fk, key, value, alias, nullify=alias in self.nullify)


class _Rows:
    """Writes rows of one related collection inside the outer transaction: through its account service when it
    has one (its ``prepare`` and nested aliases apply), else as plain items; m2o objects resolved first."""

    def __init__(self, tx: TxContext, collection: str) -> None:
        self.tx = tx
        self.collection = collection
        service = account_service(collection)
        self.account = service(tx) if service is not None else None
        self.items = ItemsService(tx, collection)
        info = tx.schema.collection(collection)
        assert info is not None
        self.info = info
        self.sort: tuple[str, str] | None = None  # (sort field, foreign key) of rows created through an o2m

    def order_by(self, fk: str) -> None:
        """Rows created through the o2m of ``fk`` without a sort value come last among their parent's rows (the
        relation's ``sort_field``, or the collection's: how Directus numbers a role's new access rows)."""
        relation = self.tx.schema.m2o(self.collection, fk)
        meta = self.info.meta or system_meta.COLLECTIONS.get(self.collection) or {}
        sort_field = (relation.sort_field if relation else None) or meta.get("sort_field")
        if sort_field and sort_field in self.info.fields:
            self.sort = (str(sort_field), fk)

    async def _next_sort(self, item: dict[str, Any]) -> None:
        if self.sort is None or item.get(self.sort[0]) is not None:
            return
        sort_field, fk = self.sort
        table = self.info.table
        statement = sa.select(sa.func.max(table.c[sort_field])).where(table.c[fk] == item.get(fk))
        highest = (await self.tx.conn.execute(statement)).scalar()
        item[sort_field] = int(highest or 0) + 1

    async def create(self, item: Mapping[str, Any]) -> Key:
        item = dict(item)
        await self._next_sort(item)
        if self.account is not None:
            return await self.account.create_one(item)
        values = _with_uuid(self.info.fields, self.info.primary_key, dict(item))
        return await self.items.create_one(await resolve_m2o(self.tx, self.collection, values))

    async def update(self, key: Key, data: Mapping[str, Any]) -> Key:
        if self.account is not None:
            return await self.account.update_one(key, data)
        return await self.items.update_one(key, await resolve_m2o(self.tx, self.collection, dict(data)))

    async def delete(self, keys: Sequence[Key]) -> None:
        if keys:
            await self.items.delete_many(list(keys))


async def resolve_m2o(tx: TxContext, collection: str, values: dict[str, Any]) -> dict[str, Any]:
    """m2o values given as objects, created (or updated, when they carry their key) first: the value becomes the
    related row's key, as Directus's nested m2o writes do."""
    for name, value in list(values.items()):
        relation = tx.schema.m2o(collection, name) if isinstance(value, Mapping) else None
        if relation is None or relation.related_collection is None:
            continue
        rows = _Rows(tx, relation.related_collection)
        pk = rows.info.primary_key
        data = dict(value)
        if data.get(pk) is not None:
            key = data.pop(pk)
            values[name] = await rows.update(key, data) if data else key
        else:
            values[name] = await rows.create(data)
    return values


async def write_o2m(
    tx: TxContext, related: str, fk: str, parent: Key, value: Any, alias: str, *, nullify: bool = False
) -> None:
    """Apply an o2m alias value to the rows of ``related`` whose ``fk`` is ``parent``."""
    if value is None:
        value = []
    rows = _Rows(tx, related)
    rows.order_by(fk)
    if isinstance(value, Mapping):
        await _o2m_detailed(rows, fk, parent, value, nullify)
        return
    if not isinstance(value, list):
        raise InvalidPayloadError(f'"{alias}" must be an array')
    pk = rows.info.primary_key
    kept: list[Key] = []
    for item in value:
        if isinstance(item, Mapping) and item.get(pk) is not None:
            data = {k: v for k, v in item.items() if k != pk}
            kept.append(await rows.update(item[pk], {**data, fk: parent}))
        elif isinstance(item, Mapping):
            kept.append(await rows.create({**item, fk: parent}))
        else:
            kept.append(await rows.update(item, {fk: parent}))
    await _deselect_others(rows, fk, parent, kept, nullify)


async def _o2m_detailed(rows: _Rows, fk: str, parent: Key, value: Mapping[str, Any], nullify: bool) -> None:
    pk = rows.info.primary_key
    for item in _list(value.get("create") or []):
        await rows.create({**_object(item), fk: parent})
    for item in _list(value.get("update") or []):
        row = dict(_object(item))
        await rows.update(row.pop(pk), {**row, fk: parent})
    deselected = _list(value.get("delete") or [])
    if nullify:
        for key in deselected:
            await rows.items.update_one(key, {fk: None})
    else:
        await rows.delete(deselected)


async def _deselect_others(rows: _Rows, fk: str, parent: Key, kept: Sequence[Key], nullify: bool) -> None:
    """The parent's rows left out of a list value are detached or deleted. They are listed locked (in key order,
    until the outer write commits): a row another transaction is moving to another parent meanwhile is waited
    for and, once moved, no longer listed; listed unlocked, the write keyed by id undid the move."""
    table, pk = rows.info.table, rows.info.table.c[rows.info.primary_key]
    condition = table.c[fk] == parent
    if kept:
        condition = sa.and_(condition, pk.not_in([str(k) if isinstance(k, uuid.UUID) else k for k in kept]))
    listed = sa.select(pk).where(condition).order_by(pk).with_for_update()
    stale = [row[0] for row in await rows.tx.conn.execute(listed)]
    if stale and nullify:
        await rows.items.update_many(stale, {fk: None})
    else:
        await rows.delete(stale)


def account_service(collection: str) -> type[AccountItems] | None:
    """The account service writing ``collection``, if it is one of the account collections."""
    # Imported here: each of these modules builds on this one.
    from tidepool.services.access_rows import AccessRowsService
    from tidepool.services.policies import PermissionRowsService, PoliciesService
    from tidepool.services.roles import RolesService
    from tidepool.services.users import UsersService

    services: tuple[type[AccountItems], ...] = (
        AccessRowsService, PermissionRowsService, PoliciesService, RolesService, UsersService
    )  # fmt: skip
    return next((service for service in services if service.collection == collection), None)


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
