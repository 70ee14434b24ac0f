"""Starlette's static files with the directory redirect made relative, for the pages Tidepool serves
(``/examples/``, the Studio at ``/admin/``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class RelativeStaticFiles(StaticFiles):
    """Starlette's static files, with the directory redirect (``/examples/chat`` → ``/examples/chat/``) made
    relative: Starlette builds it from the ``Host`` header, so a forged host would be echoed into ``Location``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if isinstance(response, RedirectResponse):
            target = urlsplit(response.headers["location"])
            relative = "/" + target.path.lstrip("/") + (f"?{target.query}" if target.query else "")
            response.headers["location"] = relative  # one leading slash: never a protocol-relative URL
        return response
