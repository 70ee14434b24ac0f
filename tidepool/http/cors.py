"""CORS and ``OPTIONS`` as Directus 12.4.1 answers them (its ``cors`` middleware, then Express's routing).

With ``CORS_ENABLED`` and a ``CORS_ORIGIN`` that is not ``false`` (``tidepool.origins``), every ``OPTIONS``
request is a preflight answered **204** with an empty body on any path, before routing and authentication:
``Access-Control-Allow-Origin`` (per ``CORS_ORIGIN``; left out for an origin not allowed, the browser then
refuses), ``-Allow-Credentials``, ``-Allow-Methods``, ``-Allow-Headers``, ``-Max-Age``, ``-Expose-Headers``
and ``Vary: Origin``. Other requests get the origin, credentials and exposed headers added to their answer.

Without CORS an ``OPTIONS`` request gets what Express gives: 200 with ``Allow`` (and the same text as the
body) listing the methods of the routes matching the path, ``HEAD`` after ``GET``; a path no route matches
goes on to the router (``ROUTE_NOT_FOUND``). Starlette's ``CORSMiddleware`` differs in the details clients
see (400 for a preflight from an unknown origin, no fixed-origin form), hence this small one.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidepool.config import Settings
from tidepool.origins import OriginPolicy


def _csv(value: str) -> str:
    """Directus reads a comma value as a list and the ``cors`` package joins it back with commas."""
    return ",".join(part.strip() for part in value.split(",") if part.strip())


class Cors:
    """ASGI middleware; ``routes`` is the app's route table (for the ``Allow`` of a plain ``OPTIONS``)."""

    def __init__(self, app: ASGIApp, settings: Settings, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self.policy = OriginPolicy.parse(settings.CORS_ORIGIN) if settings.CORS_ENABLED else OriginPolicy("off")
        self.credentials = settings.CORS_CREDENTIALS
        self.methods = _csv(settings.CORS_METHODS)
        self.allowed_headers = _csv(settings.CORS_ALLOWED_HEADERS)
        self.exposed_headers = _csv(settings.CORS_EXPOSED_HEADERS)
        self.max_age = str(settings.CORS_MAX_AGE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS"
        if self.policy.kind == "off":
            if preflight and await self._allow(scope, send):
                return
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        if preflight:
            await self._preflight(request_headers, send)
            return
        await self.app(scope, receive, self._adding_headers(request_headers, send))

    def _origin_headers(self, request_headers: Headers) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        allowed = self.policy.header(request_headers.get("origin"))
        if allowed is not None:
            headers.append(("Access-Control-Allow-Origin", allowed))
        if self.policy.varies:
            headers.append(("Vary", "Origin"))
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    async def _preflight(self, request_headers: Headers, send: Send) -> None:
        headers = self._origin_headers(request_headers)
        headers.append(("Access-Control-Allow-Methods", self.methods))
        if self.allowed_headers:
            headers.append(("Access-Control-Allow-Headers", self.allowed_headers))
        else:  # none configured: the request's own are allowed, as the ``cors`` package does
            headers.append(("Vary", "Access-Control-Request-Headers"))
            asked = request_headers.get("access-control-request-headers")
            if asked:
                headers.append(("Access-Control-Allow-Headers", asked))
        headers.append(("Access-Control-Max-Age", self.max_age))
        if self.exposed_headers:
            headers.append(("Access-Control-Expose-Headers", self.exposed_headers))
        headers.append(("Content-Length", "0"))
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})

    def _adding_headers(self, request_headers: Headers, send: Send) -> Send:
        extra = self._origin_headers(request_headers)
        if self.exposed_headers:
            extra.append(("Access-Control-Expose-Headers", self.exposed_headers))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name == "Vary":
                        headers.add_vary_header(value)
                    else:
                        headers[name] = value
            await send(message)

        return wrapped

    async def _allow(self, scope: Scope, send: Send) -> bool:
        """Express's automatic ``OPTIONS`` answer; False when no route has this path."""
        methods: list[str] = []
        for route in self.routes:
            if not isinstance(route, Route) or route.matches({**scope, "method": "GET"})[0] == Match.NONE:
                continue
            for method in _route_methods(route):
                if method not in methods:
                    methods.append(method)
        if not methods:
            return False
        allow = ",".join(methods).encode()
        headers = [
            (b"allow", allow),
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(allow)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": allow})
        return True


def _route_methods(route: Route) -> list[str]:
    """A route's methods in a stable order, ``HEAD`` right after ``GET`` (Starlette adds it to every GET)."""
    listed = [m for m in ("GET", "POST", "SEARCH", "PATCH", "DELETE", "PUT") if m in (route.methods or ())]
    return [n for m in listed for n in ((m, "HEAD") if m == "GET" else (m,))]
