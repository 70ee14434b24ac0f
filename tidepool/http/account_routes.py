"""The REST handlers shared by ``/users``, ``/roles``, ``/policies``, ``/permissions`` and ``/access``.

Directus shapes, as for ``/items``: list (with the full query language and ``meta``), read one, create one
or many, update one, many (``{"keys","data"}`` / ``{"query","data"}``) or a batch of rows carrying their
key, delete one or many. Writes are read back with the request's query; a result the caller may not read
answers 204.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidepool.http.context import request_context
from tidepool.http.query import query_from_body, query_from_request
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.http.writes import delete_from_body, read_back, update_from_body
from tidepool.query.model import Query
from tidepool.services.accounts import AccountItems
from tidepool.services.base import ServiceContext

ServiceFactory = Callable[[ServiceContext], AccountItems]
Handler = Callable[[Request], Awaitable[Response]]


def request_query(request: Request) -> Query:
    return query_from_request(request)


def body_query(request: Request, raw: Any) -> Query:
    return query_from_body(raw, request.app.state.runtime.settings)


def crud_routes(prefix: str, factory: ServiceFactory) -> list[Route]:
    """The seven routes of one account collection."""

    async def service(request: Request) -> AccountItems:
        return factory(await request_context(request))

    async def read_list(request: Request) -> Response:
        svc, query = await service(request), request_query(request)
        data = await svc.read_by_query(query)
        return data_response(data, await svc.read_meta(query) if query.meta else None)

    async def read_item(request: Request) -> Response:
        svc = await service(request)
        return data_response(await svc.read_one(request.path_params["id"], request_query(request)))

    async def create(request: Request) -> Response:
        svc, query = await service(request), request_query(request)
        body = await json_body(request)
        if isinstance(body, list):
            keys = await svc.create_many(body)
            return await read_back(lambda: svc.read_many(keys, query))
        key = await svc.create_one(body)
        return await read_back(lambda: svc.read_one(key, query))

    async def update_list(request: Request) -> Response:
        svc, query = await service(request), request_query(request)
        keys = await update_from_body(svc, await json_body(request), lambda raw: body_query(request, raw))
        return await read_back(lambda: svc.read_many(keys, query))

    async def update_item(request: Request) -> Response:
        svc, query = await service(request), request_query(request)
        key = await svc.update_one(request.path_params["id"], await json_body(request))
        return await read_back(lambda: svc.read_one(key, query))

    async def delete_list(request: Request) -> Response:
        svc = await service(request)
        await delete_from_body(svc, await json_body(request), lambda raw: body_query(request, raw))
        return no_content()

    async def delete_item(request: Request) -> Response:
        svc = await service(request)
        await svc.delete_one(request.path_params["id"])
        return no_content()

    return [
        Route(prefix, read_list, methods=["GET"]),
        Route(prefix, create, methods=["POST"]),
        Route(prefix, update_list, methods=["PATCH"]),
        Route(prefix, delete_list, methods=["DELETE"]),
        Route(prefix + "/{id}", read_item, methods=["GET"]),
        Route(prefix + "/{id}", update_item, methods=["PATCH"]),
        Route(prefix + "/{id}", delete_item, methods=["DELETE"]),
    ]
