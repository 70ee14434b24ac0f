"""``/users`` and ``/users/me``.

``/users/me`` comes first so that ``me`` is never taken for an id. A public caller asking for ``/users/me``
gets ``INVALID_CREDENTIALS``, as in Directus.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidepool.http.account_routes import crud_routes, request_query
from tidepool.http.context import request_context
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response
from tidepool.http.writes import read_back
from tidepool.services.users import UsersService


async def read_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    return data_response(await service.read_me(request_query(request)))


async def update_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    query = request_query(request)
    await service.update_me(await json_body(request))
    return await read_back(lambda: service.read_me(query))


routes = [
    Route("/users/me", read_me, methods=["GET"]),
    Route("/users/me", update_me, methods=["PATCH"]),
    *crud_routes("/users", UsersService),
]
