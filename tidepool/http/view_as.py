"""``GET /tidepool/view-as/{collection}?as_user=<id>`` (or ``as_role=<id>``): an admin reads a collection
exactly as that user (or any user of that role) would with ``GET /items/{collection}`` — the same query
parameters, the same permissions, fields and rows, the same errors.

Tidepool's own endpoint, for the Studio's *View as*. It only reads: there is no write counterpart, so it can
never be a way to act as the user. The caller must be an admin (else ``FORBIDDEN``), and every preview is
written to the ``tidepool.audit`` log (who looked, as whom, at what). The user is previewed as their
account stands (role and direct policies; IP-restricted policies are judged by the admin's address); a user
who is not active gets ``INVALID_CREDENTIALS``, as their own request would.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from tidepool.context import Accountability
from tidepool.db.system import is_system_collection
from tidepool.errors import ForbiddenError, InvalidCredentialsError, InvalidQueryError
from tidepool.http.context import request_context, where_of
from tidepool.http.query import query_from_request
from tidepool.http.responses import data_response
from tidepool.logs import redact
from tidepool.query.model import Query
from tidepool.services.authn import accountability_for_user
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService
from tidepool.services.permissions import access_for, policies_for
from tidepool.services.roles import RolesService
from tidepool.services.users import UsersService

audit = logging.getLogger("tidepool.audit")


async def view_as(request: Request) -> Response:
    ctx = await request_context(request)
    if not ctx.access.admin:
        raise ForbiddenError()
    collection = request.path_params["collection"]
    if is_system_collection(collection):
        raise ForbiddenError()
    user, role = request.query_params.get("as_user"), request.query_params.get("as_role")
    if bool(user) == bool(role):
        raise InvalidQueryError('Give exactly one of "as_user" and "as_role"')
    ip = where_of(request)["ip"]
    viewer = await _user(ctx, user, ip) if user else await _role(ctx, str(role), ip)
    service = ItemsService(ctx.with_access(await access_for(ctx, viewer)), collection)
    query = query_from_request(request)
    audit.info(
        "view-as: admin %s read %s as %s %s (%s)",
        ctx.accountability.user,
        collection,
        "user" if user else "role",
        user or role,
        redact(request.url.query),
    )
    data = await service.read_by_query(query)
    meta = await service.read_meta(query) if query.meta else None
    return data_response(data, meta)


async def _user(ctx: ServiceContext, user: str, ip: str | None) -> Accountability:
    """The user's accountability as their own request would get it (a user who may not sign in gets none)."""
    row = await UsersService(ctx).read_one(user, Query(fields=("id", "role", "status")))
    if row.get("status") != "active":
        raise InvalidCredentialsError()
    return await accountability_for_user(ctx, user, row.get("role"), ip=ip)


async def _role(ctx: ServiceContext, role: str, ip: str | None) -> Accountability:
    """Any user of ``role`` with no policies of their own: the role chain's policies and the public's."""
    await RolesService(ctx).read_one(role, Query(fields=("id",)))  # an unknown role is FORBIDDEN, as over REST
    grant = await policies_for(ctx, None, role, ip)
    return Accountability(
        role=role, roles=grant.roles, policies=grant.policies, admin=grant.admin, app=grant.app, ip=ip
    )
