"""``/items/{collection}`` and ``/items/{collection}/{id}``: Directus's items REST API.

The handlers only translate HTTP to ``ItemsService`` calls and back, mirroring Directus's controller:
a create or update is read back with the request's own query string, and when the caller may not read
the result the answer is 204 instead of an error (the write did happen). System collections are served by
their own endpoints (``/users``, ``/roles`` ...) and are FORBIDDEN here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidepool.db.system import is_system_collection
from tidepool.errors import ForbiddenError, InvalidPayloadError, RouteNotFoundError
from tidepool.http.context import request_context
from tidepool.http.query import query_from_body, query_from_request
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.query.model import Query
from tidepool.services.items import ItemsService


async def _service(request: Request) -> ItemsService:
    collection = request.path_params["collection"]
    if is_system_collection(collection):
        raise ForbiddenError()
    return ItemsService(await request_context(request), collection)


def _body_query(request: Request, raw: Any) -> Query:
    return query_from_body(raw, request.app.state.runtime.settings)


def _singleton(service: ItemsService) -> bool:
    info = service.ctx.schema.collection(service.collection)
    return bool(info and info.singleton)


async def _read_back(read: Callable[[], Awaitable[Any]]) -> Response:
    """Directus's read-after-write: the caller may have written what it cannot read, then 204."""
    try:
        return data_response(await read())
    except ForbiddenError:
        return no_content()


async def read_items(request: Request) -> Response:
    service = await _service(request)
    query = query_from_request(request)
    if _singleton(service):
        return data_response(await service.read_singleton(query))
    data = await service.read_by_query(query)
    meta = await service.read_meta(query) if query.meta else None
    return data_response(data, meta)


async def read_item(request: Request) -> Response:
    service = await _service(request)
    return data_response(await service.read_one(request.path_params["id"], query_from_request(request)))


async def create_items(request: Request) -> Response:
    service = await _service(request)
    if _singleton(service):
        raise RouteNotFoundError(request.url.path)
    query = query_from_request(request)
    body = await json_body(request)
    if isinstance(body, list):
        keys = await service.create_many(body)
        return await _read_back(lambda: service.read_many(keys, query))
    key = await service.create_one(body)
    return await _read_back(lambda: service.read_one(key, query))


async def update_items(request: Request) -> Response:
    service = await _service(request)
    query = query_from_request(request)
    body = await json_body(request)
    if _singleton(service):
        await service.upsert_singleton(body)
        return await _read_back(lambda: service.read_singleton(query))
    if isinstance(body, list):
        keys = await service.update_batch(body)
    else:
        batch = _batch_body(body, needs_data=True)
        if "keys" in batch:
            keys = await service.update_many(batch["keys"], batch["data"])
        else:
            keys = await service.update_by_query(_body_query(request, batch["query"]), batch["data"])
    return await _read_back(lambda: service.read_many(keys, query))


async def update_item(request: Request) -> Response:
    service = await _service(request)
    if _singleton(service):
        raise RouteNotFoundError(request.url.path)
    query = query_from_request(request)
    key = await service.update_one(request.path_params["id"], await json_body(request))
    return await _read_back(lambda: service.read_one(key, query))


async def delete_items(request: Request) -> Response:
    service = await _service(request)
    body = await json_body(request)
    if isinstance(body, list):
        await service.delete_many(body)
        return no_content()
    batch = _batch_body(body, needs_data=False)
    if "keys" in batch:
        await service.delete_many(batch["keys"])
    else:
        await service.delete_by_query(_body_query(request, batch["query"]))
    return no_content()


async def delete_item(request: Request) -> Response:
    service = await _service(request)
    await service.delete_one(request.path_params["id"])
    return no_content()


def _batch_body(body: Any, *, needs_data: bool) -> Mapping[str, Any]:
    """Directus's batch body: exactly one of ``keys`` / ``query`` (and ``data`` for updates), Joi's words."""
    if not isinstance(body, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    has_keys, has_query = "keys" in body, "query" in body
    if has_keys and has_query:
        raise InvalidPayloadError('"value" contains a conflict between exclusive peers [query, keys]')
    if not has_keys and not has_query:
        raise InvalidPayloadError('"value" must contain at least one of [query, keys]')
    if has_keys and not isinstance(body["keys"], list):
        raise InvalidPayloadError('"keys" must be an array')
    if needs_data and not isinstance(body.get("data"), Mapping):
        raise InvalidPayloadError('"data" is required' if "data" not in body else '"data" must be of type object')
    return body


routes = [
    Route("/items/{collection}", read_items, methods=["GET"]),
    Route("/items/{collection}", create_items, methods=["POST"]),
    Route("/items/{collection}", update_items, methods=["PATCH"]),
    Route("/items/{collection}", delete_items, methods=["DELETE"]),
    Route("/items/{collection}/{id}", read_item, methods=["GET"]),
    Route("/items/{collection}/{id}", update_item, methods=["PATCH"]),
    Route("/items/{collection}/{id}", delete_item, methods=["DELETE"]),
]
