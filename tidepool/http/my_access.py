"""The caller's own access: ``/permissions/me``, ``/permissions/me/{collection}[/{id}]``, ``/roles/me``,
``/policies/me/globals`` (``tidepool.services.my_access`` computes them).

``tidepool.http.routes`` lists these before ``/permissions/{id}``, ``/roles/{id}`` and ``/policies/{id}``, so
``me`` is never taken for a key (that was the admin's 403 on ``readRolesMe`` and ``readUserPermissions``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.query import query_from_request
from tidepool.http.responses import data_response
from tidepool.services import my_access


async def permissions_me(request: Request) -> Response:
    return data_response(my_access.collection_access(await request_context(request)))


async def item_permissions(request: Request) -> Response:
    ctx = await request_context(request)
    collection, key = request.path_params["collection"], request.path_params.get("id")
    return data_response(await my_access.item_permissions(ctx, collection, key))


async def roles_me(request: Request) -> Response:
    ctx = await request_context(request)
    return data_response(await my_access.my_roles(ctx, query_from_request(request)))


async def policy_globals(request: Request) -> Response:
    return data_response(await my_access.policy_globals(await request_context(request)))
