"""Checks made on the HTTP upgrade, before any WebSocket exists (spec §2).

They read the handshake request as ``websockets`` parsed it (``tidepool.realtime.wire`` answers it). Each
refusal is a real HTTP response with an empty body: connection limit → 403, foreign ``Origin`` → 403
(cross-site WebSocket hijacking guard), a bad ``?access_token=`` / session cookie → 401, and in ``strict``
mode no token at all → 401.
"""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from starlette.requests import cookie_parser
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import _TrustedHosts
from websockets.http11 import Request

from tidepool.config import Settings
from tidepool.context import request_where
from tidepool.errors import CredentialRejectedError
from tidepool.origins import OriginPolicy
from tidepool.realtime import auth
from tidepool.realtime.hub import WebSocketHub

log = logging.getLogger("tidepool.realtime")

Where = dict[str, str | None]


def refusal(hub: WebSocketHub | None, request: Request) -> int | None:
    """The status refusing the upgrade before any credential is read, or ``None`` to go on: a stopping (or not
    yet started) server 503, no room 403, a foreign ``Origin`` 403."""
    if hub is None or hub.draining:  # the server is stopping (``tidepool/drain.py``)
        return 503
    if not hub.has_room():
        return 403
    if not origin_allowed(request.headers.get("origin"), request.headers.get("host"), hub.settings):
        return 403
    return None


def token_of(request: Request, settings: Settings) -> str | None:
    """``?access_token=`` or else the session cookie: the credential an upgrade may carry."""
    query = urlsplit(request.path).query
    token = parse_qs(query).get("access_token", [""])[0] if query else ""
    if token:
        return token
    for header in request.headers.get_all("cookie"):  # parsed as REST parses it (Starlette's parser)
        value = cookie_parser(header).get(settings.SESSION_COOKIE_NAME)
        if value:
            return value
    return None


async def upgrade_auth(token: str | None, hub: WebSocketHub, where: Where) -> auth.AuthResult | None:
    """Token auth at the upgrade: the result, ``None`` (no token and none needed), or
    ``CredentialRejectedError`` (401)."""
    if not token:
        if hub.settings.WEBSOCKETS_REST_AUTH == "strict":
            raise CredentialRejectedError("strict mode needs a token on the upgrade")
        return None
    try:
        return await auth.from_token(hub.runtime, token, where)
    except CredentialRejectedError:
        raise
    except Exception:
        log.exception("websocket upgrade authentication failed unexpectedly")
        raise CredentialRejectedError("unexpected error") from None


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


class ProxyRule(Protocol):
    """Which peers are proxies whose ``X-Forwarded-For`` is believed (uvicorn's ``--forwarded-allow-ips``)."""

    def __contains__(self, host: str | None) -> bool: ...

    def get_trusted_client_address(self, x_forwarded_for: str) -> tuple[str, int]: ...


def proxy_rule(config: Config) -> ProxyRule | None:
    """The rule uvicorn's ``ProxyHeadersMiddleware`` applies to HTTP requests, built from the same settings
    (``--proxy-headers``, ``--forwarded-allow-ips``/``FORWARDED_ALLOW_IPS``), so that a socket's client IP
    (policies' ``ip_access``, sessions, logs) is the one its REST requests get. uvicorn keeps that rule in a
    private class; the lock pins uvicorn, and ``tests/realtime/test_wire.py`` checks both paths agree."""
    if not config.proxy_headers:
        return None
    return _TrustedHosts(config.forwarded_allow_ips or [])


def client_ip(request: Request, peer: tuple[str, int] | None, proxies: ProxyRule | None) -> str | None:
    """The peer's address, or, when the peer is a trusted proxy, the first untrusted ``X-Forwarded-For`` hop."""
    ip = peer[0] if peer else None
    forwarded = request.headers.get("x-forwarded-for")
    if proxies is not None and forwarded and ip in proxies:
        return proxies.get_trusted_client_address(forwarded)[0] or ip
    return ip


def where_of(request: Request, peer: tuple[str, int] | None, proxies: ProxyRule | None = None) -> Where:
    return request_where(
        client_ip(request, peer, proxies), request.headers.get("user-agent"), request.headers.get("origin")
    )
