"""Files (``directus_files``): the items of the collection, plus their stored bytes.

``FilesService`` is an ``ItemsService`` over ``directus_files`` with the caller's access (reads, metadata
writes, permissions, events all as for any collection) and three things of its own, as Directus's:

- ``upload_one`` streams the bytes into the first storage location (``tidepool.storage.upload``), then in one
  transaction creates the row with the caller's permissions and records what the server measured (size,
  dimensions, checksum, ``filename_disk``, ``uploaded_on``). The bytes are stored before the transaction
  opens, so a slow upload never holds a database transaction; if the row cannot be written the object is
  removed. The create permission is checked before the first byte is read. One ``create`` event results.
  Given a key, it replaces that file's bytes (``PATCH /files/{id}`` with a body) and records an ``update``.
- ``import_one`` does the same with the body of a URL (``tidepool.services.imports``).
- deletes remove the stored object and its generated variants after the rows are gone.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import mimetypes
import posixpath
import re
import uuid
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action, Permission
from tidepool.db import system
from tidepool.errors import ForbiddenError, InvalidPayloadError, RecordNotUniqueError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService, Key
from tidepool.storage.base import Storage
from tidepool.storage.upload import Stored, store

COLLECTION = "directus_files"
STORED_FIELDS = (
    "id", "storage", "filename_disk", "filename_download", "type", "filesize", "width", "height", "modified_on",
    "focal_point_x", "focal_point_y",
)  # fmt: skip


def title_of(filename: str) -> str:
    """Directus's ``formatTitle`` of a file name without its extension: words capitalised."""
    stem = posixpath.splitext(posixpath.basename(filename))[0]
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words)


def mime_allowed(mime: str, patterns: Sequence[str]) -> bool:
    """``FILES_MIME_TYPE_ALLOW_LIST``: glob patterns such as ``image/*``, ``*/*`` or ``image/jp*`` (Directus
    matches them with minimatch)."""
    return any(fnmatch.fnmatchcase(mime, pattern) for pattern in patterns)


_EXTENSION = re.compile(r"\.[A-Za-z0-9_+-]{1,16}")


def extension_of(filename: str, mime: str) -> str:
    """The stored object's extension: the download name's, if it is a plain one, else the type's. Plain on
    purpose: the key is ``<id><extension>``, and a name such as ``a.\\..\\<other id>.png`` must not reach
    another file's key."""
    ext = posixpath.splitext(filename)[1]
    if _EXTENSION.fullmatch(ext):
        return ext
    return mimetypes.guess_extension(mime or "") or ""


def new_key(data: Mapping[str, Any]) -> str:
    """The new file's id: the payload's, when it is a uuid (it becomes part of the storage key), else a new one."""
    given = data.get("id")
    if given is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(given)))
    except ValueError:
        raise InvalidPayloadError('"id" must be a valid uuid') from None


