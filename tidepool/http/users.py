"""``/users/me``: the caller's own user (``/users`` itself is ``tidepool.http.crud``'s).

``tidepool.http.routes`` lists ``/users/me`` before ``/users/{id}`` so that ``me`` is never taken for an id.
A public caller asking for ``/users/me`` gets ``INVALID_CREDENTIALS``, as in Directus.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.query import query_from_request
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.http.writes import read_back
from tidepool.services.users import UsersService


async def read_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    return data_response(await service.read_me(query_from_request(request)))


async def update_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    query = query_from_request(request)
    await service.update_me(await json_body(request))
    return await read_back(lambda: service.read_me(query))


async def track_page(request: Request) -> Response:
    service = UsersService(await request_context(request))
    await service.track_page(await json_body(request, allow_empty=True))
    return no_content()
