"""The eight CRUD handlers of Directus's item endpoints, written once for ``/items/{collection}`` and the
account collections (``/users``, ``/roles``, ``/policies``, ``/permissions``, ``/access``).

The handlers only translate HTTP to service calls and back, mirroring Directus's controllers: list (with the
full query language and ``meta``; ``SEARCH`` reads the same with the query in the body), read one, create one
or many, update one, many (``{"keys","data"}`` / ``{"query","data"}``) or a batch of rows carrying their key,
delete one or many. A create or update is read back with the request's own query string, and when the
caller may not read the result the answer is 204 instead of an error (the write did happen).

What differs between the endpoints is two hooks of ``Crud``: how a request finds its service, and whether
the collection is a singleton (an object, not a list; only ``/items`` has those). ``ITEMS`` forbids the
system collections (they are served by their own endpoints); ``account(factory)`` builds an account
collection's service, whose own class holds what is special to it (admin-only writes, password hashing,
inline o2m). ``tidepool.http.routes`` mounts each at its prefix with ``crud_routes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from tidepool.db.system import is_system_collection
from tidepool.errors import ForbiddenError, InvalidPayloadError, RouteNotFoundError
from tidepool.http.context import request_context
from tidepool.http.export import export_requested, export_response
from tidepool.http.query import query_from_body, query_from_request, query_params
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.http.writes import BatchWriter, delete_from_body, read_back, update_from_body
from tidepool.query.complexity import check_keys
from tidepool.query.model import Query
from tidepool.services.accounts import AccountItems
from tidepool.services.base import ServiceContext
from tidepool.services.content_versions import versioned
from tidepool.services.items import ItemsService


class CrudService(BatchWriter, Protocol):
    """What the handlers call: ``ItemsService`` and every ``AccountItems`` have it."""

    @property
    def collection(self) -> str: ...

    async def read_by_query(self, query: Query, /) -> list[dict[str, Any]]: ...
    async def read_meta(self, query: Query, /) -> dict[str, Any]: ...
    async def read_one(self, key: Any, query: Query | None = None, /) -> dict[str, Any]: ...
    async def read_many(self, keys: Sequence[Any], query: Query | None = None, /) -> list[dict[str, Any]]: ...
    async def create_one(self, data: Any, /) -> Any: ...
    async def create_many(self, items: Any, /) -> list[Any]: ...
    async def update_one(self, key: Any, data: Any, /) -> Any: ...
    async def delete_one(self, key: Any, /) -> Any: ...


class Singleton(Protocol):
    """A singleton collection's item: read as an object, written by ``PATCH`` on the collection."""

    async def read_singleton(self, query: Query | None = None, /) -> dict[str, Any]: ...
    async def upsert_singleton(self, data: Any, /) -> Any: ...


S = TypeVar("S", bound=CrudService)


def _no_singleton(service: object) -> None:
    return None


