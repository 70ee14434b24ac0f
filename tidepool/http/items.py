"""``/items/{collection}`` and ``/items/{collection}/{id}``: Directus's items REST API.

The handlers only translate HTTP to ``ItemsService`` calls and back, mirroring Directus's controller:
a create or update is read back with the request's own query string, and when the caller may not read
the result the answer is 204 instead of an error (the write did happen). System collections are served by
their own endpoints (``/users``, ``/roles`` ...) and are FORBIDDEN here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidepool.db.system import is_system_collection
from tidepool.errors import ForbiddenError, RouteNotFoundError
from tidepool.http.context import request_context
from tidepool.http.query import query_from_body, query_from_request
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.http.writes import delete_from_body, read_back, update_from_body
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
        return await read_back(lambda: service.read_many(keys, query))
    key = await service.create_one(body)
    return await read_back(lambda: service.read_one(key, query))


async def update_items(request: Request) -> Response:
    service = await _service(request)
    query = query_from_request(request)
    body = await json_body(request)
    if _singleton(service):
        await service.upsert_singleton(body)
        return await read_back(lambda: service.read_singleton(query))
    keys = await update_from_body(service, body, lambda raw: _body_query(request, raw))
    return await read_back(lambda: service.read_many(keys, query))


async def update_item(request: Request) -> Response:
    service = await _service(request)
    if _singleton(service):
        raise RouteNotFoundError(request.url.path)
    query = query_from_request(request)
    key = await service.update_one(request.path_params["id"], await json_body(request))
    return await read_back(lambda: service.read_one(key, query))


async def delete_items(request: Request) -> Response:
    service = await _service(request)
    await delete_from_body(service, await json_body(request), lambda raw: _body_query(request, raw))
    return no_content()


async def delete_item(request: Request) -> Response:
    service = await _service(request)
    await service.delete_one(request.path_params["id"])
    return no_content()


routes = [
    Route("/items/{collection}", read_items, methods=["GET"]),
    Route("/items/{collection}", create_items, methods=["POST"]),
    Route("/items/{collection}", update_items, methods=["PATCH"]),
    Route("/items/{collection}", delete_items, methods=["DELETE"]),
    Route("/items/{collection}/{id}", read_item, methods=["GET"]),
    Route("/items/{collection}/{id}", update_item, methods=["PATCH"]),
    Route("/items/{collection}/{id}", delete_item, methods=["DELETE"]),
]
