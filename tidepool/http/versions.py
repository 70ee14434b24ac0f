"""``/versions/{id}/save``, ``/compare`` and ``/promote``: the content version actions beside its CRUD routes
(``tidepool.http.crud``); the rules are ``tidepool.services.content_versions``'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response
from tidepool.services.content_versions import VersionsService


async def save(request: Request) -> Response:
    service = VersionsService(await request_context(request))
    return data_response(await service.save(request.path_params["id"], await json_body(request)))


async def compare(request: Request) -> Response:
    service = VersionsService(await request_context(request))
    return data_response(await service.compare(request.path_params["id"]))


async def promote(request: Request) -> Response:
    service = VersionsService(await request_context(request))
    return data_response(await service.promote(request.path_params["id"], await json_body(request)))
