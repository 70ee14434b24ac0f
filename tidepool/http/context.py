"""Turn an HTTP request into a ``ServiceContext``: who is calling and what they may do.

The token comes from ``Authorization: Bearer``, ``?access_token=`` or the session cookie (in that order),
and is resolved by the auth service; the access (permissions) by the permission service.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from tidepool.context import Accountability, request_where
from tidepool.http.query import query_params
from tidepool.runtime import Runtime
from tidepool.services.authn import authenticate, unverified_claims
from tidepool.services.base import ServiceContext
from tidepool.services.permissions import known_access, remember_access, settled_access_for, snapshot


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


def token_of(conn: HTTPConnection) -> str | None:
    return _token(conn, _first_headers(conn.scope)[0])


def _token(conn: HTTPConnection, authorization: str | None) -> str | None:
    header = authorization or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query_token = query_params(conn).get("access_token")
    if query_token:
        return query_token
    return conn.cookies.get(runtime_of(conn).settings.SESSION_COOKIE_NAME) or None


def where_of(conn: HTTPConnection) -> dict[str, str | None]:
    _, user_agent, origin = _first_headers(conn.scope)
    return _where(conn, user_agent, origin)


def _where(conn: HTTPConnection, user_agent: str | None, origin: str | None) -> dict[str, str | None]:
    client = conn.scope.get("client")
    return request_where(client[0] if client else None, user_agent, origin)


_NAMES = (b"authorization", b"user-agent", b"origin")


def _first_headers(scope: Scope) -> list[str | None]:
    """The first ``Authorization``, ``User-Agent`` and ``Origin`` headers' values (Starlette's ``Headers.get``
    answers each with the first of its name), found in one pass over the raw headers instead of three."""
    found: list[str | None] = [None, None, None]
    missing = 3
    for name, value in scope["headers"]:
        if name in _NAMES:
            index = _NAMES.index(name)
            if found[index] is None:
                found[index] = value.decode("latin-1")
                missing -= 1
                if not missing:
                    break
    return found


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
    authorization, user_agent, origin = _first_headers(conn.scope)
    token, where = _token(conn, authorization), _where(conn, user_agent, origin)
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
    ctx = runtime.kept_context(access)
    conn.scope["tidepool.context"] = ctx
    return ctx