class FilesService(ItemsService):
    def __init__(self, ctx: ServiceContext, storage: Storage) -> None:
        super().__init__(ctx, COLLECTION)
        self.storage = storage

    # ---- uploads ------------------------------------------------------------------------------------

    def require(self, action: Action) -> Sequence[Permission] | None:
        """The caller may ``action`` some files at all (checked before any byte is read)."""
        return self._rules(action)

    async def upload_one(self, chunks: AsyncIterable[bytes], data: Mapping[str, Any], key: Key | None = None) -> Key:
        if key is not None:
            return await self._replace(chunks, data, key)
        self.require(Action.CREATE)
        payload = {"storage": self.storage.default, **_unnamed(data)}
        mime = payload.get("type") or "application/octet-stream"
        payload["type"] = mime
        payload["id"] = key = new_key(payload)
        if data.get("id") is not None and await self._stored_row(key) is not None:
            # the bytes would land on that file's object (and a failed create would then remove it)
            raise RecordNotUniqueError(COLLECTION, "id", value=key)
        filename_disk = key + extension_of(str(payload.get("filename_download") or ""), mime)
        driver = self.storage.location(payload["storage"])
        stored = await store(driver, filename_disk, mime, chunks, self.ctx.settings.FILES_MAX_UPLOAD_SIZE)
        try:
            async with self.ctx.transaction() as tx:
                created = await ItemsService(tx, COLLECTION).create_one(payload)
                await self._record_stored(tx, created, filename_disk, stored)
        except BaseException:
            await driver.delete(filename_disk)
            raise
        return created

    async def _replace(self, chunks: AsyncIterable[bytes], data: Mapping[str, Any], key: Key) -> Key:
        self.require(Action.UPDATE)
        existing = await self._stored_row(key)
        if existing is None:
            raise ForbiddenError()
        payload = _unnamed(data)
        mime = payload.get("type") or existing["type"] or "application/octet-stream"
        payload["type"] = mime
        name = str(payload.get("filename_download") or existing["filename_download"] or "")
        filename_disk = str(existing["id"]) + extension_of(name, mime)
        driver = self.storage.location(existing["storage"])
        temp = f"temp_{filename_disk}"
        stored = await store(driver, temp, mime, chunks, self.ctx.settings.FILES_MAX_UPLOAD_SIZE)
        try:
            async with self.ctx.transaction() as tx:
                await ItemsService(tx, COLLECTION).update_one(key, payload)
                await self._record_stored(tx, existing["id"], filename_disk, stored)
        except BaseException:
            await driver.delete(temp)
            raise
        await driver.delete_prefix(str(existing["id"]))  # the old object and its variants
        await _move(driver, temp, filename_disk, mime)
        return key

    async def _record_stored(self, tx: ServiceContext, key: Key, filename_disk: str, stored: Stored) -> None:
        """What the server measured, written as the server (no permission applies to these columns)."""
        values: dict[str, Any] = {
            "filename_disk": filename_disk,
            "filesize": stored.size,
            "width": stored.width,
            "height": stored.height,
            "metadata": {"sha256": stored.sha256},
            "uploaded_on": dt.datetime.now(dt.UTC),
        }
        async with tx.connection() as conn:
            await conn.execute(sa.update(system.files).where(system.files.c.id == str(key)).values(**values))

    async def _stored_row(self, key: Key) -> dict[str, Any] | None:
        async with self.ctx.connection() as conn:
            row = (
                await conn.execute(
                    sa.select(*(system.files.c[name] for name in STORED_FIELDS)).where(system.files.c.id == str(key))
                )
            ).first()
        return dict(row._mapping) if row is not None else None

    async def stored_row(self, key: Key) -> dict[str, Any] | None:
        """The storage columns of a file, read as the server (the caller's read access is checked apart)."""
        return await self._stored_row(key)

    # ---- metadata writes -----------------------------------------------------------------------------

    async def create_one(self, data: Any) -> Key:
        if isinstance(data, Mapping) and not data.get("type"):
            raise InvalidPayloadError('"type" is required')
        return await super().create_one(data)

    async def create_many(self, items: Any) -> list[Key]:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and not item.get("type"):
                raise InvalidPayloadError('"type" is required')
        return await super().create_many(items)

    # ---- deletes remove the stored objects -----------------------------------------------------------

    async def delete_one(self, key: Key) -> Key:
        await self.delete_many([key])
        return key

    async def delete_many(self, keys: Sequence[Key]) -> list[Key]:
        rows = [row for row in [await self._stored_row(key) for key in keys] if row is not None]
        deleted = await super().delete_many(keys)
        await self._remove_objects(rows)
        return deleted

    async def delete_by_query(self, query: Query) -> list[Key]:
        keys = [row["id"] for row in await self.read_by_query(query.replace(fields=("id",), limit=query.limit or -1))]
        return await self.delete_many(keys) if keys else []

    async def _remove_objects(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            if row.get("filename_disk"):
                await self.storage.location(row["storage"]).delete_prefix(str(row["id"]))


def _unnamed(data: Mapping[str, Any]) -> dict[str, Any]:
    """An upload's fields without ``filename_disk``: the server names the object it stores (``<id><ext>``), as
    Directus overrides the field."""
    return {name: value for name, value in data.items() if name != "filename_disk"}


async def _move(driver: Any, source: str, target: str, mime: str) -> None:
    """Copy ``source`` to ``target`` through a streamed write, then drop ``source`` (drivers have no rename in
    common; the copy is streamed, so memory stays bounded)."""
    await store(driver, target, mime, driver.read(source), None)
    await driver.delete(source)
