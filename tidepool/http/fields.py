"""``/fields``: Directus's field endpoints (admin-only writes, permission-filtered reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import InvalidPayloadError
from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.services.fields import FieldsService


async def list_all(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    return data_response(service.list_fields())


async def list_in_collection(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    return data_response(service.list_fields(request.path_params["collection"]))


async def read_field(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    params = request.path_params
    return data_response(service.read_field(params["collection"], params["field"]))


async def create_field(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    collection = request.path_params["collection"]
    name = await service.create_field(collection, await json_body(request))
    return data_response(service.read_field(collection, name))


async def update_field(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    params = request.path_params
    await service.update_field(params["collection"], params["field"], await json_body(request))
    return data_response(service.read_field(params["collection"], params["field"]))


async def update_fields(request: Request) -> Response:
    """``PATCH /fields/{collection}`` with an array of ``{field, type?, meta?, schema?}``."""
    service = FieldsService(await request_context(request))
    collection = request.path_params["collection"]
    body = await json_body(request)
    if not isinstance(body, list):
        raise InvalidPayloadError("Submitted body has to be an array")
    names = []
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise InvalidPayloadError('Every field needs a "field" key')
        names.append(await service.update_field(collection, item["field"], item))
    return data_response([service.read_field(collection, name) for name in names])


async def delete_field(request: Request) -> Response:
    service = FieldsService(await request_context(request))
    params = request.path_params
    await service.delete_field(params["collection"], params["field"])
    return no_content()
