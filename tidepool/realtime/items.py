"""``items`` messages: CRUD over the socket with the same services, permissions and events as REST.

The branches follow Directus 12.4.1's handler (spec §4.7) including its quirks, because clients rely on the
reply shapes: ``update`` by ``id`` ignores ``query``; ``delete`` answers the ``id``/``ids`` exactly as sent;
a falsy ``id`` (``0``, ``""``) counts as absent. Replies carry no ``status`` and no ``event`` key.

One deliberate difference: Directus reads the written rows back as the caller and, when the caller may not
read them, answers ``FORBIDDEN`` although the write was committed (so a retrying client writes twice). Here
a committed write is never reported as an error: that read-back answers ``"data": null`` instead, the
socket's form of the ``204`` REST gives in the same case (``http/writes.read_back``, same rule: only
``FORBIDDEN`` becomes "no content").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tidepool.db.system import is_system_collection
from tidepool.errors import (
    InvalidCollectionError,
    InvalidPayloadError,
    InvalidQueryError,
    VerbatimPayloadError,
)
from tidepool.query.complexity import check_keys
from tidepool.query.model import Query
from tidepool.query.parse import parse_query
from tidepool.realtime.protocol import ITEMS, MISSING, validate
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService
from tidepool.services.read_back import read_after_write

Result = tuple[Any, Mapping[str, Any] | None]  # (data, meta or None)
Handler = Callable[[ItemsService, Mapping[str, Any], ServiceContext], Awaitable[Result]]

DELETE_TARGET_REQUIRED = "Either 'ids', 'id' or 'query' is required for a DELETE request."


async def run_items(ctx: ServiceContext, message: Mapping[str, Any]) -> Result:
    """Validate and run one ``items`` message as ``ctx``'s caller; errors are ``TidepoolError``s."""
    validate(ITEMS, message)
    if message["action"] != "create":
        check_keys(message.get("ids"), ctx.settings.MAX_QUERY_COMPLEXITY)
    collection: str = message["collection"]
    if is_system_collection(collection):
        raise InvalidCollectionError()
    service = ItemsService(ctx, collection)
    return await _ACTIONS[message["action"]](service, message, ctx)


def _query(ctx: ServiceContext, raw: Any) -> Query:
    """The message's query in any of its forms (objects or the SDK's URL-string values)."""
    if raw is MISSING or raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InvalidQueryError("Query must be an object")
    return parse_query(raw, max_limit=ctx.settings.QUERY_LIMIT_MAX, max_complexity=ctx.settings.MAX_QUERY_COMPLEXITY)


def _truthy(value: Any) -> bool:
    """JavaScript truthiness of an ``id``: ``0``, ``""``, ``null`` and absent are all "no id"."""
    return value is not MISSING and value is not None and value != 0 and value != ""


def _present(value: Any) -> bool:
    return value is not MISSING and value is not None


def _item(data: Any) -> dict[str, Any]:
    """One item's payload; a missing ``data`` creates an empty row, as Directus does."""
    if data is MISSING or data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidPayloadError('"data" must be an object or an array of objects')
    return data


async def _meta(service: ItemsService, query: Query) -> Mapping[str, Any] | None:
    return await service.read_meta(query) if query.meta else None


async def _read_back(read: Callable[[], Awaitable[Any]]) -> Any:
    """A read after a committed write: ``None`` (the reply's ``"data": null``) when the caller may not read
    what it wrote, or the database cannot be reached for it; never an error (``services/read_back.py``)."""
    return await read_after_write(read)


async def _create(service: ItemsService, message: Mapping[str, Any], ctx: ServiceContext) -> Result:
    query = _query(ctx, message.get("query", MISSING))
    data = message.get("data", MISSING)
    if isinstance(data, list):
        keys = await service.create_many([_item(entry) for entry in data])
        return await _read_back(lambda: service.read_many(keys, query)), None
    key, read = await service.create_and_read(_item(data), query)
    if read is not None:  # read in the write's transaction (``services/fast_create.py``)
        return (read[0] if read else None), None
    return await _read_back(lambda: service.read_one(key, query)), None


async def _read(service: ItemsService, message: Mapping[str, Any], ctx: ServiceContext) -> Result:
    query = _query(ctx, message.get("query", MISSING))
    data: Any
    if _truthy(message.get("id", MISSING)):
        data = await service.read_one(message["id"], query)
    elif _present(message.get("ids", MISSING)):
        data = await service.read_many(message["ids"], query)
    elif _is_singleton(ctx, message["collection"]):
        data = await service.read_singleton(query)
    else:
        data = await service.read_by_query(query)
    return data, await _meta(service, query)


async def _update(service: ItemsService, message: Mapping[str, Any], ctx: ServiceContext) -> Result:
    query = _query(ctx, message.get("query", MISSING))
    data = message.get("data", MISSING)
    if _truthy(message.get("id", MISSING)):
        await service.update_one(message["id"], _item(data))
        return await _read_back(lambda: service.read_one(message["id"], Query())), None
    if _present(message.get("ids", MISSING)):
        keys = await service.update_many(message["ids"], _item(data))
    elif _is_singleton(ctx, message["collection"]):
        await service.upsert_singleton(_item(data))
        return await _read_back(lambda: service.read_singleton(query)), None
    elif isinstance(data, list):
        keys = await service.update_batch([_item(entry) for entry in data])
    else:
        keys = await service.update_by_query(query, _item(data))
    return await _read_back(lambda: service.read_many(keys, query)), await _read_back(lambda: _meta(service, query))


async def _delete(service: ItemsService, message: Mapping[str, Any], ctx: ServiceContext) -> Result:
    if _truthy(message.get("id", MISSING)):
        await service.delete_one(message["id"])
        return message["id"], None
    if _present(message.get("ids", MISSING)):
        await service.delete_many(message["ids"])
        return message["ids"], None
    if _present(message.get("query", MISSING)):
        keys = await service.delete_by_query(_query(ctx, message["query"]))
        return list(keys), None
    raise VerbatimPayloadError(DELETE_TARGET_REQUIRED)


def _is_singleton(ctx: ServiceContext, collection: str) -> bool:
    info = ctx.schema.collections.get(collection)
    return bool(info is not None and info.singleton)


_ACTIONS: dict[str, Handler] = {"create": _create, "read": _read, "update": _update, "delete": _delete}
