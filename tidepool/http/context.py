"""Turn an HTTP request into a ``ServiceContext``: who is calling and what they may do.

The token comes from ``Authorization: Bearer``, ``?access_token=`` or the session cookie (in that order),
and is resolved by the auth service; the access (permissions) by the permission service.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tidepool.context import Accountability
from tidepool.http.query import query_params
from tidepool.runtime import Runtime
from tidepool.services.authn import authenticate, unverified_claims
from tidepool.services.base import ServiceContext
from tidepool.services.permissions import known_access, remember_access, settled_access_for, snapshot


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


def token_of(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query_token = query_params(conn).get("access_token")
    if query_token:
        return query_token
    return conn.cookies.get(runtime_of(conn).settings.SESSION_COOKIE_NAME) or None


def where_of(conn: HTTPConnection) -> dict[str, str | None]:
    return {
        "ip": conn.client.host if conn.client else None,
        "user_agent": (conn.headers.get("user-agent") or "")[:1024] or None,
        "origin": conn.headers.get("origin"),
    }


async def request_context(conn: HTTPConnection) -> ServiceContext:
    """The context of this request, computed once and cached on the request.

    A static token's (or the public's) access is also kept with the access snapshot, under the token and the
    request's address, user agent and origin (all an accountability holds), and reused while the snapshot and
    the schema are current and it has no ``$NOW`` rule: authenticating and resolving the access again was a
    fifth of a small read's CPU. A JWT is verified on every request (it expires; a session-mode one needs its
    session alive), so its access is not kept."""
    cached = conn.scope.get("tidepool.context")
    if isinstance(cached, ServiceContext):
        return cached
    runtime = runtime_of(conn)
    token, where = token_of(conn), where_of(conn)
    key = (token, where["ip"], where["user_agent"], where["origin"])
    schema = runtime.schemas.current
    access = known_access(runtime.access_cache, schema, key)
    if access is None:
        made_from = snapshot(runtime.access_cache)
        base = runtime.context()
        accountability: Accountability = await authenticate(base, token, **where)
        access, settled = await settled_access_for(base, accountability)
        if made_from is not None and settled and (token is None or unverified_claims(token) is None):
            remember_access(runtime.access_cache, made_from, schema, key, access)
    ctx = runtime.context(access)
    conn.scope["tidepool.context"] = ctx
    return ctx
