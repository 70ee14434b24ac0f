"""``/relations``: Directus's relation endpoints (admin-only writes, permission-filtered reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.services import relations as service


async def list_all(request: Request) -> Response:
    ctx = await request_context(request)
    return data_response(service.list_relations(ctx))


async def list_in_collection(request: Request) -> Response:
    ctx = await request_context(request)
    return data_response(service.list_relations(ctx, request.path_params["collection"]))


async def read_relation(request: Request) -> Response:
    ctx = await request_context(request)
    params = request.path_params
    return data_response(service.read_relation(ctx, params["collection"], params["field"]))


async def create_relation(request: Request) -> Response:
    ctx = await request_context(request)
    collection, field = await service.create_relation(ctx, await json_body(request))
    return data_response(service.read_relation(ctx, collection, field))


async def update_relation(request: Request) -> Response:
    ctx = await request_context(request)
    params = request.path_params
    await service.update_relation(ctx, params["collection"], params["field"], await json_body(request))
    return data_response(service.read_relation(ctx, params["collection"], params["field"]))


async def delete_relation(request: Request) -> Response:
    ctx = await request_context(request)
    params = request.path_params
    await service.delete_relation(ctx, params["collection"], params["field"])
    return no_content()
