"""Content versions (``directus_versions``): named drafts of an item, saved apart from it and promoted later.

A version is an item of ``directus_versions`` (through ``ItemsService``: the caller's permissions, events and
history apply) that names a ``collection``, an ``item`` (None for a draft of an item not created yet) and a
``key``; its ``delta`` gathers the changes saved to it. What Directus's ``VersionsService`` adds, kept here:

- create: only ``key``/``name``/``collection``/``item`` (Joi's words for anything else), ``published`` is
  reserved, an item-less version must be keyed ``draft``, the caller must be able to read the item, the
  collection must have ``meta.versioning``, one version per key and item; ``hash`` is the main item's hash;
- update: only ``key``, ``name`` and ``item``;
- ``save``: merges a delta into the version (marked with ``_user``/``_date``), recorded as a ``version_save``
  activity on the item (with a revision whose ``version`` is this one, per the collection's accountability);
- ``compare``: the version's view of the item against the main item, and whether the main item moved on;
- ``promote``: writes the delta (or some of its fields) to the item as the caller, unless the main item's hash
  no longer matches what the caller compared (``VERSION_HASH_MISMATCH``);
- ``VersionedItems``: ``GET /items/...?version=<key>`` reads items with their version's delta applied.

The hash is a SHA-1 of the item's canonical JSON, not Directus's ``object-hash``: clients only pass it back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tidepool.errors import ForbiddenError, InvalidPayloadError, UnprocessableContentError, VersionHashMismatchError
from tidepool.events import Tracked
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.comments import require_readable
from tidepool.services.items import ItemsService, Key

PUBLISHED = "published"
DRAFT = "draft"
MARKS = ("_user", "_date")  # who saved a delta and when, kept inside it as Directus does
_CREATE_FIELDS = ("key", "name", "collection", "item")
_UPDATE_FIELDS = ("key", "name", "item")


def item_hash(item: Mapping[str, Any]) -> str:
    """The main item's fingerprint: equal items (as the caller reads them) hash alike."""
    return hashlib.sha1(orjson.dumps(item, option=orjson.OPT_SORT_KEYS), usedforsecurity=False).hexdigest()


class VersionsService(ItemsService):
    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx, "directus_versions")

    # ---- writes of the version rows ------------------------------------------------------------------

    async def create_one(self, data: Any) -> Key:
        return (await self.create_many([data]))[0]

    async def create_many(self, items: Any) -> list[Key]:
        if not isinstance(items, list):
            raise InvalidPayloadError("Input should be an array of items")
        combos: set[tuple[Any, ...]] = set()
        prepared = []
        for item in items:
            row = await self._checked_new(item)
            combo = (row["key"], row["collection"], row.get("item"))
            if combo in combos:
                raise UnprocessableContentError(
                    f'Cannot create multiple versions on "{row.get("item")}" in collection "{row["collection"]}" '
                    f'with the same key "{row["key"]}"'
                )
            combos.add(combo)
            prepared.append(row)
        return await super().create_many(prepared)

    async def _checked_new(self, data: Any) -> dict[str, Any]:
        row = _joi(data, _CREATE_FIELDS, required=("key", "collection"))
        if row["key"] == PUBLISHED:
            raise InvalidPayloadError(f'"{PUBLISHED}" is a reserved version key')
        item = row.get("item")
        if item is None and row["key"] != DRAFT:
            raise InvalidPayloadError(f'"key" must be "{DRAFT}" for versions not linked to an item')
        collection = row["collection"]
        try:
            await require_readable(self.ctx, collection, item)
        except ForbiddenError:
            raise ForbiddenError() from None
        info = self.ctx.schema.collection(collection)
        if info is None or not (info.meta or {}).get("versioning"):
            raise UnprocessableContentError(f'Content Versioning is not enabled for collection "{collection}"')
        if item is None:
            return {**row, "hash": None}
        if await self._existing(row["key"], collection, item):
            raise UnprocessableContentError(
                f'Version "{row["key"]}" already exists for item "{item}" in collection "{collection}"'
            )
        return {**row, "hash": item_hash(await self._main(collection, item))}

    async def _update(self, tx: TxContext, keys: Sequence[Key], data: Any, now: dt.datetime) -> list[Key]:
        row = _joi(data, _UPDATE_FIELDS, required=())  # a save writes ``delta`` through plain ItemsService
        if row.get("key") == PUBLISHED:
            raise InvalidPayloadError(f'"{PUBLISHED}" is a reserved version key')
        return await super()._update(tx, keys, data, now)

    # ---- save, compare, promote ------------------------------------------------------------------------

    async def save(self, key: Key, delta: Any) -> dict[str, Any]:
        """Merge ``delta`` into the version; the main item as the version now sees it."""
        if not isinstance(delta, Mapping):
            raise InvalidPayloadError('"value" must be of type object')
        version = await self._raw(key)
        collection, item = version["collection"], version["item"]
        async with self.ctx.transaction() as tx:
            if item is not None:
                tx.tx.note(Tracked("version_save", collection, (item,), tx.accountability, dict(delta), version=key))
            marked = {**delta, "_user": tx.accountability.user, "_date": _now()}
            merged = {**(version["delta"] or {}), **marked}
            await ItemsService(tx.as_admin(), self.collection).update_one(version["id"], {"delta": merged})
        main = await self._main(collection, item) if item is not None else {}
        return {**main, **merged}

    async def compare(self, key: Key) -> dict[str, Any]:
        version = await self._raw(key)
        main = await self._main(version["collection"], version["item"]) if version["item"] is not None else {}
        main_hash = item_hash(main)
        return {
            "outdated": version["hash"] is not None and version["hash"] != main_hash,
            "mainHash": main_hash,
            "current": self.view(version),
            "main": main,
        }

    async def promote(self, key: Key, body: Any) -> Key:
        """Write the version's changes to its item as the caller; the item's key."""
        options = body if isinstance(body, Mapping) else {}
        version = await self._raw(key)
        collection, item, delta = version["collection"], version["item"], version["delta"]
        main_hash = options.get("mainHash")
        if item is not None and not isinstance(main_hash, str):
            raise InvalidPayloadError('"mainHash" field is required')
        if not delta:
            raise UnprocessableContentError("No changes to promote")
        changes = {name: value for name, value in delta.items() if name not in MARKS}
        fields = options.get("fields")
        if isinstance(fields, list):
            changes = {name: value for name, value in changes.items() if name in fields}
        async with self.ctx.transaction() as tx:
            if item is None:
                created = await ItemsService(tx, collection).create_one(changes)
                await VersionsService(tx).update_one(version["id"], {"item": str(created)})
                return created
            current = item_hash(await self._main(collection, item))
            if current != main_hash:
                raise VersionHashMismatchError(current)
            await ItemsService(tx, collection).update_one(item, changes)
        return item

    async def read_one(self, key: Key, query: Query | None = None) -> dict[str, Any]:
        """A version as Directus answers it: its ``delta`` shown through ``view``."""
        row = await super().read_one(key, query)
        if row.get("delta") and "collection" in row and "item" in row:
            row["delta"] = self.view(row)
        return row

    async def _raw(self, key: Key) -> dict[str, Any]:
        """A version row as stored (the save marks still in its delta), read with the caller's access."""
        return await super().read_one(key)

    # ---- reading with versions -------------------------------------------------------------------------

    def view(self, version: Mapping[str, Any]) -> dict[str, Any]:
        """The version's delta as Directus shows it: the item's key added, the save marks moved into the
        ``date-updated``/``user-updated`` fields."""
        delta = dict(version.get("delta") or {})
        info = self.ctx.schema.collection(version["collection"])
        marks = {mark: delta.pop(mark, None) for mark in MARKS}
        if info is None:
            return delta
        for name, field in info.fields.items():
            if "date-updated" in field.special and marks["_date"] is not None:
                delta[name] = marks["_date"]
            if "user-updated" in field.special and marks["_user"] is not None:
                delta[name] = marks["_user"]
        return {info.primary_key: version.get("item"), **delta}

    async def find(self, version_key: str, collection: str, item: Any | None) -> dict[str, Any] | None:
        """The caller-readable version ``version_key`` of ``item`` (or of the collection's item-less drafts)."""
        rows = await self._existing(version_key, collection, item)
        return rows[0] if rows else None

    async def _existing(self, version_key: str, collection: str, item: Any | None) -> list[dict[str, Any]]:
        match: dict[str, Any] = {"key": {"_eq": version_key}, "collection": {"_eq": collection}}
        match["item"] = {"_null": True} if item is None else {"_eq": str(item)}
        return await self.read_by_query(Query(filter={"_and": [{k: v} for k, v in match.items()]}, limit=1))

    async def _main(self, collection: str, item: Any) -> dict[str, Any]:
        return await ItemsService(self.ctx, collection).read_one(item)


