"""Items of one collection: reads (delegated to the reader) and every write, with Directus's rules.

Each public write is one transaction (``ctx.transaction()``): a batch whose third item fails leaves
nothing behind, and its events are emitted only after the commit. The steps of a write follow Directus's
``ItemsService``:

1. the collection must be known and the caller must hold a permission for the action (else the same
   FORBIDDEN text as for a missing collection, so existence never leaks);
2. create/update: the payload may only name permitted fields, ``presets`` fill what it omits, then the
   field rules (required / not null) and every permission's ``validation`` filter must pass;
3. update/delete: every key must be inside the permission's item rule (checked in SQL, in the same
   transaction, the rows locked until it ends), otherwise FORBIDDEN and nothing is written;
4. values are cast per field type and special fields applied (``tidepool.services.payload``), then written
   through the collection's typed table; database constraint errors become Directus errors
   (``tidepool.db.errors``);
5. ``ChangeEvent``s are recorded: one per created item, one per ``update_many`` (all keys), one per item of
   ``update_batch``, one per delete call with the keys exactly as the caller passed them. Update and delete
   events carry ``before``: the full rows, as the reader serializes them, read just before the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from tidepool.context import Access, Action, Permission
from tidepool.db import key_lists, pg_writes
from tidepool.db.errors import Candidates
from tidepool.db.schema import NUMERIC_TYPES, CollectionInfo
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.events import ChangeEvent, EventAction
from tidepool.query.filters import compile_filter
from tidepool.query.model import Query
from tidepool.seams import translated
from tidepool.services import dynamic, fast_create, owned_values, payload_rules, pg_create, reader, versions
from tidepool.services import payload as payloads
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.payload_cast import cast_key
from tidepool.services.payload_specials import WriteAction

Key = Any
Item = Mapping[str, Any]


class ItemsService:
    """Reads and writes of one collection for one caller (``ctx.access``)."""

    def __init__(self, ctx: ServiceContext, collection: str) -> None:
        self.ctx = ctx
        self.collection = collection

    # ---- reads: one path for every transport --------------------------------------------------------

    async def read_by_query(self, query: Query) -> list[dict[str, Any]]:
        return await reader.read_by_query(self.ctx, self.collection, query)

    async def read_one(self, key: Key, query: Query | None = None) -> dict[str, Any]:
        stored = cast_key(self._info(), key)
        if stored is None:
            raise ForbiddenError()
        return await reader.read_one(self.ctx, self.collection, stored, query or Query())

    async def read_many(self, keys: Sequence[Key], query: Query | None = None) -> list[dict[str, Any]]:
        info = self._info()
        stored = [k for k in (cast_key(info, key) for key in keys) if k is not None]
        return await reader.read_many(self.ctx, self.collection, stored, query or Query())

    async def read_meta(self, query: Query) -> dict[str, Any]:
        return await reader.read_meta(self.ctx, self.collection, query, query.meta or ())

    async def read_singleton(self, query: Query | None = None) -> dict[str, Any]:
        """The one row of a singleton; Directus answers its defaults when the row does not exist yet."""
        query = query or Query()
        rows = await self.read_by_query(query.replace(limit=1, offset=None, page=None))
        if rows:
            return rows[0]
        info = self._info()
        wanted = set(query.fields or ("*",))
        return {
            f.name: None if f.primary_key else f.default
            for f in info.column_fields
            if "*" in wanted or f.name in wanted
            if f.primary_key or f.default is not None
        }

    # ---- creates ------------------------------------------------------------------------------------

    async def create_one(self, data: Any) -> Key:
        async with self.ctx.transaction() as tx:
            return await self._insert(tx, data, self._now())

    async def create_and_read(self, data: Any, query: Query) -> tuple[Key, list[dict[str, Any]] | None]:
        """``create_one``, and its reply read in the same transaction when that read is one statement
        (``services/fast_create.py``): ``(key, items)``, ``items`` being what ``read_many([key], query)`` answers
        (empty: the caller may not read what it wrote), or None when it was not read (then read it back)."""
        if type(self) is not ItemsService:  # a subclass's own create or read is not bypassed
            return await self.create_one(data), None
        reply = await fast_create.reply_for(self.ctx, self.collection, query)
        info = self._info()
        item, values, bound = self._prepared(info, data, self._now(), await self._fields_validation(info))
        if pg_create.serves(self.ctx, info, bound):  # PostgreSQL: the whole write in one statement
            with self._translated(info, values):
                alone = await pg_create.create(self.ctx, info, item, bound, reply)
            if alone is not None:
                return alone[0], reply.items if reply is not None else None
        # its own transaction, where nothing follows the create: on SQLite the INSERT may wait for the last hand-off
        last = not isinstance(self.ctx, TxContext) and self.collection not in versions.KIND_OF_COLLECTION
        async with self.ctx.transaction() as tx:
            key = await self._insert_prepared(tx, info, item, values, bound, reply, last)
        if isinstance(key, fast_create.Pending):
            key = key.key
        return key, reply.items if reply is not None else None

    async def create_many(self, items: Any) -> list[Key]:
        batch = _require_list(items)
        self._check_batch(len(batch))
        async with self.ctx.transaction() as tx:
            now = self._now()
            return [await self._insert(tx, item, now) for item in batch]

    async def _insert(self, tx: TxContext, data: Any, now: dt.datetime) -> Key:
        info = self._info()
        prepared = self._prepared(info, data, now, await self._fields_validation(info))
        return await self._insert_prepared(tx, info, *prepared)

    def _prepared(
        self, info: CollectionInfo, data: Any, now: dt.datetime, fields_validation: Mapping[str, Any]
    ) -> tuple[Item, dict[str, Any], dict[str, Any]]:
        """A create's payload (as sent), its values once checked and prepared, and those as the driver binds them."""
        item = payloads.require_object(data)
        merged = self._checked_payload(info, item, Action.CREATE, fields_validation)
        values = payloads.prepare(info, merged, "create", self.ctx.accountability, now)
        owned_values.check(info.name, values.get(info.primary_key), values, self.ctx.access.admin)
        return item, values, payloads.bindable(info, values, self.ctx.dialect)

    async def _insert_prepared(
        self,
        tx: TxContext,
        info: CollectionInfo,
        item: Item,
        values: Mapping[str, Any],
        bound: Mapping[str, Any],
        reply: fast_create.Reply | None = None,
        last: bool = False,
    ) -> Key:
        """Insert one item; its key. ``last``: nothing follows in the transaction, so on SQLite the INSERT (and
        ``reply``'s read) may go with its last hand-off (``fast_create.Pending``, answered in the key's place)."""
        pending = fast_create.pending(tx, info, bound, reply, lambda: self._translated(info, values)) if last else None
        if pending is not None:
            tx.tx.pending = pending
            tx.record(ChangeEvent(self.collection, "create", (pending,), payload=dict(item)))
            return pending
        with self._translated(info, values):
            fast = await fast_create.insert(tx, info, bound, reply)  # SQLite: one hand-off, the reply read in it
            returned, on_driver = (None, False) if fast is not None else await self._insert_row(tx, info, bound)
        if fast is not None:
            key = fast[0]
        else:
            key = values.get(info.primary_key)
            if key is None:
                key = returned[0] if returned else None
            elif info.fields[info.primary_key].auto_increment:
                await self._advance_sequence(tx, info)
            if on_driver and reply is not None:
                with self._translated(info, values):
                    await fast_create.read_in_postgresql(tx, reply, key)
        tx.record(ChangeEvent(self.collection, "create", (key,), payload=dict(item)))
        return key

    async def _insert_row(
        self, tx: TxContext, info: CollectionInfo, bound: Mapping[str, Any]
    ) -> tuple[list[Any], bool]:
        """The row's INSERT, answering its generated key as ``[key]`` and whether asyncpg ran it directly
        (``INSERT ... RETURNING``, ``db/pg_writes.py``; then the reply may be read on its connection), else
        through SQLAlchemy."""
        returned = await pg_writes.insert(tx.conn, info.table, bound, info.primary_key)
        if returned is not None:
            return returned, True
        result = await tx.conn.execute(sa.insert(info.table).values(bound))
        return list(result.inserted_primary_key or (None,)), False

    # ---- updates ------------------------------------------------------------------------------------

    async def update_one(self, key: Key, data: Any) -> Key:
        async with self.ctx.transaction() as tx:
            keys = await self._update(tx, [key], data, self._now())
        return keys[0]

    async def update_many(self, keys: Sequence[Key], data: Any) -> list[Key]:
        key_list = _require_list(keys)
        self._check_batch(len(key_list))
        async with self.ctx.transaction() as tx:
            return await self._update(tx, key_list, data, self._now())

    async def update_batch(self, items: Any) -> list[Key]:
        """Rows that each carry their key; one update (and one event) per row, all in one transaction."""
        batch = _require_list(items)
        self._check_batch(len(batch))
        info = self._info()
        async with self.ctx.transaction() as tx:
            now = self._now()
            keys: list[Key] = []
            for item in batch:
                row = payloads.require_object(item)
                if row.get(info.primary_key) is None:
                    raise InvalidPayloadError("Item in update misses primary key")
                data = {k: v for k, v in row.items() if k != info.primary_key}
                keys.extend(await self._update(tx, [row[info.primary_key]], data, now))
            return keys

    async def update_by_query(self, query: Query, data: Any) -> list[Key]:
        async with self.ctx.transaction() as tx:
            keys = await self._keys_by_query(tx, query)
            self._check_batch(len(keys))
            return await self._update(tx, keys, data, self._now()) if keys else []

    async def upsert_singleton(self, data: Any) -> Key:
        """Update the singleton's row, or create it when the collection is still empty."""
        info = self._info()
        async with self.ctx.transaction() as tx:
            existing = (await tx.conn.execute(sa.select(info.table.c[info.primary_key]).limit(1))).first()
            if existing is None:
                return await self._insert(tx, data, self._now())
            keys = await self._update(tx, [existing[0]], data, self._now())
            return keys[0]

    async def _update(self, tx: TxContext, keys: Sequence[Key], data: Any, now: dt.datetime) -> list[Key]:
        info = self._info()
        item = payloads.require_object(data)
        rules = self._rules(Action.UPDATE)
        stored = self._stored_keys(info, keys)
        merged = self._checked_payload(info, item, Action.UPDATE, await self._fields_validation(info))
        await self._assert_in_rule(tx, info, stored, rules)
        values = payloads.prepare(info, merged, "update", self.ctx.accountability, now)
        values.pop(info.primary_key, None)
        for key in stored:
            owned_values.check(info.name, key, values, self.ctx.access.admin)
        before = await self._before(tx, info, stored)
        if values and stored:
            pk = info.table.c[info.primary_key]
            bound = payloads.bindable(info, values, self.ctx.dialect)
            await self._execute(tx, info, sa.update(info.table).where(self._among(pk, stored)).values(bound), values)
        written = {"fields": sorted(values)} if values else {}  # what subscribers may not see decides nothing
        tx.record(
            ChangeEvent(self.collection, "update", tuple(stored), before=before, payload=dict(item), extra=written)
        )
        return stored

    # ---- deletes ------------------------------------------------------------------------------------

    async def delete_one(self, key: Key) -> Key:
        async with self.ctx.transaction() as tx:
            await self._delete(tx, [key])
        return key

    async def delete_many(self, keys: Sequence[Key]) -> list[Key]:
        key_list = _require_list(keys)
        self._check_batch(len(key_list))
        async with self.ctx.transaction() as tx:
            await self._delete(tx, key_list)
        return key_list

    async def delete_by_query(self, query: Query) -> list[Key]:
        async with self.ctx.transaction() as tx:
            keys = await self._keys_by_query(tx, query)
            self._check_batch(len(keys))
            if keys:
                await self._delete(tx, keys)
            return keys

    async def _delete(self, tx: TxContext, keys: Sequence[Key]) -> None:
        info = self._info()
        rules = self._rules(Action.DELETE)
        stored = self._stored_keys(info, keys)
        await self._assert_in_rule(tx, info, stored, rules)
        before = await self._before(tx, info, stored)
        pk = info.table.c[info.primary_key]
        await self._execute(tx, info, sa.delete(info.table).where(self._among(pk, stored)), {})
        tx.record(ChangeEvent(self.collection, "delete", tuple(keys), before=before))

    async def lock_in_rule(self, tx: TxContext, keys: Sequence[Key], action: Action) -> None:
        """The caller's item rule for ``action`` over ``keys``, checked and the rows locked in ``tx`` (all keys,
        or FORBIDDEN): for writes another service makes on the caller's behalf (the manual sort)."""
        info = self._info()
        await self._assert_in_rule(tx, info, self._stored_keys(info, keys), self._rules(action))

    # ---- shared steps -------------------------------------------------------------------------------

    def _info(self) -> CollectionInfo:
        info = self.ctx.schema.collection(self.collection)
        if info is None:
            raise ForbiddenError.collection(self.collection)
        return info

    def _rules(self, action: Action) -> Sequence[Permission] | None:
        """The caller's permissions for ``action``; None for admins (everything allowed)."""
        info = self._info()
        if self.ctx.access.admin:
            return None
        rules = self.ctx.access.rules(info.name, action)
        if not rules:
            raise ForbiddenError.collection(self.collection)
        return rules

    async def _fields_validation(self, info: CollectionInfo) -> Mapping[str, Any]:
        """The fields' own ``validation`` filters with the caller's dynamic variables resolved."""
        resolved: Mapping[str, Any] = await dynamic.resolve_configured(self.ctx, payload_rules.field_validations(info))
        return resolved

    def _checked_payload(
        self, info: CollectionInfo, item: Item, action: Action, fields_validation: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Permitted fields only, presets filled in, field and permission validation passed."""
        rules = self._rules(action)
        merged = dict(item) if rules is None else _with_presets(info, item, rules)
        write: WriteAction = "create" if action == Action.CREATE else "update"
        validations = [] if rules is None else [r.validation for r in rules]
        payload_rules.check_payload(info, self.ctx.schema, merged, write, fields_validation, validations)
        return merged

    def _stored_keys(self, info: CollectionInfo, keys: Sequence[Key]) -> list[Key]:
        """Keys as the column stores them; a key that cannot be one is FORBIDDEN, like a missing item."""
        stored = [cast_key(info, key) for key in keys]
        if any(key is None for key in stored):
            raise ForbiddenError()
        return stored

    async def _assert_in_rule(
        self, tx: TxContext, info: CollectionInfo, keys: Sequence[Key], rules: Sequence[Permission] | None
    ) -> None:
        """Non-admins may only touch existing rows inside one of their item rules: all keys, or nothing.

        The check locks the rows it passes (``FOR UPDATE``, in key order so two writers lock alike) until
        the write's transaction ends: without the lock, a concurrent commit on PostgreSQL/MariaDB could move
        a row out of the rule between this check and the ``WHERE pk IN`` write, which would then change a
        row the caller may no longer touch. A row locked by another transaction is waited for and its
        committed version re-checked (PostgreSQL re-evaluates the condition; InnoDB's locking read sees the
        latest commit). SQLite has no row locks; its writers are serialized and a stale read cannot write.
        """
        if rules is None or not keys:
            return
        pk = info.table.c[info.primary_key]
        condition = self._rule_condition(info, rules)
        statement = sa.select(pk).where(self._among(pk, keys), condition).order_by(pk).with_for_update(of=info.table)
        found = {row[0] for row in await tx.conn.execute(statement)}
        if len(found) != len(set(keys)):
            raise ForbiddenError()

    def _among(self, pk: sa.ColumnElement[Any], keys: Sequence[Key]) -> sa.ColumnElement[bool]:
        """``pk IN keys``, bound as ``tidepool.db.key_lists`` binds every key list (any number of keys)."""
        return key_lists.keys_in(pk, self.ctx.dialect, keys)

    def _rule_condition(self, info: CollectionInfo, rules: Sequence[Permission]) -> sa.ColumnElement[bool]:
        if any(not rule.rule for rule in rules):
            return sa.true()
        admin = Access.full(self.ctx.accountability)
        return sa.or_(
            *(
                compile_filter(r.rule, info.name, schema=self.ctx.schema, access=admin, dialect=self.ctx.dialect)
                for r in rules
                if r.rule
            )
        )

    async def _keys_by_query(self, tx: TxContext, query: Query) -> list[Key]:
        """Keys of the rows the caller can read with ``query`` (its limit applies, as in Directus).

        Writes by query resolve their keys first and then write ``WHERE pk IN (<keys>)``, as Directus's
        ``updateByQuery``/``deleteByQuery`` do: never fold the filter into the UPDATE/DELETE as a subquery,
        MySQL refuses one that reads the table being written (error 1093, e.g. through a self-relation).
        ``aggregate``/``groupBy`` select no rows and are ignored (they made the key lookup fail with a 500).
        """
        info = self._info()
        keys_only = query.replace(fields=(info.primary_key,), aggregate=None, group_by=None)
        rows = await reader.read_by_query(tx, self.collection, keys_only)
        stored = [cast_key(info, row[info.primary_key]) for row in rows]
        return [key for key in stored if key is not None]

    async def _before(self, tx: TxContext, info: CollectionInfo, keys: Sequence[Key]) -> tuple[Item, ...]:
        """Full rows (every column, admin view, reader serialization) as they are before the change."""
        if not keys:
            return ()
        columns = tuple(f.name for f in info.column_fields)
        rows = await reader.read_many(tx.as_admin(), info.name, list(keys), Query(fields=columns, limit=-1))
        return tuple(rows)

    async def _execute(
        self, tx: TxContext, info: CollectionInfo, statement: sa.Executable, values: Mapping[str, Any]
    ) -> sa.CursorResult[Any]:
        """Run one write; a constraint the database enforces becomes Directus's error for it."""
        with self._translated(info, values):
            return await tx.conn.execute(statement)

    def _translated(self, info: CollectionInfo, values: Mapping[str, Any]) -> translated:
        """Where a write's database errors become Directus's (``tidepool.seams``)."""
        return translated(
            "database write",
            collection=info,
            dialect=self.ctx.dialect,
            candidates=lambda: self._candidates(info, values),  # worked out only for an error
            values=values,
        )

    async def _advance_sequence(self, tx: TxContext, info: CollectionInfo) -> None:
        """After an explicit key on PostgreSQL, move the key's sequence past it (as Directus does), so the
        next generated key does not collide. SQLite and MySQL track the maximum themselves."""
        if self.ctx.dialect != "postgresql":
            return
        pk = info.table.c[info.primary_key]
        preparer = tx.conn.dialect.identifier_preparer
        sequence = sa.func.pg_get_serial_sequence(preparer.quote(info.name), info.primary_key)
        highest = sa.select(sa.func.coalesce(sa.func.max(pk), 0) + 1).scalar_subquery()
        await tx.conn.execute(sa.select(sa.func.setval(sequence, highest, False)))

    def _candidates(self, info: CollectionInfo, values: Mapping[str, Any]) -> Candidates:
        written = [name for name, value in values.items() if value is not None]
        return Candidates(
            foreign_keys=[n for n in written if self.ctx.schema.m2o(info.name, n) is not None],
            strings=[n for n in written if info.fields[n].type == "string"],
            numbers=[n for n in written if info.fields[n].type in NUMERIC_TYPES],
        )

    def _check_batch(self, count: int) -> None:
        limit = self.ctx.settings.MAX_BATCH_MUTATION
        if limit is not None and count > limit:
            raise InvalidPayloadError(f"Exceeded max batch mutation limit of {limit}")

    @staticmethod
    def _now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def _with_presets(info: CollectionInfo, item: Item, rules: Sequence[Permission]) -> dict[str, Any]:
    """Check the payload names only permitted fields, then fill ``presets`` under it (payload wins)."""
    allowed: set[str] = set()
    for rule in rules:
        if rule.fields is None or "*" in rule.fields:
            allowed = {"*"}
            break
        allowed |= rule.fields
    if "*" not in allowed:
        refused = [name for name in item if name not in allowed]
        if refused:
            raise _forbidden_fields(refused, info.name)
    merged: dict[str, Any] = {}
    for rule in rules:
        merged.update(rule.presets or {})
    merged.update(item)
    return merged


def _forbidden_fields(fields: Sequence[str], collection: str) -> ForbiddenError:
    """Directus's wording for payload fields outside the permission (one field, or several)."""
    names = ", ".join(f'"{name}"' for name in fields)
    if len(fields) == 1:
        return ForbiddenError(
            f'You don\'t have permission to access field {names} in collection "{collection}" or it does not exist.'
        )
    return ForbiddenError(
        f'You don\'t have permission to access fields {names} in collection "{collection}" or they do not exist.'
    )


def _require_list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidPayloadError('"value" must be an array')
    return list(value)


__all__ = ["EventAction", "ItemsService"]
