"""Turn an HTTP request into a ``ServiceContext``: who is calling and what they may do.

The token comes from ``Authorization: Bearer``, ``?access_token=`` or the session cookie (in that order),
and is resolved by the auth service; the access (permissions) by the permission service.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tidepool.context import Accountability
from tidepool.runtime import Runtime
from tidepool.services.authn import authenticate
from tidepool.services.base import ServiceContext
from tidepool.services.permissions import access_for


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


def token_of(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query_token = conn.query_params.get("access_token")
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
    """The context of this request, computed once and cached on the request."""
    cached = conn.scope.get("tidepool.context")
    if isinstance(cached, ServiceContext):
        return cached
    runtime = runtime_of(conn)
    base = runtime.context()
    accountability: Accountability = await authenticate(base, token_of(conn), **where_of(conn))
    ctx = runtime.context(await access_for(base, accountability))
    conn.scope["tidepool.context"] = ctx
    return ctx