class VersionedItems(ItemsService):
    """Items of one collection read through content version ``version_key`` (``?version=``): each item that has
    that version comes back with the version's delta applied and ``$meta.version_id``; one without it is
    FORBIDDEN when asked by key, and left out of a list."""

    def __init__(self, ctx: ServiceContext, collection: str, version_key: str) -> None:
        super().__init__(ctx, collection)
        self.version_key = version_key

    async def read_one(self, key: Key, query: Query | None = None) -> dict[str, Any]:
        query = query or Query()
        main = await super().read_one(key, _plain(query))
        return await self._applied(main, key)

    async def read_by_query(self, query: Query) -> list[dict[str, Any]]:
        info = self._info()
        rows = await super().read_by_query(_plain(query))
        out = []
        for row in rows:
            try:
                out.append(await self._applied(row, row.get(info.primary_key)))
            except ForbiddenError:
                continue
        return out

    async def _applied(self, main: dict[str, Any], key: Key) -> dict[str, Any]:
        versions = VersionsService(self.ctx)
        version = await versions.find(self.version_key, self.collection, key)
        if version is None:
            raise ForbiddenError()
        view = versions.view(version)
        view.pop(self._info().primary_key, None)
        # only the fields the query asked for, and never over a relation it expanded
        changed = {k: v for k, v in view.items() if k in main and not isinstance(main[k], dict | list)}
        return {**main, **changed, "$meta": {"version_id": version["id"]}}


def versioned(ctx: ServiceContext, collection: str, version_key: str | None) -> ItemsService:
    """The service reading ``collection`` for ``?version=<key>``: the main items for none or ``published``."""
    if not version_key or version_key == PUBLISHED:
        return ItemsService(ctx, collection)
    return VersionedItems(ctx, collection, version_key)


def _plain(query: Query) -> Query:
    return query.replace(extra={k: v for k, v in query.extra.items() if k not in ("version", "versionRaw")})


def _joi(data: Any, allowed: Sequence[str], *, required: Sequence[str]) -> dict[str, Any]:
    """Directus's Joi checks of a version payload, with Joi's words."""
    if not isinstance(data, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    for name in required:
        if name not in data:
            raise InvalidPayloadError(f'"{name}" is required')
    for name, value in data.items():
        if name not in allowed:
            raise InvalidPayloadError(f'"{name}" is not allowed')
        nullable = name in ("name", "item")
        if value is None and nullable:
            continue
        if not isinstance(value, str):
            raise InvalidPayloadError(f'"{name}" must be a string')
    return dict(data)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
