"""``/relations``: Directus's relation endpoints (admin-only writes, permission-filtered reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.services.relations import RelationsService


async def list_all(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    return data_response(service.list_relations())


async def list_in_collection(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    return data_response(service.list_relations(request.path_params["collection"]))


async def read_relation(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    params = request.path_params
    return data_response(service.read_relation(params["collection"], params["field"]))


async def create_relation(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    collection, field = await service.create_relation(await json_body(request))
    return data_response(service.read_relation(collection, field))


async def update_relation(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    params = request.path_params
    await service.update_relation(params["collection"], params["field"], await json_body(request))
    return data_response(service.read_relation(params["collection"], params["field"]))


async def delete_relation(request: Request) -> Response:
    service = RelationsService(await request_context(request))
    params = request.path_params
    await service.delete_relation(params["collection"], params["field"])
    return no_content()