@dataclass(frozen=True)
class Crud(Generic[S]):
    """The seven handlers, with the hooks where collections differ.

    ``service`` builds the request's service (and may refuse the request first); ``singleton`` answers the
    service's singleton item when the collection is one: then ``GET`` and ``PATCH`` on the collection read and
    upsert that item, and ``POST`` on it or ``PATCH`` of one key is ``ROUTE_NOT_FOUND``, as in Directus (reads
    and deletes by key, and ``DELETE`` on the collection, stay as for any collection).
    """

    service: Callable[[Request], Awaitable[S]]
    singleton: Callable[[S], Singleton | None] = _no_singleton

    async def read_list(self, request: Request) -> Response:
        return await self._read(await self.service(request), query_from_request(request))

    async def search(self, request: Request) -> Response:
        """``SEARCH`` on the collection: ``GET``'s read, with the query (and ``keys``) in the JSON body,
        which replaces the URL's query, as Directus reads ``{"query": …, "keys": […]}``."""
        service = await self.service(request)
        body = await json_body(request, allow_empty=True)
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise InvalidPayloadError('"value" must be of type object')
        query = _body_query(request, body.get("query"))
        keys = body.get("keys")
        if keys is None:
            return await self._read(service, query)
        if not isinstance(keys, list):
            raise InvalidPayloadError('"keys" must be an array')
        check_keys(keys, _max_keys(request))
        return _answer(service, query, await service.read_many(keys, query))

    async def _read(self, service: S, query: Query) -> Response:
        if (single := self.singleton(service)) is not None:
            return _answer(service, query, await single.read_singleton(query))
        data = await service.read_by_query(query)
        if (export := export_requested(query)) is not None:
            return export_response(export, data, service.collection)
        meta = await service.read_meta(query) if query.meta else None
        return data_response(data, meta)

    async def read_item(self, request: Request) -> Response:
        service = await self.service(request)
        query = query_from_request(request)
        return _answer(service, query, await service.read_one(request.path_params["id"], query))

    async def create(self, request: Request) -> Response:
        service = await self.service(request)
        if self.singleton(service) is not None:
            raise RouteNotFoundError(request.url.path)
        query = query_from_request(request)
        body = await json_body(request)
        if isinstance(body, list):
            keys = await service.create_many(body)
            return await read_back(lambda: service.read_many(keys, query))
        if isinstance(service, ItemsService):
            key, read = await service.create_and_read(body, query)
            if read is not None:  # read in the write's transaction (``services/fast_create.py``)
                return data_response(read[0]) if read else no_content()
        else:
            key = await service.create_one(body)
        return await read_back(lambda: service.read_one(key, query))

    async def update_list(self, request: Request) -> Response:
        service = await self.service(request)
        query = query_from_request(request)
        body = await json_body(request)
        if (single := self.singleton(service)) is not None:
            await single.upsert_singleton(body)
            return await read_back(lambda: single.read_singleton(query))
        keys = await update_from_body(service, body, lambda raw: _body_query(request, raw), _max_keys(request))
        return await read_back(lambda: service.read_many(keys, query))

    async def update_item(self, request: Request) -> Response:
        service = await self.service(request)
        if self.singleton(service) is not None:
            raise RouteNotFoundError(request.url.path)
        query = query_from_request(request)
        key = await service.update_one(request.path_params["id"], await json_body(request))
        return await read_back(lambda: service.read_one(key, query))

    async def delete_list(self, request: Request) -> Response:
        service = await self.service(request)
        body = await json_body(request)
        await delete_from_body(service, body, lambda raw: _body_query(request, raw), _max_keys(request))
        return no_content()

    async def delete_item(self, request: Request) -> Response:
        service = await self.service(request)
        await service.delete_one(request.path_params["id"])
        return no_content()


def _answer(service: CrudService, query: Query, data: Any) -> Response:
    """One item's answer: ``{"data": …}``, or the item as an ``?export=`` file."""
    if (export := export_requested(query)) is not None:
        return export_response(export, data, service.collection)
    return data_response(data)


def _body_query(request: Request, raw: Any) -> Query:
    return query_from_body(raw, request.app.state.runtime.settings)


def _max_keys(request: Request) -> int | None:
    """How many keys one body may list (``query.complexity.check_keys``)."""
    limit: int | None = request.app.state.runtime.settings.MAX_QUERY_COMPLEXITY
    return limit


# -- /items/{collection} ---------------------------------------------------------------------------------


async def _items_service(request: Request) -> ItemsService:
    """The path's collection; a system collection is FORBIDDEN here, before the caller is even identified."""
    collection = request.path_params["collection"]
    if is_system_collection(collection):
        raise ForbiddenError()
    return versioned(await request_context(request), collection, query_params(request).get("version"))


def _items_singleton(service: ItemsService) -> Singleton | None:
    info = service.ctx.schema.collection(service.collection)
    return service if info and info.singleton else None


ITEMS: Crud[ItemsService] = Crud(_items_service, _items_singleton)


# -- system collections: each one's service class holds what is special to it (never a singleton) ---------------


def of_service(factory: Callable[[ServiceContext], S]) -> Crud[S]:
    """The handlers of a collection served by ``factory``'s service, built over the request's context."""

    async def service(request: Request) -> S:
        return factory(await request_context(request))

    return Crud(service)


def account(factory: Callable[[ServiceContext], AccountItems]) -> Crud[AccountItems]:
    """One account collection's handlers: its service class is all that differs."""
    return of_service(factory)
