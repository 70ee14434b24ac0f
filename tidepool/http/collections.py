"""``/collections``: Directus's collection endpoints (admin-only writes, permission-filtered reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.services.collections import CollectionsService


async def list_collections(request: Request) -> Response:
    service = CollectionsService(await request_context(request))
    return data_response(await service.list_collections())


async def read_collection(request: Request) -> Response:
    service = CollectionsService(await request_context(request))
    return data_response(await service.read_collection(request.path_params["collection"]))


async def create_collection(request: Request) -> Response:
    """One object creates one collection; an array creates each in turn (Directus's createMany)."""
    service = CollectionsService(await request_context(request))
    body = await json_body(request)
    if isinstance(body, list):
        names = [await service.create_collection(item) for item in body]
        return data_response([await service.read_collection(name) for name in names])
    name = await service.create_collection(body)
    return data_response(await service.read_collection(name))


async def update_collection(request: Request) -> Response:
    service = CollectionsService(await request_context(request))
    name = await service.update_collection(request.path_params["collection"], await json_body(request))
    return data_response(await service.read_collection(name))


async def delete_collection(request: Request) -> Response:
    service = CollectionsService(await request_context(request))
    await service.delete_collection(request.path_params["collection"])
    return no_content()
