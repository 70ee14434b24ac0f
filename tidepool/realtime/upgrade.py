"""Checks made on the HTTP upgrade, before any WebSocket exists (spec §2).

Each refusal is a real HTTP response with an empty body: connection limit → 403, foreign ``Origin`` → 403
(cross-site WebSocket hijacking guard), a bad ``?access_token=`` / session cookie → 401, and in ``strict``
mode no token at all → 401.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.websockets import WebSocket

from tidepool.config import Settings
from tidepool.errors import CredentialRejectedError
from tidepool.origins import OriginPolicy
from tidepool.realtime import auth
from tidepool.realtime.hub import WebSocketHub

log = logging.getLogger("tidepool.realtime")

Where = dict[str, str | None]


async def upgrade_auth(ws: WebSocket, hub: WebSocketHub) -> auth.AuthResult | None:
    """Token auth at the upgrade: the result, ``None`` (no token and none needed), or
    ``CredentialRejectedError`` (401)."""
    settings = hub.settings
    token = ws.query_params.get("access_token") or ws.cookies.get(settings.SESSION_COOKIE_NAME)
    if not token:
        if settings.WEBSOCKETS_REST_AUTH == "strict":
            raise CredentialRejectedError("strict mode needs a token on the upgrade")
        return None
    try:
        return await auth.from_token(hub.runtime, token, where_of(ws))
    except CredentialRejectedError:
        raise
    except Exception:
        log.exception("websocket upgrade authentication failed unexpectedly")
        raise CredentialRejectedError("unexpected error") from None


async def deny(ws: WebSocket, status: int) -> None:
    """Refuse the upgrade with a plain HTTP status and an empty body (as Directus's raw responses)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(Response(status_code=status))
    else:  # servers without the denial extension answer 403 to a close before accept
        await ws.close()


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Cross-site WebSocket hijacking guard (spec §2.4): no Origin, same host, ``PUBLIC_URL`` or CORS."""
    if not origin:
        return True
    parts = urlsplit(origin)
    if host and parts.netloc.lower() == host.lower():
        return True
    public = urlsplit(settings.PUBLIC_URL)
    if (
        public.scheme
        and public.netloc
        and (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower())
    ):
        return True
    # CORS_ORIGIN as the REST side reads it; ``*`` never admits a socket (its cookies would ride along).
    return settings.CORS_ENABLED and OriginPolicy.parse(settings.CORS_ORIGIN).allows(origin)


def where_of(ws: WebSocket) -> Where:
    return {
        "ip": ws.client.host if ws.client else None,
        "user_agent": (ws.headers.get("user-agent") or "")[:1024] or None,
        "origin": ws.headers.get("origin"),
    }
