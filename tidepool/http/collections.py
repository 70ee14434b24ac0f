"""``/collections``: Directus's collection endpoints (admin-only writes, permission-filtered reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.services import collections as service


async def list_collections(request: Request) -> Response:
    ctx = await request_context(request)
    return data_response(await service.list_collections(ctx))


async def read_collection(request: Request) -> Response:
    ctx = await request_context(request)
    return data_response(await service.read_collection(ctx, request.path_params["collection"]))


async def create_collection(request: Request) -> Response:
    """One object creates one collection; an array creates each in turn (Directus's createMany)."""
    ctx = await request_context(request)
    body = await json_body(request)
    if isinstance(body, list):
        names = [await service.create_collection(ctx, item) for item in body]
        return data_response([await service.read_collection(ctx, name) for name in names])
    name = await service.create_collection(ctx, body)
    return data_response(await service.read_collection(ctx, name))


async def update_collection(request: Request) -> Response:
    ctx = await request_context(request)
    name = await service.update_collection(ctx, request.path_params["collection"], await json_body(request))
    return data_response(await service.read_collection(ctx, name))


async def delete_collection(request: Request) -> Response:
    ctx = await request_context(request)
    await service.delete_collection(ctx, request.path_params["collection"])
    return no_content()
