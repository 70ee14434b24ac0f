"""``GET /policies/me/globals``: the caller's global flags, as Directus answers them (``/policies`` itself is
``tidepool.http.crud``'s).

A session-mode sign-in keeps the JWT (which carries ``app_access``) in an httpOnly cookie, so an app cannot
read the flags from the token: it asks here, as Directus's own Data Studio does, to tell a user without app
access why there is nothing for them. A public caller gets ``{"app_access": false}`` and a bad token
``INVALID_CREDENTIALS``, as from Directus 12.4.1.
"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from tidepool.db import system
from tidepool.http.context import request_context
from tidepool.http.responses import data_response


async def my_globals(request: Request) -> Response:
    ctx = await request_context(request)
    caller = ctx.accountability
    if caller.is_public:
        return data_response({"app_access": False})  # Directus 12.4.1's answer to a caller without a token
    enforce_tfa = False
    if caller.policies:
        table = system.policies
        query = sa.select(sa.func.count()).where(table.c.id.in_(caller.policies), table.c.enforce_tfa.is_(True))
        async with ctx.engine.connect() as conn:
            enforce_tfa = bool((await conn.execute(query)).scalar_one())
    return data_response({"app_access": caller.app, "admin_access": caller.admin, "enforce_tfa": enforce_tfa})
