"""The REST handlers shared by ``/users``, ``/roles``, ``/policies``, ``/permissions`` and ``/access``.

Directus shapes, as for ``/items``: list (with the full query language and ``meta``), read one, create one
or many, update one, many (``{"keys","data"}`` / ``{"query","data"}``) or a batch of rows carrying their
key, delete one or many. Writes are read back with the request's query; a result the caller may not read
answers 204.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.query.model import Query
from tidepool.services.accounts import AccountItems
from tidepool.services.base import ServiceContext

ServiceFactory = Callable[[ServiceContext], AccountItems]
Handler = Callable[[Request], Awaitable[Response]]


def request_query(request: Request) -> Query:
    from tidepool.http.query import query_from_request

    return query_from_request(request)


def body_query(raw: Any) -> Query:
    from tidepool.query.parse import parse_query

    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidPayloadError('"query" must be of type object')
    return parse_query(raw)


async def read_back(read: Callable[[], Awaitable[Any]]) -> Response:
    """Directus's read-after-write: the caller may have written what it cannot read, then 204."""
    try:
        return data_response(await read())
    except ForbiddenError:
        return no_content()


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
        body = await json_body(request)
        if isinstance(body, list):
            keys = await svc.update_batch(body)
        else:
            batch = batch_body(body, needs_data=True)
            if "keys" in batch:
                keys = await svc.update_many(batch["keys"], batch["data"])
            else:
                keys = await svc.update_by_query(body_query(batch["query"]), batch["data"])
        return await read_back(lambda: svc.read_many(keys, query))

    async def update_item(request: Request) -> Response:
        svc, query = await service(request), request_query(request)
        key = await svc.update_one(request.path_params["id"], await json_body(request))
        return await read_back(lambda: svc.read_one(key, query))

    async def delete_list(request: Request) -> Response:
        svc = await service(request)
        body = await json_body(request)
        if isinstance(body, list):
            await svc.delete_many(body)
            return no_content()
        batch = batch_body(body, needs_data=False)
        if "keys" in batch:
            await svc.delete_many(batch["keys"])
        else:
            await svc.delete_by_query(body_query(batch["query"]))
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


def batch_body(body: Any, *, needs_data: bool) -> Mapping[str, Any]:
    """Directus's batch body: exactly one of ``keys`` / ``query`` (and ``data`` for updates)."""
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
