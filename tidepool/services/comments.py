"""``directus_comments``: comments on any item, as Directus 11 keeps them (no longer rows of the activity log).

A comment is an item of ``directus_comments`` written through ``ItemsService``, so the caller's permissions
decide every read, update and delete (Directus's app access lets a user edit and delete only the comments it
wrote, by a ``user_created = $CURRENT_USER`` rule), and every write records its event and history. What this
service adds, as Directus's ``CommentsService`` does, is on create: ``comment``, ``collection`` and ``item``
are required, and the caller must be able to read the item commented on.

Mentions (``@<user id>`` in the text) do not send notifications here: see README, "Where Tidepool deliberately
differs from Directus".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService, Key

REQUIRED = ("comment", "collection", "item")


class CommentsService(ItemsService):
    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx, "directus_comments")

    async def create_one(self, data: Any) -> Key:
        await self._check_new(data)
        return await super().create_one(data)

    async def create_many(self, items: Any) -> list[Key]:
        for item in items if isinstance(items, list) else ():
            await self._check_new(item)
        return await super().create_many(items)

    async def _check_new(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            return  # the payload checks of ItemsService answer it
        for name in REQUIRED:
            if not data.get(name):
                raise InvalidPayloadError(f'"{name}" is required')
        await require_readable(self.ctx, str(data["collection"]), data["item"])


async def require_readable(ctx: ServiceContext, collection: str, key: Any) -> None:
    """The caller may read item ``key`` of ``collection`` (Directus's ``validateAccess`` for a read): an admin
    only needs the collection to exist; anyone else needs a read permission whose rule holds the item."""
    info = ctx.schema.collection(collection)
    if ctx.access.admin:
        if info is None:
            raise ForbiddenError.collection(collection)
        return
    if info is None:
        raise ForbiddenError.action("read", collection)
    try:
        await ItemsService(ctx, collection).read_one(key, Query(fields=(info.primary_key,)))
    except ForbiddenError:
        raise ForbiddenError.action("read", collection) from None
